#!/usr/bin/env node
// `pnpm bench:collector`: one year of results for 1 000 agents (a speed test every 2 h ≈ 4.4 M)
// in a fresh database, then:
//   1. ingest rate through the HTTP API: the last --http-days days of every agent sent by a real
//      collector process (batches of up to --batch results, --concurrency requests in flight);
//   2. the province's weekly report (all communes, and all districts) and one commune's 52-week
//      trend, over HTTP and in process, cold (first call) and warm;
//   3. the same weekly report and trend computed from the raw results table, as the baseline the
//      rollups are compared against.
// Targets (issue 7): ingest ≥ 5 000 results/s; weekly report and 52-week trend < 200 ms each.
//
// Options: --agents N (1000) --days N (365) --http-days N (14) --batch N (500) --concurrency N (8)
//          --keep DIR (keep the database there) --seed N
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createStatsService, openDb } from '@hatang/collector';
import {
  aggregateSpeed,
  COLLECTOR_CONFIG_DEFAULTS,
  periodOf,
  periodsEndingAt,
  sampleFloorFor,
  shiftPeriod,
  targetFor,
} from '@hatang/shared';
import { buildYearDb, testsOfDay, yearResult } from './collector-year-db.mjs';

const { values: o } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    days: { type: 'string', default: '365' },
    'http-days': { type: 'string', default: '14' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '8' },
    keep: { type: 'string' },
    seed: { type: 'string', default: '7' },
  },
});
const AGENTS = Number(o.agents);
const DAYS = Number(o.days);
const HTTP_DAYS = Number(o['http-days']);
const BATCH = Number(o.batch);
const CONCURRENCY = Number(o.concurrency);

const TARGET_INGEST = 5000; // results/s
const TARGET_QUERY_MS = 200;

const root = resolve(import.meta.dirname, '..');
const dir = o.keep ? resolve(o.keep) : mkdtempSync(join(tmpdir(), 'hatang-bench-year-'));
mkdirSync(dir, { recursive: true });
const dbPath = join(dir, 'hatang.db');
rmSync(dbPath, { force: true });
rmSync(`${dbPath}-wal`, { force: true });
rmSync(`${dbPath}-shm`, { force: true });

const log = (m) => console.log(m);
const t0 = performance.now();
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))];
const ms = (v) => `${v.toFixed(1)} ms`;
const end = Date.now();

log(`hatang collector year benchmark — ${new Date().toISOString()}`);
log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
log(`database: ${dbPath}`);
log(
  `plan: ${AGENTS} agents × ${DAYS} days × 12 tests/day = ${(AGENTS * DAYS * 12).toLocaleString('en')} results; ` +
    `the last ${HTTP_DAYS} days through the HTTP API, the rest by direct prepared inserts (same columns and rollups as ingest)`,
);

// 1. Bulk seed.
let lastPrint = 0;
const seedStart = performance.now();
const year = await buildYearDb({
  path: dbPath,
  agents: AGENTS,
  days: DAYS,
  httpDays: HTTP_DAYS,
  end,
  seed: Number(o.seed),
  onProgress: (p) => {
    if (p.day - lastPrint >= 30 || p.day === p.days) {
      lastPrint = p.day;
      const s = (performance.now() - seedStart) / 1000;
      log(`  bulk day ${p.day}/${p.days}: ${p.results.toLocaleString('en')} results, ${(p.results / s).toFixed(0)}/s`);
    }
  },
});
const seedS = (performance.now() - seedStart) / 1000;
log(
  `bulk seed: ${year.bulkResults.toLocaleString('en')} results in ${seedS.toFixed(1)} s (${(year.bulkResults / seedS).toFixed(0)} results/s, direct inserts)`,
);

// 2. A real collector process on a free loopback port.
async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}
/**
 * Start a collector process on the database. `env` adds configuration; `waitFor` is a log message
 * to wait for (the process then logs at info level).
 */
