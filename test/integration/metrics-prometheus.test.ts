// The real Prometheus (Debian package, 2.42) scrapes a real collector on loopback, loads the
// shipped alert rules, and answers through its HTTP API with the series and values we ingested.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startCollector, type TestCollector } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig, periodOf } from '@hatang/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, ipv6Result, latencyResult, speedResult, udpResult } from '../helpers/results.js';
import { requireTool } from '../helpers/tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const tool = requireTool('prometheus', 'Prometheus integration test');
const TOKEN = 'metrics-test-token-0123456789';

function config(): CollectorConfig {
  return {
    ...COLLECTOR_CONFIG_DEFAULTS,
    metrics: { ...COLLECTOR_CONFIG_DEFAULTS.metrics, cacheMs: 500, unitCacheMs: 500, bearerToken: TOKEN },
  };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

interface Prom {
  url: string;
  proc: ChildProcess;
  log: () => string;
}

/** Start Prometheus on a free loopback port; retried when another process takes the port first. */
async function startPrometheus(bin: string, configFile: string, dir: string): Promise<Prom> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    let log = '';
    const proc = spawn(
      bin,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, `tsdb-${attempt}`)}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    proc.stdout?.on('data', (c) => (log += c));
    proc.stderr?.on('data', (c) => (log += c));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && proc.exitCode === null) {
      try {
        if ((await fetch(`${url}/-/ready`)).ok) return { url, proc, log: () => log };
      } catch {}
      await new Promise((r) => setTimeout(r, 200));
    }
    proc.kill('SIGKILL');
    if (!/address already in use/.test(log)) throw new Error(`prometheus did not become ready:\n${log}`);
  }
  throw new Error('prometheus: no free port after 3 attempts');
}

