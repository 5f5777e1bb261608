// The real agent process (node agent/dist/cli.js) against a real collector on loopback: SIGKILL
// in the middle of a push, SIGTERM in the middle of a test, dead letters in `status`.
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { Outbox } from '@hatang/agent';
import { createEnrollCodes, startCollector, type TestCollector } from '@hatang/collector';
import type { Result } from '@hatang/shared';
import { readYamlFile } from '@hatang/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { onlyTests, runAgent, spawnAgent, syntheticResult, waitFor, writeConfig } from '../helpers/agent.js';

const readYaml = (f: string) => readYamlFile(f, '');

let dir: string;
const cleanup: Array<() => Promise<void> | void> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-agentproc-'));
});
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
  rmSync(dir, { recursive: true, force: true });
});

interface Hold {
  reached: Promise<void>;
  release: () => void;
}

function hold(): Hold & { arrive: () => void; released: Promise<void> } {
  let arrive!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((r) => (arrive = r));
  const released = new Promise<void>((r) => (release = r));
  return { reached, arrive, release, released };
}

function config(c: TestCollector, token: string, extra: Record<string, unknown> = {}) {
  return writeConfig(join(dir, 'agent.yaml'), {
    collector: { url: c.url, token },
    stateDir: join(dir, 'state'),
    schedule: { tests: onlyTests(), splayMinutes: 0 },
    central: { enabled: false },
    uplink: { batchSize: 500, intervalMs: 1000 },
    log: { level: 'warn' },
    ...extra,
  });
}

function outboxCount(): number {
  const o = Outbox.inDir(join(dir, 'state'));
  try {
    return o.depth().count;
  } finally {
    o.close();
  }
}

