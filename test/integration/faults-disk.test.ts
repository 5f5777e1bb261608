// Fault suite: the agent's state directory on a tiny tmpfs that fills up. The real agent daemon
// keeps measuring with no collector reachable; the disk is filled to the last byte. The agent must
// not crash, and every result it measured must reach the collector exactly once when space (and
// the collector) come back — or, past the bounds, be dropped visibly and counted.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '@hatang/agent';
import { createRepo, openDb } from '@hatang/collector';
import { afterAll, describe, expect, it } from 'vitest';
import { onlyTests, runAgent, spawnAgent, waitFor, writeConfig } from '../helpers/agent.js';
// @ts-expect-error plain ESM helper
import { freePort, startCollectorProcess } from '../helpers/collector-process.mjs';
// @ts-expect-error plain ESM helper
import { requireNetns } from '../helpers/netns.mjs';

// Mounting a tmpfs needs root, as the namespace tests do.
const ns = requireNetns('faults-disk (agent state on a full tmpfs)');
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) {
    try {
      await f();
    } catch {}
  }
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fill the file system under `dir` to the last byte; returns the filler's path. */
function fill(dir: string): string {
  const f = join(dir, 'filler');
  const fd = openSync(f, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  }
  try {
    for (;;) writeSync(fd, chunk, 0, 512);
  } catch {}
  closeSync(fd);
  return f;
}

/** Ids of the results the agent measured, from its log ("result queued"). */
function measuredIds(log: string): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    if (!line.includes('"result queued"')) continue;
    try {
      const j = JSON.parse(line) as { id?: string };
      if (j.id) out.push(j.id);
    } catch {}
  }
  return out;
}

describe.skipIf(!!ns.skip)('agent state on a full disk', () => {
  it('keeps running, holds what it measured, and delivers it exactly once when space returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatang-fault-disk-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const mnt = join(dir, 'mnt');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'hatang-fault-disk', mnt]);
    cleanup.push(() => execFileSync('umount', ['-l', mnt]));
    const stateDir = join(mnt, 'state');

    const db = openDb({ path: join(dir, 'hatang.db') });
    const added = createRepo(db).addAgent({ name: 'xa-disk', access: 'fixed' }, Date.now());
    db.close();
    // The collector is not there yet: results pile up in the outbox.
    const port = (await freePort()) as number;
    const cfg = writeConfig(join(dir, 'agent.yaml'), {
      collector: { url: `http://127.0.0.1:${port}`, token: added.token },
      stateDir,
      schedule: { tests: onlyTests({ latency: '* * * * * *' }), splayMinutes: 0, startupDelaySeconds: 0 },
      central: { enabled: false },
      uplink: { batchSize: 100, intervalMs: 1000, timeoutMs: 2000 },
      log: { level: 'info' },
    });
    const agent = spawnAgent(['run', '-c', cfg]);
    cleanup.push(() => agent.child.exitCode === null && agent.child.kill('SIGKILL'));
    await waitFor(() => measuredIds(agent.stderr()).length >= 2, 'the first results', 20_000);

    // The disk fills to the last byte; the agent goes on measuring and holds results in memory.
    const filler = fill(mnt);
    const atFull = measuredIds(agent.stderr()).length;
    await waitFor(() => /disk full: result held in memory/.test(agent.stderr()), 'a result held in memory', 20_000);
    await sleep(3000);
    expect(agent.child.exitCode).toBe(null);
    const whileFull = measuredIds(agent.stderr()).length - atFull;
    expect(whileFull).toBeGreaterThanOrEqual(3);

    // The collector comes back while the disk is still full: held results are pushed from memory.
    const collector = await startCollectorProcess({ dir, port });
    cleanup.push(() => collector.kill('SIGTERM'));
    const collectorIds = () => {
      const c = openDb({ path: join(dir, 'hatang.db') });
      try {
        return (c.prepare('SELECT id FROM results').all() as Array<{ id: string }>).map((r) => r.id);
      } finally {
        c.close();
      }
    };
    await waitFor(
      () => {
        const have = new Set(collectorIds());
        return measuredIds(agent.stderr())
          .slice(atFull, atFull + whileFull)
          .every((id) => have.has(id));
      },
      'results measured on the full disk to reach the collector',
      30_000,
    );
    expect(agent.child.exitCode).toBe(null);

    // Space returns: everything is written and delivered; nothing dropped.
    rmSync(filler);
    await sleep(3000);
    agent.child.kill('SIGTERM');
    expect((await agent.exited).code).toBe(0);
    const push = await runAgent(['push', '-c', cfg]);
    expect(push.code, push.stderr).toBe(0);
    await collector.kill('SIGTERM');

    const o = Outbox.inDir(stateDir);
    const stats = o.stats();
    o.close();
    expect(stats.count).toBe(0);
    expect(stats.dropped).toBe(0);
    const measured = measuredIds(agent.stderr());
    const rows = collectorIds();
    expect(new Set(rows).size).toBe(rows.length);
    expect([...rows].sort()).toEqual([...measured].sort());
    console.log(
      `faults-disk: ${measured.length} results measured (${whileFull} on a full 2 MB tmpfs), ${rows.length} at the collector, none dropped`,
    );
  }, 120_000);
});