async function startChild(env, waitFor) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      ...(process.env.HATANG_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      join(root, 'collector/dist/cli.js'),
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--data',
      dir,
      '--log-level',
      waitFor ? 'info' : 'warn',
    ],
    {
      stdio: ['ignore', waitFor ? 'pipe' : 'inherit', 'inherit'],
      env: { ...process.env, HATANG_INGEST_BURST: '100000', HATANG_INGEST_RATE_PER_MINUTE: '100000', ...env },
    },
  );
  let seen;
  const seenP = new Promise((r) => {
    seen = r;
  });
  if (waitFor) {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const j = JSON.parse(line);
          if (j.msg === waitFor) seen(j);
          if (j.level >= 40) console.error(line);
        } catch {}
        i = buf.indexOf('\n');
      }
    });
  }
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {}
    if (i > 300 || child.exitCode !== null) throw new Error('collector did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, logged: waitFor ? seenP : Promise.resolve(undefined) };
}
async function stopChild(c) {
  c.child.kill('SIGTERM');
  await new Promise((r) => c.child.once('exit', r));
}

// No background warm-up or refresh in this one: ingest and "computed on request" figures are measured alone.
const first = await startChild({
  HATANG_STATS_WARM_UP_WEEKS: '0',
  HATANG_STATS_WARM_UP_MONTHS: '0',
  HATANG_STATS_REFRESH_DELAY_MS: '0',
});
const { child } = first;
let url = first.url;

