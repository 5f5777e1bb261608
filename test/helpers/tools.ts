// Debian tools the tests drive (prometheus, promtool). Outside CI a missing tool prints why the
// test skips; under CI=true it throws, so nothing silently skips in CI (like requireNetns).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of `bin` on PATH (or the given absolute path), or undefined. */
export function which(bin: string): string | undefined {
  const candidates = bin.includes('/') ? [bin] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, bin));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {}
  }
  return undefined;
}

export function requireTool(
  bin: string,
  what: string,
  pkg = 'prometheus',
): { path: string; skip?: undefined } | { path?: undefined; skip: string } {
  const path = which(bin);
  if (path) return { path };
  const reason = `${bin} not found (Debian package ${pkg}; .ci/run installs it)`;
  if (process.env.CI) throw new Error(`${what} cannot run in CI: ${reason}`);
  console.warn(`SKIP ${what}: ${reason}`);
  return { skip: reason };
}
