// Fault suite: the real agent daemon (client namespace) and a real collector process (server
// namespace) across a shaped link (40/10 Mbit/s) that drops while the agent keeps measuring
// (latency and UDP loss every few seconds). When the link returns, every result the agent
// measured — including the failed ones recorded during the outage — reaches the collector exactly
// once, with a trusted time close to when it was measured.
// Short form in CI (one ~15 s drop); `pnpm test:faults` runs the full form (HATANG_FAULTS_FULL=1:
// three drops of two minutes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Outbox } from '@hatang/agent';
import { createRepo, openDb } from '@hatang/collector';
import { UPLINK_MAX_BACKOFF_MS } from '@hatang/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_BIN, onlyTests, waitFor, writeConfig } from '../helpers/agent.js';
// @ts-expect-error plain ESM helper
import { freePort, startCollectorProcess } from '../helpers/collector-process.mjs';
// @ts-expect-error plain ESM helper
import { createLink, requireNetns } from '../helpers/netns.mjs';

const FULL = process.env.HATANG_FAULTS_FULL === '1';
const DROPS = FULL ? 3 : 1;
const DROP_MS = FULL ? 120_000 : 15_000;
const UP_MS = FULL ? 20_000 : 8_000;

const ns = requireNetns('faults-link (agent and collector across a dropping link)');
const cleanup: Array<() => unknown> = [];
afterAll(async () => {
  for (const f of cleanup.splice(0).reverse()) {
    try {
      await f();
    } catch {}
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function agentRuns(stateDir: string) {
  const o = Outbox.inDir(stateDir);
  try {
    const runs = o.db
      .prepare('SELECT kind, started_at, ended_at, result_id, status, outcome FROM runs WHERE result_id IS NOT NULL')
      .all() as Array<{
      kind: string;
      started_at: number;
      ended_at: number;
      result_id: string;
      status: string;
      outcome: string;
    }>;
    return { runs, pending: o.depth().count, dropped: o.stats().dropped, dead: o.deadLetterCount() };
  } finally {
    o.close();
  }
}

describe.skipIf(!!ns.skip)(`agent and collector across a dropping link (${FULL ? 'full' : 'short'} form)`, () => {
  it('delivers every result measured during the outages exactly once, with the time it was measured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hatang-fault-link-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const link = createLink({ downMbps: 40, upMbps: 10 });
    cleanup.push(() => link.close());

    // The agent's token, straight from the collector's database (as `hatang-collector agent add`).
    const db = openDb({ path: join(dir, 'hatang.db') });
    const added = createRepo(db).addAgent({ name: 'xa-link', access: 'fixed' }, Date.now());
    const agentId = added.agent.id;
    const token = added.token;
    db.close();

    // A port free here is free in the new namespace too (no fixed ports in tests).
    const port = (await freePort()) as number;
    const collector = await startCollectorProcess({ dir, host: link.addr.server4, port, netns: link.server });
    cleanup.push(() => collector.kill('SIGTERM'));
    const url = `http://${link.addr.server4}:${port}`;
    // Wait until the collector answers across the link.
    await waitFor(() => {
      try {
        link.exec(link.client, ['curl', '-sf', '-m', '1', `${url}/healthz`]);
        return true;
      } catch {
        return false;
      }
    }, 'the collector to answer across the link');

    const stateDir = join(dir, 'agent-state');
    const cfg = writeConfig(join(dir, 'agent.yaml'), {
      collector: { url, token },
      stateDir,
      schedule: {
        tests: onlyTests({ latency: '*/3 * * * * *', udp: '1-59/4 * * * * *' }),
        splayMinutes: 0,
        startupDelaySeconds: 0,
        catchUp: false,
      },
      udp: { packets: 50, durationMs: 500, waitMs: 300 },
      central: { enabled: false },
      uplink: { batchSize: 100, intervalMs: 1000, timeoutMs: 3000 },
      log: { level: 'warn' },
    });
    const agent = link.spawn(link.client, [process.execPath, AGENT_BIN, 'run', '-c', cfg], {
      env: { PATH: process.env.PATH },
    });
    let agentErr = '';
    agent.stderr.on('data', (c: Buffer) => {
      agentErr += c.toString();
    });
    agent.stdout.resume();
    const exited = new Promise<number | null>((r) => agent.once('exit', (code: number | null) => r(code)));
    cleanup.push(() => agent.exitCode === null && agent.kill('SIGKILL'));

    const collectorIds = () => {
      const c = openDb({ path: join(dir, 'hatang.db') });
      try {
        return c.prepare('SELECT id FROM results WHERE agent_id = ?').all(agentId) as Array<{ id: string }>;
      } finally {
        c.close();
      }
    };

    // Link up: results flow.
    await waitFor(() => collectorIds().length >= 2, 'the first results to arrive', 30_000).catch((e) => {
      throw new Error(`${e.message}; agent runs ${JSON.stringify(agentRuns(stateDir))}; agent stderr: ${agentErr}`);
    });
    const outageIds = new Set<string>();
    for (let d = 0; d < DROPS; d++) {
      const before = new Set(agentRuns(stateDir).runs.map((r) => r.result_id));
      link.setLink(false);
      await sleep(DROP_MS);
      const during = agentRuns(stateDir);
      link.setLink(true);
      const measured = during.runs.filter((r) => !before.has(r.result_id));
      console.log(
        `faults-link: drop ${d + 1}: ${measured.length} results measured in ${DROP_MS / 1000} s offline, ${during.pending} queued`,
      );
      // The agent kept measuring while the link was down, and kept what it measured (with what
      // is still queued from an earlier drop: the uplink may still be backing off).
      expect(measured.length).toBeGreaterThanOrEqual(Math.floor(DROP_MS / 5000));
      expect(during.pending).toBeGreaterThanOrEqual(measured.length - 1);
      for (const r of measured) outageIds.add(r.result_id);
      await sleep(UP_MS);
    }
    // Back up: the backlog drains.
    await waitFor(
      () => {
        const have = new Set(collectorIds().map((r) => r.id));
        return [...outageIds].every((id) => have.has(id));
      },
      'the outage backlog to reach the collector',
      // The uplink backs off exponentially up to UPLINK_MAX_BACKOFF_MS (15 min) while the link is
      // down; after drops of minutes the first push after recovery may be that far away.
      FULL ? UPLINK_MAX_BACKOFF_MS + 60_000 : 60_000,
    );
    agent.kill('SIGTERM');
    expect(await exited).toBe(0);
    // What was measured after the last push: push it now (the `push` command), so every result is
    // either at the collector or nowhere.
    link.exec(link.client, [process.execPath, AGENT_BIN, 'push', '-c', cfg], { env: { PATH: process.env.PATH } });
    await collector.kill('SIGTERM');

    const a = agentRuns(stateDir);
    expect(a.pending).toBe(0);
    expect(a.dropped).toBe(0);
    expect(a.dead).toBe(0);
    const c = openDb({ path: join(dir, 'hatang.db') });
    const rows = c
      .prepare('SELECT id, started_at, wall_at, time_trusted, status FROM results WHERE agent_id = ?')
      .all(agentId) as Array<{ id: string; started_at: number; wall_at: number; time_trusted: number; status: string }>;
    c.close();
    // Exactly once: the collector's ids are the agent's run records' result ids, no more, no fewer.
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(rows.map((r) => r.id).sort()).toEqual(a.runs.map((r) => r.result_id).sort());
    // The outage is visible in the data: failed measurements were recorded and delivered too.
    const byId = new Map(a.runs.map((r) => [r.result_id, r]));
    const outageStatuses = rows.filter((r) => outageIds.has(r.id)).map((r) => r.status);
    expect(outageStatuses.length).toBe(outageIds.size);
    expect(outageStatuses.some((s) => s !== 'ok')).toBe(true);
    // Correct time: re-based from boot id + uptime (trusted), within the run the agent recorded
    // and close to the agent's own (correct) wall clock at the start of the measurement.
    let worst = 0;
    for (const r of rows) {
      const run = byId.get(r.id)!;
      expect(r.time_trusted, `time of ${r.id}`).toBe(1);
      expect(r.started_at).toBeGreaterThanOrEqual(run.started_at - 1000);
      expect(r.started_at).toBeLessThanOrEqual(run.ended_at + 1000);
      worst = Math.max(worst, Math.abs(r.started_at - r.wall_at));
    }
    console.log(
      `faults-link: ${rows.length} results (${outageIds.size} measured offline) delivered once each, worst re-based vs agent wall clock ${worst} ms${agentErr ? `\nagent stderr: ${agentErr.slice(0, 2000)}` : ''}`,
    );
    expect(worst).toBeLessThan(2_000);
  }, 900_000);
});