async function stopPrometheus(p: Prom) {
  if (p.proc.exitCode !== null) return;
  const exited = new Promise((r) => p.proc.once('exit', r));
  p.proc.kill('SIGTERM');
  const timer = setTimeout(() => p.proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Vector {
  metric: Record<string, string>;
  value: [number, string];
}

async function api(p: Prom, path: string, params: Record<string, string> = {}) {
  const res = await fetch(`${p.url}/api/v1/${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; data: any; error?: string };
  return { http: res.status, ...body };
}

async function query(p: Prom, expr: string): Promise<Vector[]> {
  const r = await api(p, 'query', { query: expr });
  if (r.status !== 'success') throw new Error(`${expr}: ${r.error}`);
  return r.data.result as Vector[];
}

/** Poll until `expr` returns at least `n` series (scrapes every second). */
async function waitFor(p: Prom, expr: string, n = 1, ms = 30_000): Promise<Vector[]> {
  const deadline = Date.now() + ms;
  let last: Vector[] = [];
  while (Date.now() < deadline) {
    last = await query(p, expr);
    if (last.length >= n) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${n} series of ${expr}; got ${JSON.stringify(last)}\n${p.log()}`);
}

describe.skipIf(!!tool.skip)('Prometheus scrapes the collector', () => {
  let dir: string;
  let collector: TestCollector;
  let speedtest: TestCollector;
  let prom: Prom;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hatang-prom-'));
    collector = await startCollector({ config: config() });
    speedtest = await startCollector({ config: config(), role: 'speedtest' });
    const now = Date.now();
    const { repo } = collector.app;
    const a = repo.addAgent({ name: 'a', communeCode: '04045', access: 'fixed', isp: 'VNPT' }, now);
    const b = repo.addAgent({ name: 'b', communeCode: '04048', access: 'mobile', isp: 'Viettel' }, now);
    // Registered 4 h ago and never heard from: the silent-agent rule must pick it up.
    const silent = repo.addAgent({ name: 'silent', communeCode: '04048', access: 'fixed' }, now - 4 * 3_600_000);
    Object.assign(ids, { a: a.agent.id, b: b.agent.id, silent: silent.agent.id });

    // This week's tests stay inside the current ISO week even right after Monday 00:00.
    const thisWeek = (ago: number) => Math.max(now - ago, periodOf('week', now).startMs);
    const week = 7 * 86_400_000;
    const ra = await ingest(collector.url, a.token, [
      speedResult({ at: thisWeek(900_000), downBps: 95e6, upBps: 31e6, serverId: 'sla-vnpt' }),
      // The four completed weeks before this one: 50 Mbit/s, below the 90 Mbit/s target each time.
      ...[1, 2, 3, 4].map((k) => speedResult({ at: now - k * week, downBps: 50e6 })),
      latencyResult({ at: now - 600_000, medianMs: 12, jitterMs: 2 }),
      udpResult({ at: now - 500_000, lossPct: 2 }),
      ipv6Result({ at: now - 400_000, works: true }),
      { ...speedResult({ downBps: 1 }), network: { access: 'satellite', family: 4 } },
    ]);
    expect(ra.body.accepted).toHaveLength(8);
    expect(ra.body.rejected).toHaveLength(1);
    const rb = await ingest(collector.url, b.token, [
      speedResult({ at: thisWeek(800_000), access: 'mobile', downBps: 30e6, upBps: 8e6, serverId: 'sla-vnpt' }),
      speedResult({ at: thisWeek(700_000), access: 'mobile', status: 'error', serverId: 'sla-vnpt' }),
      ipv6Result({ at: now - 300_000, access: 'mobile', works: false }),
    ]);
    expect(rb.body.accepted).toHaveLength(3);
    expect((await ingest(collector.url, b.token, [])).status).toBe(200);
    expect((await fetch(`${speedtest.url}/speed/down?bytes=100000`)).status).toBe(200);

    const host = (u: string) => new URL(u).host;
    const cfg = join(dir, 'prometheus.yml');
    writeFileSync(
      cfg,
      [
        'global:',
        '  scrape_interval: 1s',
        '  scrape_timeout: 1s',
        '  evaluation_interval: 1s',
        'rule_files:',
        `  - ${join(ROOT, 'deploy/prometheus/rules/hatang.rules.yml')}`,
        'scrape_configs:',
        '  - job_name: hatang-collector',
        '    authorization:',
        `      credentials: ${TOKEN}`,
        '    static_configs:',
        `      - targets: ['${host(collector.url)}']`,
        '  - job_name: hatang-speedtest',
        '    authorization:',
        `      credentials: ${TOKEN}`,
        '    static_configs:',
        `      - targets: ['${host(speedtest.url)}']`,
        '        labels:',
        '          isp: VNPT',
        '',
      ].join('\n'),
    );
    prom = await startPrometheus(tool.path as string, cfg, dir);
    await waitFor(prom, 'up{job=~"hatang-.*"} == 1', 2);
    await waitFor(prom, 'hatang_agent_last_seen_timestamp_seconds', 3);
  });

  afterAll(async () => {
    if (prom) await stopPrometheus(prom);
    await collector?.close();
    await speedtest?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const value = (v: Vector[]) => v.map((x) => Number(x.value[1]));

  it('holds the per-agent series with their bounded labels and exact values', async () => {
    const down = await query(prom, 'hatang_agent_download_bytes_per_second');
    const byAgent = Object.fromEntries(down.map((v) => [v.metric.agent, v]));
    expect(byAgent[ids.a as string]?.metric).toMatchObject({
      __name__: 'hatang_agent_download_bytes_per_second',
      job: 'hatang-collector',
      agent: ids.a,
      commune: '04045',
      district: '123', // Thị xã Mộc Châu in the shipped unit list
      access: 'fixed',
      isp: 'VNPT',
    });
    expect(Number(byAgent[ids.a as string]?.value[1])).toBe(95e6 / 8);
    expect(Number(byAgent[ids.b as string]?.value[1])).toBe(30e6 / 8);
    expect(byAgent[ids.silent as string]).toBeUndefined();
    expect(value(await query(prom, `hatang_agent_upload_bytes_per_second{agent="${ids.a}"}`))).toEqual([31e6 / 8]);
    expect(value(await query(prom, `hatang_agent_latency_seconds{agent="${ids.a}"}`))).toEqual([0.012]);
    expect(value(await query(prom, `hatang_agent_jitter_seconds{agent="${ids.a}"}`))).toEqual([0.002]);
    expect(value(await query(prom, `hatang_agent_udp_loss_ratio{agent="${ids.a}"}`))).toEqual([0.02]);
    expect(value(await query(prom, 'sort_desc(hatang_agent_ipv6_status)'))).toEqual([1, 0]);
    expect(value(await query(prom, 'hatang_ipv6_target_reachable_ratio{target="collector"}'))).toEqual([0.5]);
    // Every label name on per-agent series is one of the bounded set (plus Prometheus's own).
    const names = new Set(down.flatMap((v) => Object.keys(v.metric)));
    expect([...names].sort()).toEqual(['__name__', 'access', 'agent', 'commune', 'district', 'instance', 'isp', 'job']);
  });

  it('holds the per-unit series from the statistics service', async () => {
    const sel = '{level="commune",commune="04045",access="fixed"}';
    expect(value(await query(prom, `hatang_unit_week_download_median_bytes_per_second${sel}`))).toEqual([95e6 / 8]);
    expect(value(await query(prom, `hatang_unit_week_attained${sel}`))).toEqual([1]);
    expect(value(await query(prom, `hatang_unit_week_samples${sel}`))).toEqual([1]);
    expect(value(await query(prom, `hatang_unit_recent_weeks_below_target${sel}`))).toEqual([4]);
    expect(value(await query(prom, `hatang_unit_recent_weeks_measured${sel}`))).toEqual([4]);
    const district = await query(
      prom,
      'hatang_unit_week_attained{level="district",access="mobile"} * on(district) group_left(name) hatang_unit_info{level="district"}',
    );
    expect(district.map((v) => [v.metric.district, v.metric.name, Number(v.value[1])])).toEqual([
      ['128', 'Huyện Vân Hồ', 0], // 30 Mbit/s against 40
    ]);
    expect(value(await query(prom, 'count(hatang_unit_info{level="commune"})'))).toEqual([200]);
  });

  it('holds the targets, the ingest counters, the histogram and the speed-test role’s own series', async () => {
    const targets = await query(prom, 'hatang_target_download_bytes_per_second');
    const t = Object.fromEntries(targets.map((v) => [v.metric.access, Number(v.value[1])]));
    expect(t).toEqual({ fixed: 90e6 / 8, mobile: 40e6 / 8 }); // 2025's targets carried forward
    const results = await query(prom, 'hatang_ingest_results_total');
    expect(Object.fromEntries(results.map((v) => [v.metric.outcome, Number(v.value[1])]))).toEqual({
      accepted: 11,
      duplicate: 0,
      rejected: 1,
    });
    expect(
      value(await query(prom, `hatang_ingest_rejected_results_total{agent="${ids.a}",code="HATANG_ERR_VALIDATION"}`)),
    ).toEqual([1]);
    expect(value(await query(prom, 'sum by (status) (hatang_server_tests_total{server="sla-vnpt"})'))).toHaveLength(2);
    // Fixed: four tests at 50 Mbit/s fall in the 90 Mbit/s bucket, the 95 Mbit/s one does not.
    // Mobile: 30 Mbit/s is below 32 (0.8 × 40) and 33.
    expect(
      value(await query(prom, 'hatang_speed_test_download_bytes_per_second_bucket{access="fixed",le="11250000"}')),
    ).toEqual([4]);
    expect(
      value(await query(prom, 'hatang_speed_test_download_bytes_per_second_bucket{access="mobile",le="4000000"}')),
    ).toEqual([1]);
    expect(
      (await query(prom, 'hatang_speed_test_download_bytes_per_second_count')).map((v) => [
        v.metric.district,
        v.metric.access,
        Number(v.value[1]),
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['123', 'fixed', 5],
        ['128', 'mobile', 1],
      ]),
    );

    const build = await query(prom, 'hatang_build_info');
    expect(build.map((v) => `${v.metric.job}:${v.metric.role}`).sort()).toEqual([
      'hatang-collector:all',
      'hatang-speedtest:speedtest',
    ]);
    const sent = await query(prom, 'hatang_speedtest_sent_bytes_total{job="hatang-speedtest",endpoint="down"}');
    expect(Number(sent[0]?.value[1])).toBeGreaterThan(100_000);
    expect(await query(prom, 'hatang_agent_last_seen_timestamp_seconds{job="hatang-speedtest"}')).toEqual([]);
    expect(value(await query(prom, 'process_resident_memory_bytes{job="hatang-speedtest"}'))[0]).toBeGreaterThan(1e6);
    // HTTP durations are labelled by route pattern; the ingest route saw three 200s.
    expect(
      value(
        await query(
          prom,
          'hatang_http_request_duration_seconds_count{job="hatang-collector",route="/api/v1/results",status_code="200"}',
        ),
      ),
    ).toEqual([3]);
  });

  it('loads the shipped alert rules, and the silent-agent rule picks out the silent agent', async () => {
    const rules = await api(prom, 'rules');
    const all = (
      rules.data.groups as Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>
    ).flatMap((g) => g.rules);
    expect(all.length).toBeGreaterThanOrEqual(8);
    // Each rule evaluated at least once without error.
    const deadline = Date.now() + 10_000;
    let bad = all;
    while (Date.now() < deadline) {
      const r = await api(prom, 'rules');
      bad = (r.data.groups as any[]).flatMap((g) => g.rules).filter((x: any) => x.health !== 'ok');
      if (bad.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(bad).toEqual([]);
    const alerts = await waitFor(prom, 'ALERTS{alertname="HatangAgentSilent"}');
    expect(alerts.map((a) => [a.metric.agent, a.metric.alertstate])).toEqual([[ids.silent, 'pending']]);
    // Below target in 4 of the last 4 weeks: the commune and its district (not the province).
    const below = await waitFor(prom, 'ALERTS{alertname="HatangUnitBelowTarget"}', 2);
    expect(
      below.map((a) => [a.metric.level, a.metric.district, a.metric.commune ?? '', a.metric.alertstate]).sort(),
    ).toEqual([
      ['commune', '123', '04045', 'pending'],
      ['district', '123', '', 'pending'],
    ]);
  });

  it('answers every Grafana dashboard query without error', async () => {
    const dashDir = join(ROOT, 'deploy/grafana/dashboards');
    const vars: Record<string, string> = {
      $access: 'fixed',
      $district: '116',
      $agent: ids.a as string,
      $__rate_interval: '1m',
      $__interval: '1m',
    };
    let n = 0;
    for (const file of readdirSync(dashDir).filter((f) => f.endsWith('.json'))) {
      const d = JSON.parse(readFileSync(join(dashDir, file), 'utf8'));
      for (const p of d.panels) {
        for (const t of p.targets ?? []) {
          let expr: string = t.expr;
          for (const [k, v] of Object.entries(vars)) expr = expr.replaceAll(k, v);
          const r = await api(prom, 'query', { query: expr });
          expect({ file, panel: p.title, status: r.status, error: r.error }).toMatchObject({ status: 'success' });
          n++;
        }
      }
    }
    expect(n).toBeGreaterThan(40);
    // With data behind them, the main panels are not empty.
    const d = JSON.parse(readFileSync(join(dashDir, 'district.json'), 'utf8'));
    const communes = d.panels.find((p: any) => p.title.startsWith('Các xã'));
    const rows = await query(
      prom,
      communes.targets[0].expr.replaceAll('$district', '123').replaceAll('$access', 'fixed'),
    );
    expect(rows.map((v) => [v.metric.commune, v.metric.name, Number(v.value[1])])).toEqual([
      ['04045', 'Xã Lóng Sập', 95e6],
    ]);
    // The agent dashboard's target line picks the agent's own access type.
    const line = await query(
      prom,
      `hatang_target_download_bytes_per_second * 8 and on(access) hatang_agent_last_seen_timestamp_seconds{agent="${ids.b}"}`,
    );
    expect(line.map((v) => [v.metric.access, Number(v.value[1])])).toEqual([['mobile', 40e6]]);
  });
});
