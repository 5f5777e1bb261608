// What one Prometheus scrape of /metrics costs the collector, and whether that cost grows with
// the stored history (it should not: the per-agent read walks an index per agent, the per-unit
// figures come from the statistics service's rollups and cache).
//
//   pnpm bench:metrics                      # 1 000 agents, 7 days vs 91 days of speed tests
//   node bench/metrics-scrape.mjs --agents 1000 --small 7 --large 365 --scrapes 15
//
// Two fresh databases from bench/collector-year-db.mjs (5 agents per commune over Son La's 200
// communes, a speed test every 2 h), the same agents, one with `small` days of history and one
// with `large`. For each, over HTTP on 127.0.0.1:
//   cold      metrics.cacheMs = 0: every scrape reads SQLite (the stats service's own cache warm)
//   touched   as cold, after telling the stats service that ingest wrote today's rollups
//             (what a busy collector sees: the current week is recomputed)
//   cached    metrics.cacheMs = 60 s: the database-derived gauges come from the metrics cache
// and prints medians, p90s and the ratios large ÷ small and cached ÷ cold, measured in this run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS, localDayOf } from '@hatang/shared';
import { buildYearDb } from './collector-year-db.mjs';

const { values: o } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    small: { type: 'string', default: '7' },
    large: { type: 'string', default: '91' },
    scrapes: { type: 'string', default: '15' },
  },
});
const agents = Number(o.agents);
const scrapes = Number(o.scrapes);

function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}
const fmt = (ms) => `${ms.toFixed(1)} ms`;

async function scrapeTimes(dbPath, cacheMs, n, beforeEach) {
  const app = await buildApp({
    dbPath,
    config: {
      ...COLLECTOR_CONFIG_DEFAULTS,
      geography: { loadDefaultUnits: false },
      metrics: { ...COLLECTOR_CONFIG_DEFAULTS.metrics, cacheMs, unitCacheMs: cacheMs },
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${app.server.address().port}/metrics`;
  try {
    // Warm-up: JIT, the stats service's cache, the metrics cache.
    for (let i = 0; i < 2; i++) await (await fetch(url)).text();
    const times = [];
    let body = '';
    for (let i = 0; i < n; i++) {
      beforeEach?.(app);
      const t0 = performance.now();
      body = await (await fetch(url)).text();
      times.push(performance.now() - t0);
    }
    const series = body.split('\n').filter((l) => l && !l.startsWith('#')).length;
    const part = (p) =>
      Number(new RegExp(`hatang_metrics_collect_duration_seconds\\{part="${p}"\\} (\\S+)`).exec(body)?.[1]) * 1000;
    return {
      median: quantile(times, 0.5),
      p90: quantile(times, 0.9),
      bytes: body.length,
      series,
      agentsMs: part('agents'),
      unitsMs: part('units'),
    };
  } finally {
    await app.close();
  }
}

async function measure(days, dir) {
  const path = join(dir, `hatang-${days}d.db`);
  const t0 = performance.now();
  const built = await buildYearDb({ path, agents, days, end: Date.now(), seed: 11 });
  console.log(`seeded ${days} days: ${built.bulkResults} results in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const today = localDayOf(Date.now());
  const cold = await scrapeTimes(path, 0, scrapes);
  const touched = await scrapeTimes(path, 0, Math.max(5, Math.floor(scrapes / 3)), (app) =>
    app.stats.touch([today - 1]),
  );
  const cached = await scrapeTimes(path, 60_000, scrapes);
  return { days, results: built.bulkResults, cold, touched, cached };
}

const dir = mkdtempSync(join(tmpdir(), 'hatang-bench-metrics-'));
try {
  console.log(
    `metrics scrape benchmark: ${agents} agents, ${scrapes} scrapes per case (load on this machine affects absolute times)`,
  );
  const small = await measure(Number(o.small), dir);
  const large = await measure(Number(o.large), dir);
  console.log('');
  console.log('days  results    case     median     p90        agents read  units read  series  bytes');
  for (const r of [small, large]) {
    for (const k of ['cold', 'touched', 'cached']) {
      const m = r[k];
      console.log(
        `${String(r.days).padEnd(5)} ${String(r.results).padEnd(10)} ${k.padEnd(8)} ${fmt(m.median).padEnd(10)} ${fmt(m.p90).padEnd(10)} ${fmt(m.agentsMs).padEnd(12)} ${fmt(m.unitsMs).padEnd(11)} ${String(m.series).padEnd(7)} ${m.bytes}`,
      );
    }
  }
  console.log('');
  console.log(
    `history growth ${large.results} ÷ ${small.results} results = ${(large.results / small.results).toFixed(1)}×`,
  );
  for (const k of ['cold', 'touched', 'cached']) {
    console.log(`scrape ${k.padEnd(8)} large ÷ small: ${(large[k].median / small[k].median).toFixed(2)}`);
  }
  console.log(`cached ÷ cold (large): ${(large.cached.median / large.cold.median).toFixed(2)}`);
  console.log(`touched ÷ cold (large): ${(large.touched.median / large.cold.median).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
