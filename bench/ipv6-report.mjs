// Benchmark: the weekly IPv6 report read from the observation tables (migration 50) against the
// naive way, parsing every stored ipv6 result body of the week again. Same database, same run.
// Usage: pnpm bench:ipv6 [agents=200] [targets=3]   (needs `pnpm build`)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRepo, ipv6Observations, ipv6WeekReport, openDb, syncIpv6 } from '@hatang/collector';
import { ipv6Report, ipv6TargetFacts, isoWeekRange, median } from '@hatang/shared';

const AGENTS = Number(process.argv[2] ?? 200);
const TARGETS = Number(process.argv[3] ?? 3);
const WEEK = '2025-W07';
const RUNS = 5;

const dir = mkdtempSync(join(tmpdir(), 'hatang-bench-ipv6-'));
const db = openDb({ path: join(dir, 'bench.db') });
const repo = createRepo(db);
const { startMs } = isoWeekRange(WEEK);

function body(i) {
  const v6 = i % 3 !== 0;
  return {
    host: { globalAddress: v6, defaultRoute: v6 },
    targets: Array.from({ length: TARGETS }, (_, t) => ({
      name: `target-${t}`,
      url: `https://target-${t}.hatang.test/`,
      checks: [
        { check: 'dns-a', status: 'pass', ms: 3.1, family: 4, detail: '198.18.0.1' },
        { check: 'dns-aaaa', status: 'pass', ms: 3.4, family: 6, detail: '2001:db8::1' },
        { check: 'tcp-v4', status: 'pass', ms: 10 + (i % 7), family: 4, detail: '[198.18.0.1]:443' },
        v6
          ? { check: 'tcp-v6', status: 'pass', ms: 11 + (i % 5), family: 6, detail: '[2001:db8::1]:443' }
          : { check: 'tcp-v6', status: 'fail', code: 'ENETUNREACH', ms: 0.2, family: 6 },
        v6
          ? { check: 'http-v6', status: 'pass', ms: 40, family: 6, httpStatus: 200, detail: 'HTTP 200 · TLS ok' }
          : { check: 'http-v6', status: 'skip', code: 'ENETUNREACH' },
        { check: 'happy-eyeballs', status: 'pass', ms: 12, family: v6 ? 6 : 4, detail: v6 ? 'IPv6' : 'IPv4' },
        v6
          ? { check: 'pmtu-v6', status: 'pass', ms: 41, family: 6, httpStatus: 200, detail: 'request 1600 bytes' }
          : { check: 'pmtu-v6', status: 'skip', code: 'ENETUNREACH' },
      ],
    })),
  };
}

const t0 = performance.now();
db.transaction(() => {
  for (let a = 0; a < AGENTS; a++) {
    const { agent } = repo.addAgent({ name: `agent-${a}`, access: 'fixed', communeCode: `C${a % 150}` }, a);
    for (let h = 0; h < 168; h++) {
      const at = startMs + h * 3_600_000 + a;
      const b = body(a + h);
      const id = `${a}-${h}`;
      repo.insertResult({
        id,
        agentId: agent.id,
        kind: 'ipv6',
        status: 'ok',
        startedAt: at,
        wallAt: at,
        receivedAt: at,
        timeTrusted: true,
        access: 'fixed',
        family: 6,
        isp: null,
        serverId: null,
        downloadBps: null,
        uploadBps: null,
        latencyMs: null,
        jitterMs: null,
        lossPct: null,
        bytesUsed: 4000,
        agentLimited: false,
        body: JSON.stringify({ id, kind: 'ipv6', ipv6: b }),
      });
    }
  }
})();
const results = AGENTS * 168;
console.log(
  `setup: ${AGENTS} agents × 168 hourly results = ${results} ipv6 results, ${TARGETS} targets each (${Math.round(performance.now() - t0)} ms)`,
);

const range = isoWeekRange(WEEK);
function naive() {
  const rows = db
    .prepare(
      `SELECT r.agent_id, a.commune_code, r.started_at, r.body FROM results r JOIN agents a ON a.id = r.agent_id
        WHERE r.kind = 'ipv6' AND r.started_at >= ? AND r.started_at < ?`,
    )
    .all(range.startMs, range.endMs);
  const hosts = [];
  const targets = [];
  for (const r of rows) {
    const b = JSON.parse(r.body).ipv6;
    const who = { agentId: r.agent_id, communeCode: r.commune_code, at: r.started_at };
    hosts.push({ ...who, ...b.host });
    for (const f of ipv6TargetFacts(b)) targets.push({ ...who, target: f.name, ...f });
  }
  return ipv6Report(hosts, targets);
}
function fromObs() {
  const o = ipv6Observations(db, range);
  return ipv6Report(o.hosts, o.targets);
}

const time = (fn) => {
  const ms = [];
  let out;
  for (let i = 0; i < RUNS; i++) {
    const s = performance.now();
    out = fn();
    ms.push(performance.now() - s);
  }
  return { ms: median(ms), out };
};

const s0 = performance.now();
const synced = syncIpv6(db);
const syncMs = performance.now() - s0;
const a = time(naive);
const b = time(fromObs);
const c = time(() => ipv6WeekReport(db, WEEK));
if (JSON.stringify(a.out) !== JSON.stringify(b.out)) throw new Error('the two ways disagree');

console.log(`one-off catch-up (syncIpv6 of ${synced} results): ${syncMs.toFixed(0)} ms`);
console.log(`naive: parse every body of the week   median of ${RUNS}: ${a.ms.toFixed(1)} ms`);
console.log(`observation tables (migration 50)     median of ${RUNS}: ${b.ms.toFixed(1)} ms`);
console.log(`ratio naive / observation tables: ${(a.ms / b.ms).toFixed(2)}×  (same report, checked equal)`);
console.log(`full GET /stats/ipv6 answer (this week + last week + speed + names): ${c.ms.toFixed(1)} ms`);
console.log('Figures taken on whatever machine runs this; on a shared, loaded machine compare the ratio, not the ms.');
db.close();
if (process.env.KEEP_DB) console.log(join(dir, 'bench.db'));
else rmSync(dir, { recursive: true, force: true });