// 3. HTTP ingest of the last days: each agent's results in batches of ≤ BATCH, CONCURRENCY in flight.
const UPTIME = 400 * 86_400_000;
const jobs = [];
for (const a of year.plan.agents) {
  const tests = [];
  for (let day = year.lastBulkDay + 1; day <= year.plan.endDay - 1; day++) tests.push(...testsOfDay(a, day, year.plan));
  for (let i = 0; i < tests.length; i += BATCH) jobs.push({ a, tests: tests.slice(i, i + BATCH) });
}
const httpResults = jobs.reduce((n, j) => n + j.tests.length, 0);
const latencies = [];
let accepted = 0;
let next = 0;
/** CPU seconds the collector process has used (Linux /proc), to report its cost per result independent of load. */
function childCpuS() {
  try {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}
const cpu0 = childCpuS();
const ingestStart = performance.now();
async function worker() {
  while (next < jobs.length) {
    const j = jobs[next++];
    const sentAt = Date.now();
    // Same boot as the results, uptime consistent with their times: the collector re-bases them.
    const body = JSON.stringify({
      schema: 1,
      sentAt: new Date(sentAt).toISOString(),
      clock: { bootId: `boot-${j.a.i}`, uptimeMs: UPTIME },
      results: j.tests.map((t) => yearResult(j.a, t, { bootId: `boot-${j.a.i}`, uptimeMs: UPTIME - (sentAt - t.at) })),
    });
    const s = performance.now();
    const res = await fetch(`${url}/api/v1/results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${year.tokens.get(j.a.id)}` },
      body,
    });
    const out = await res.json();
    latencies.push(performance.now() - s);
    if (res.status !== 200 || out.rejected.length)
      throw new Error(`ingest answered ${res.status}: ${JSON.stringify(out).slice(0, 300)}`);
    accepted += out.accepted.length;
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const ingestS = (performance.now() - ingestStart) / 1000;
const ingestCpuS = childCpuS() - cpu0;
latencies.sort((a, b) => a - b);
const ingestRate = accepted / ingestS;
log(
  `HTTP ingest: ${accepted.toLocaleString('en')}/${httpResults.toLocaleString('en')} results accepted in ${jobs.length} requests ` +
    `(batch ≤ ${BATCH}, mean ${(httpResults / jobs.length).toFixed(0)}, ${CONCURRENCY} in flight) in ${ingestS.toFixed(1)} s`,
);

// 4. Queries over HTTP, 5 s after the ingest burst: cold (first call) and warm (median of 5).
await new Promise((r) => setTimeout(r, 5000));
const week = shiftPeriod(periodOf('week', end), -1); // the last complete week: what district IT reviews
const commune = year.plan.agents[0].commune;
const adminH = { authorization: `Bearer ${year.admin}` };
async function timed(path) {
  const s = performance.now();
  const res = await fetch(`${url}${path}`, { headers: adminH });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return { ms: performance.now() - s, body };
}
/** `first`: the first request after start; `cold`: a query not cached yet, process warmed by `warmup`. */
async function coldWarm(path, warmup) {
  const first = await timed(warmup);
  const cold = await timed(path);
  const warm = [];
  for (let i = 0; i < 5; i++) warm.push((await timed(path)).ms);
  warm.sort((a, b) => a - b);
  return { first: first.ms, cold: cold.ms, warm: warm[2], body: cold.body };
}
const other = shiftPeriod(week, -5);
const otherCommune = year.plan.agents[1].commune;
const qUnits = (w, level) => `/api/v1/stats/units?period=week&at=${w.key}&level=${level}&parent=14`;
const qTrendOf = (c) => `/api/v1/stats/trend?unit=${c}&weeks=52&at=${week.key}`;
const hCommunes = await coldWarm(qUnits(week, 'commune'), qUnits(other, 'commune'));
const week2 = shiftPeriod(week, -2); // a week the commune report did not compute
const hDistricts = await coldWarm(qUnits(week2, 'district'), qUnits(shiftPeriod(other, -2), 'district'));
const hTrend = await coldWarm(qTrendOf(commune), qTrendOf(otherCommune));
await stopChild(first);

// A collector as it runs in production (default config: the last 53 weeks and 13 months computed
// in the background after start, periods touched by ingest recomputed after it): the same pages
// as served once its warm-up is logged as done.
const second = await startChild({}, 'statistics warmed up');
url = second.url;
const warmLog = await second.logged;
const served = {
  communes: await coldWarm(qUnits(week, 'commune'), qUnits(other, 'commune')),
  districts: await coldWarm(qUnits(week, 'district'), qUnits(other, 'district')),
  trend: await coldWarm(qTrendOf(commune), qTrendOf(otherCommune)),
  districtTrend: await coldWarm(qTrendOf('116'), qTrendOf('118')),
  provinceTrend: await coldWarm(qTrendOf('14'), qTrendOf('116')),
};
await stopChild(second);

// 5. In process, on a fresh service (cold), against a baseline over the raw results table.
const db = openDb({ path: dbPath });
const targets = COLLECTOR_CONFIG_DEFAULTS.targets;
const svc = createStatsService({ db, targets, now: () => end });
/** Warm the code with `warmup`, then time `fn` on figures not cached yet. */
function inProcess(warmup, fn) {
  warmup(svc);
  const s = performance.now();
  const v = fn(svc);
  return { ms: performance.now() - s, v };
}
const pCommunes = inProcess(
  (s) => s.units({ period: 'week', at: other.key, level: 'commune', parent: '14' }),
  (s) => s.units({ period: 'week', at: week.key, level: 'commune', parent: '14' }),
);
const pDistricts = inProcess(
  (s) => s.units({ period: 'week', at: shiftPeriod(other, -2).key, level: 'district', parent: '14' }),
  (s) => s.units({ period: 'week', at: week2.key, level: 'district', parent: '14' }),
);
const pTrend = inProcess(
  (s) => s.trend({ unit: otherCommune, count: 52, at: week.key }),
  (s) => s.trend({ unit: commune, count: 52, at: week.key }),
);

// Baseline: the same figures from raw results (indexed by kind and time), no rollups.
const agentsOf = new Map(
  db
    .prepare('SELECT id, commune_code FROM agents')
    .all()
    .map((a) => [a.id, a.commune_code]),
);
const districtOf = new Map(
  db
    .prepare("SELECT code, parent_code FROM units WHERE level = 'commune'")
    .all()
    .map((u) => [u.code, u.parent_code]),
);
const rawStmt = db.prepare(
  `SELECT agent_id, access, started_at, download_bps FROM results
   WHERE kind = 'speed' AND status = 'ok' AND started_at >= ? AND started_at < ? AND download_bps IS NOT NULL`,
);
function rawGroups(p, keyOf) {
  const groups = new Map();
  for (const r of rawStmt.iterate(p.startMs, p.endMs)) {
    const k = keyOf(r);
    if (k === undefined) continue;
    const g = groups.get(k) ?? [];
    g.push({ at: r.started_at, agent: r.agent_id, down: r.download_bps, up: null, lat: null });
    groups.set(k, g);
  }
  return groups;
}
function rawReport(keyOf, w = week) {
  const s = performance.now();
  let rows = 0;
  for (const p of [shiftPeriod(w, -1), w]) {
    for (const [k, list] of rawGroups(p, keyOf)) {
      aggregateSpeed(list, {
        targetBps: targetFor(targets, p.year, k.endsWith('mobile') ? 'mobile' : 'fixed'),
        sampleFloor: sampleFloorFor('week'),
      });
      rows++;
    }
  }
  return { ms: performance.now() - s, rows };
}
rawReport((r) => `${agentsOf.get(r.agent_id)}|${r.access}`, other); // warm-up
const bCommunes = rawReport((r) => `${agentsOf.get(r.agent_id)}|${r.access}`);
const bDistricts = rawReport((r) => `${districtOf.get(agentsOf.get(r.agent_id))}|${r.access}`, week2);
const trendAgents = [...agentsOf].filter(([, c]) => c === commune).map(([id]) => id);
const rawTrendStmt = db.prepare(
  `SELECT access, started_at, download_bps FROM results
   WHERE agent_id = ? AND kind = 'speed' AND status = 'ok' AND started_at >= ? AND started_at < ? AND download_bps IS NOT NULL`,
);
const rawTrend = (ids) => {
  const s = performance.now();
  const weeks = periodsEndingAt(week, 52);
  for (const p of weeks) {
    for (const access of ['fixed', 'mobile']) {
      const list = [];
      for (const id of ids)
        for (const r of rawTrendStmt.iterate(id, p.startMs, p.endMs))
          if (r.access === access)
            list.push({ at: r.started_at, agent: id, down: r.download_bps, up: null, lat: null });
      aggregateSpeed(list, { targetBps: targetFor(targets, p.year, access), sampleFloor: sampleFloorFor('week') });
    }
  }
  return { ms: performance.now() - s };
};
rawTrend([...agentsOf].filter(([, c]) => c === otherCommune).map(([id]) => id)); // warm-up
const bTrend = rawTrend(trendAgents);

// Large units: a district's 52-week trend and the month report need every agent's data of
// every period; cold they are computed period by period, after the collector's background
// warm-up (stats.warmUpWeeks/Months) they are read from the per-period figures.
const district = '116';
const fresh = createStatsService({ db, targets, now: () => end });
fresh.trend({ unit: commune, count: 4, at: week.key }); // warm the code, not the data
const timeIt = (fn) => {
  const s = performance.now();
  fn();
  return performance.now() - s;
};
const districtCold = timeIt(() => fresh.trend({ unit: district, count: 52, at: week.key }));
const warmStart = performance.now();
const warmed = await svc.warmUp({ weeks: 53, months: 13 });
const warmMs = performance.now() - warmStart;
const month = shiftPeriod(periodOf('month', end), -1);
const districtWarm = timeIt(() => svc.trend({ unit: district, count: 52, at: week.key }));
const provinceWarm = timeIt(() => svc.trend({ unit: '14', count: 52, at: week.key }));
const monthWarm = timeIt(() => svc.units({ period: 'month', at: month.key, level: 'commune', parent: '14' }));

// Sanity: the HTTP and in-process answers agree, and the report covers what it should.
const rowOf = (rows, code, access) => rows.find((r) => r.unit.code === code && r.access === access);
const httpRow = rowOf(hCommunes.body.rows, commune, 'fixed');
const procRow = rowOf(pCommunes.v.rows, commune, 'fixed');
if (httpRow.download.median !== procRow.download.median) throw new Error('HTTP and in-process medians differ');
const sizes = db
  .prepare('SELECT (SELECT count(*) FROM results) AS results, (SELECT count(*) FROM rollup_periods) AS rollups')
  .get();
db.close();
const fileMb = statSync(dbPath).size / 1e6;

// 6. Report.
const verdict = (ok) => (ok ? 'PASS' : 'FAIL');
const lines = [];
const out = (m) => {
  lines.push(m);
  log(m);
};
out('');
out(`| measure | result | target | ratio (result ÷ target) | verdict |`);
out(`|---|---|---|---|---|`);
out(
  `| HTTP ingest rate (batched) | ${ingestRate.toFixed(0)} results/s | ≥ ${TARGET_INGEST} | ${(ingestRate / TARGET_INGEST).toFixed(2)} | ${verdict(ingestRate >= TARGET_INGEST)} |`,
);
out(
  `| ingest request latency p50 / p99 (batch ≤ ${BATCH}) | ${ms(pct(latencies, 0.5))} / ${ms(pct(latencies, 0.99))} | — | — | — |`,
);
out(
  `| collector CPU per ingested result (user + system); results per CPU-second | ${((ingestCpuS * 1e6) / accepted).toFixed(0)} µs; ${(accepted / ingestCpuS).toFixed(0)} | ≥ ${TARGET_INGEST} per CPU-second | ${(accepted / ingestCpuS / TARGET_INGEST).toFixed(2)} | — |`,
);
// Served: what a running collector answers (its background warm-up and refresh done); on request:
// nothing computed beforehand, the figures worked out while the request waits.
const q = (name, servedH, h, p, b) => {
  out(
    `| ${name}: as served by a running collector (first request / repeated) | ${ms(servedH.cold)} / ${ms(servedH.warm)} | < ${TARGET_QUERY_MS} ms | ${(servedH.cold / TARGET_QUERY_MS).toFixed(2)} | ${verdict(servedH.cold < TARGET_QUERY_MS)} |`,
  );
  out(
    `| ${name}: computed on request, HTTP; in process; from raw results instead of rollups | ${ms(h.cold)}; ${ms(p.ms)}; ${ms(b.ms)} | (< ${TARGET_QUERY_MS} ms) | ${(h.cold / TARGET_QUERY_MS).toFixed(2)}; raw ÷ rollups = ${(b.ms / p.ms).toFixed(1)} | ${h.cold < TARGET_QUERY_MS ? 'pass' : 'over'} |`,
  );
};
q(
  `province weekly report ${week.key}, ${pCommunes.v.rows.length} commune rows`,
  served.communes,
  hCommunes,
  pCommunes,
  bCommunes,
);
q(
  `province weekly report ${week2.key}, ${pDistricts.v.rows.length} district rows`,
  served.districts,
  hDistricts,
  pDistricts,
  bDistricts,
);
q(`commune ${commune} 52-week trend (${trendAgents.length} agents)`, served.trend, hTrend, pTrend, bTrend);
out(
  `| district ${district} and province 52-week trends: as served (first request) | ${ms(served.districtTrend.cold)}; ${ms(served.provinceTrend.cold)} | < ${TARGET_QUERY_MS} ms | ${(Math.max(served.districtTrend.cold, served.provinceTrend.cold) / TARGET_QUERY_MS).toFixed(2)} | ${verdict(Math.max(served.districtTrend.cold, served.provinceTrend.cold) < TARGET_QUERY_MS)} |`,
);
out(
  `| district ${district} 52-week trend, in process: computed on request; after warm-up | ${ms(districtCold)}; ${ms(districtWarm)} | — | — | — |`,
);
out(
  `| province 52-week trend; month report ${month.key} (communes), in process after warm-up | ${ms(provinceWarm)}; ${ms(monthWarm)} | < ${TARGET_QUERY_MS} ms | ${(Math.max(provinceWarm, monthWarm) / TARGET_QUERY_MS).toFixed(2)} | ${verdict(Math.max(provinceWarm, monthWarm) < TARGET_QUERY_MS)} |`,
);
out('');
out(
  `background warm-up of ${warmed} periods (53 weeks, 13 months, every level): in process ${(warmMs / 1000).toFixed(1)} s; in the served collector ${warmLog?.ms === undefined ? '?' : (warmLog.ms / 1000).toFixed(1)} s`,
);
out(
  `first request after the collector started (another week / commune): units ${ms(hCommunes.first)}, districts ${ms(hDistricts.first)}, trend ${ms(hTrend.first)}`,
);
out(
  `database: ${sizes.results.toLocaleString('en')} results, ${sizes.rollups.toLocaleString('en')} rollup rows, ${fileMb.toFixed(0)} MB; ` +
    `bulk seed ${seedS.toFixed(0)} s; total ${((performance.now() - t0) / 1000).toFixed(0)} s; load average after ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
log(
  `\nfirst local day ${year.plan.firstDay} … last ${year.plan.endDay - 1} (day numbers); commune row check: median ${(httpRow.download.median / 1e6).toFixed(1)} Mbit/s, ${httpRow.samples} samples`,
);
if (!o.keep) rmSync(dir, { recursive: true, force: true });
else log(`kept ${dir}`);
const failed =
  ingestRate < TARGET_INGEST ||
  served.communes.cold >= TARGET_QUERY_MS ||
  served.districts.cold >= TARGET_QUERY_MS ||
  served.trend.cold >= TARGET_QUERY_MS;
process.exitCode = failed ? 1 : 0;
