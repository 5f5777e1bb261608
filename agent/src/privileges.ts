import { chownSync, statSync } from 'node:fs';

/**
 * The state directory belongs to the agent's user (the systemd unit runs the daemon as that
 * user). A command run as root (`sudo hatang-agent status`) must not leave root-owned files there
 * — an SQLite WAL file owned by root would stop the daemon — so commands that touch the state
 * directory first become its owner.
 */

/** When running as root and `stateDir` belongs to another user, become that user. */
export function becomeStateOwner(stateDir: string): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  let st: { uid: number; gid: number };
  try {
    st = statSync(stateDir);
  } catch {
    return; // not made yet: whoever makes it owns it
  }
  if (st.uid === 0) return;
  process.setgid?.(st.gid);
  process.setuid?.(st.uid);
}

/** Running as root: give `files` to the owner of `stateDir` (enrolment writes the token as root). */
export function giveToStateOwner(stateDir: string, files: readonly string[]): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const st = statSync(stateDir);
  if (st.uid === 0) return;
  for (const f of files) chownSync(f, st.uid, st.gid);
}