describe('the agent process', () => {
  it('killed with SIGKILL in the middle of a push: after restart nothing is lost and nothing stored twice', async () => {
    let pushes = 0;
    const holds = new Map<string, ReturnType<typeof hold>>();
    const acks: Array<{ accepted: string[]; duplicate: string[]; rejected: unknown[] }> = [];
    const c = await startCollector({
      beforeListen: (app) => {
        app.addHook('onRequest', async (req) => {
          if (req.url !== '/api/v1/results') return;
          const n = ++pushes;
          (req as unknown as { pushNo: number }).pushNo = n;
          const h = holds.get(`request:${n}`);
          if (h) {
            h.arrive();
            await h.released;
          }
        });
        app.addHook('onSend', async (req, reply, payload) => {
          const n = (req as unknown as { pushNo?: number }).pushNo;
          if (!n) return payload;
          if (reply.statusCode === 200) acks.push(JSON.parse(String(payload)));
          const h = holds.get(`send:${n}`);
          if (h) {
            h.arrive();
            await h.released;
          }
          return payload;
        });
      },
    });
    cleanup.push(() => c.close());
    const { id: agentId, token } = c.addAgent();
    const cfg = config(c, token);

    // 1 200 results measured while offline: three batches of 500, 500, 200.
    const queued: Result[] = [];
    const ob = Outbox.inDir(join(dir, 'state'));
    ob.db.transaction(() => {
      for (let i = 0; i < 1200; i++) {
        const r = syntheticResult();
        queued.push(r);
        ob.enqueue(r, Date.now());
      }
    })();
    ob.close();

    // Run 1: push 2 is stored by the collector, then the agent dies before reading the answer.
    const afterCommit = hold();
    holds.set('send:2', afterCommit);
    const a = spawnAgent(['run', '-c', cfg]);
    cleanup.push(() => void a.child.kill('SIGKILL'));
    await afterCommit.reached;
    a.child.kill('SIGKILL');
    expect((await a.exited).signal).toBe('SIGKILL');
    afterCommit.release();
    expect(c.app.repo.countResults(agentId)).toBe(1000);
    expect(outboxCount()).toBe(700);

    // Run 2: batch 2 again (the collector answers duplicate); push 4 dies while its body is in flight.
    const beforeBody = hold();
    holds.set('request:4', beforeBody);
    const b = spawnAgent(['run', '-c', cfg]);
    cleanup.push(() => void b.child.kill('SIGKILL'));
    await beforeBody.reached;
    b.child.kill('SIGKILL');
    await b.exited;
    beforeBody.release();

    // Run 3: the rest goes through; then SIGTERM stops it cleanly.
    const d = spawnAgent(['run', '-c', cfg]);
    cleanup.push(() => void d.child.kill('SIGKILL'));
    await waitFor(() => outboxCount() === 0, 'the outbox to drain');
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);

    const ids = (
      c.app.db.prepare('SELECT id FROM results WHERE agent_id = ?').all(agentId) as Array<{ id: string }>
    ).map((r) => r.id);
    expect(ids).toHaveLength(1200);
    expect(new Set(ids).size).toBe(1200);
    expect(ids.sort()).toEqual(queued.map((r) => r.id).sort());
    // What the collector answered, push by push: the killed push 2 was resent and acknowledged as
    // duplicates. Push 4 was held before its body was read and its agent killed: if the body had
    // not all reached the collector's socket, nothing was stored and push 5 is new; if it had, the
    // collector still stored it (for nobody) and push 5 is acknowledged as duplicates. Either way
    // each result is stored once.
    const answers = acks.map((x) => [x.accepted.length, x.duplicate.length, x.rejected.length]);
    expect(answers.slice(0, 3)).toEqual([
      [500, 0, 0],
      [500, 0, 0],
      [0, 500, 0],
    ]);
    expect([
      JSON.stringify([[200, 0, 0]]),
      JSON.stringify([
        [200, 0, 0],
        [0, 200, 0],
      ]),
    ]).toContain(JSON.stringify(answers.slice(3)));
    expect(answers.reduce((n, x) => n + x[0]!, 0)).toBe(1200);
    expect(a.stderr() + b.stderr() + d.stderr()).not.toMatch(/"level":50/);
  });

  it('SIGTERM in the middle of a speed test: the test is aborted and recorded, the database closed cleanly', async () => {
    const started = hold();
    const c = await startCollector({
      beforeListen: (app) => {
        app.addHook('onRequest', async (req) => {
          if (req.url.startsWith('/speed/down')) started.arrive();
        });
      },
    });
    cleanup.push(() => c.close());
    const { token } = c.addAgent();
    const cfg = config(c, token, {
      schedule: {
        tests: onlyTests({ speed: '0 0 1 1 *' }),
        splayMinutes: 0,
        startupDelaySeconds: 0,
        catchUp: true,
        stopGraceSeconds: 10,
      },
      // No byte cap within reach: on a fast loopback the 250 MB default could end the download before SIGTERM.
      speed: { windowMs: 10_000, capBytes: 100_000_000_000 },
      uplink: { intervalMs: 60_000 },
      // The collector refuses pushes here, so the result must be found in the outbox.
      collector: { url: c.url, token: 'hat1_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    const p = spawnAgent(['run', '-c', cfg]);
    cleanup.push(() => void p.child.kill('SIGKILL'));
    await started.reached;
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    p.child.kill('SIGTERM');
    const exit = await p.exited;
    const tookMs = Date.now() - t0;
    expect(exit.code, p.stderr()).toBe(0);
    expect(tookMs).toBeLessThan(8_000);
    // Closed cleanly: the WAL was checkpointed and removed with the last connection.
    expect(existsSync(join(dir, 'state', 'outbox.db-wal'))).toBe(false);
    const ob = Outbox.inDir(join(dir, 'state'));
    try {
      const [r] = ob.peek(10) as Result[];
      expect(ob.depth().count).toBe(1);
      expect(r).toMatchObject({ kind: 'speed', status: 'partial' });
      expect((r as { speed?: { download?: { stopReason: string } } }).speed?.download?.stopReason).toBe('aborted');
      expect(ob.latestRuns()).toMatchObject([
        { kind: 'speed', outcome: 'done', status: 'partial', reason: 'catch-up' },
      ]);
      expect(ob.get('daemon.pid')).toBeUndefined();
      expect(Number(ob.get('daemon.stoppedAt'))).toBeGreaterThan(0);
    } finally {
      ob.close();
    }
  });

  it('a result the collector rejects ends in the dead-letter table and shows in `status`', async () => {
    const c = await startCollector();
    cleanup.push(() => c.close());
    const { id, token } = c.addAgent();
    const cfg = config(c, token);
    const good = syntheticResult();
    const bad = syntheticResult({ network: { access: 'satellite', family: 4 } });
    const ob = Outbox.inDir(join(dir, 'state'));
    ob.enqueue(good, Date.now());
    ob.enqueue(bad, Date.now());
    ob.close();

    const push = await runAgent(['push', '-c', cfg, '--json']);
    expect(push.code, push.stderr).toBe(0);
    expect(JSON.parse(push.stdout)).toMatchObject({ accepted: 1, rejected: 1, left: 0 });

    const status = await runAgent(['status', '-c', cfg, '--json']);
    expect(status.code).toBe(7);
    const s = JSON.parse(status.stdout);
    expect(s.outbox).toMatchObject({ count: 0, deadLetters: 1 });
    expect(s.deadLetters).toEqual([
      expect.objectContaining({
        id: bad.id,
        kind: 'latency',
        code: 'HATANG_ERR_VALIDATION',
        message: '/network/access must be one of "fixed", "mobile"',
      }),
    ]);
    expect(s.attention).toContain(
      '1 results rejected by the collector (dead letters): send the lines below to the province',
    );
    expect(s.collector).toMatchObject({ reachable: true, tokenAccepted: true });

    const text = await runAgent(['status', '-c', cfg]);
    expect(text.code).toBe(7);
    expect(text.stdout).toMatch(/^dead letters 1$/m);
    expect(text.stdout).toContain(`latency ${bad.id}`);
    expect(text.stdout).toContain('HATANG_ERR_VALIDATION /network/access must be one of "fixed", "mobile"');

    // Every push carries the outbox status: the first was sent before the collector refused
    // anything, the next one reports the dead letter it left behind.
    expect(c.app.repo.agentStatus(id)).toMatchObject({ queued: 0, oldestQueuedAt: null, deadLetters: 0, dropped: 0 });
    const again = Outbox.inDir(join(dir, 'state'));
    again.enqueue(syntheticResult(), Date.now());
    again.close();
    const next = await runAgent(['push', '-c', cfg, '--json']);
    expect(next.code, next.stderr).toBe(0);
    expect(c.app.repo.agentStatus(id)).toMatchObject({ queued: 0, oldestQueuedAt: null, deadLetters: 1, dropped: 0 });
  });

  const root = process.getuid?.() === 0;
  if (!root) {
    const why = 'needs root (a state directory owned by another user)';
    if (process.env.CI) throw new Error(`CI must run as root: ${why}`);
    console.log(`skipping the ownership test: ${why}`);
  }
  it.skipIf(!root)(
    'as root, enrolment gives its files to the state directory owner, other commands act as that owner; one daemon per state directory',
    async () => {
      const c = await startCollector();
      cleanup.push(() => c.close());
      chmodSync(dir, 0o755);
      // The commands act as the state directory's owner (uid 65534), who must be able to reach the
      // agent's own code: a checkout inside a private folder (mktemp -d is 0700) would stop it
      // at the first import. Grant traversal (o+x) on the ancestors for the test, then restore.
      for (let d = resolvePath(import.meta.dirname, '../..'); d !== dirname(d); d = dirname(d)) {
        const mode = statSync(d).mode & 0o7777;
        if ((mode & 0o001) === 0) {
          chmodSync(d, mode | 0o001);
          cleanup.push(() => chmodSync(d, mode));
        }
      }
      const state = join(dir, 'state');
      mkdirSync(state, { mode: 0o750 });
      chownSync(state, 65534, 65534);
      const cfg = join(dir, 'agent.yaml');
      const code = createEnrollCodes(c.app.db).create(
        { name: 'x', communeCode: '1', access: 'fixed' },
        Date.now(),
      ).code;
      const en = await runAgent([
        'enroll',
        '--collector',
        c.url,
        '--code',
        code,
        '--config',
        cfg,
        '--state-dir',
        state,
      ]);
      expect(en.code, en.stderr).toBe(0);
      for (const f of ['token', 'identity.json', 'central-config.json']) {
        expect(statSync(join(state, f)).uid, f).toBe(65534);
      }
      expect(statSync(join(state, 'token')).mode & 0o777).toBe(0o600);
      writeConfig(cfg, {
        ...JSON.parse(JSON.stringify(readYaml(cfg))),
        schedule: { tests: onlyTests(), splayMinutes: 0 },
        log: { level: 'warn' },
      });
      const push = await runAgent(['push', '-c', cfg, '--json']);
      expect(push.code, push.stderr).toBe(0);
      expect(statSync(join(state, 'outbox.db')).uid).toBe(65534);
      const st = await runAgent(['status', '-c', cfg, '--offline', '--json']);
      expect(JSON.parse(st.stdout).identity).toMatchObject({ name: 'x' });

      const first = spawnAgent(['run', '-c', cfg]);
      cleanup.push(() => void first.child.kill('SIGKILL'));
      await waitFor(async () => {
        const s = await runAgent(['status', '-c', cfg, '--offline', '--json']);
        return JSON.parse(s.stdout).daemon.running === true;
      }, 'the daemon to start');
      const second = await runAgent(['run', '-c', cfg]);
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/another hatang-agent run \(pid \d+\) uses/);
      first.child.kill('SIGTERM');
      expect((await first.exited).code).toBe(0);
      expect(existsSync(join(state, 'outbox.db-wal'))).toBe(false);
    },
  );
});
