import { request } from 'node:http';
import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig } from '@hatang/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { find, one, parseProm } from '../../../test/helpers/prom.js';
import { BOOT, ingest, ipv6Result, latencyResult, speedResult, udpResult } from '../../../test/helpers/results.js';
import { buildApp } from '../app.js';
import { startCollector, type TestCollector } from '../testing.js';
import { metricsAuthorized } from './metrics.js';

const T0 = Date.parse('2025-06-10T03:00:00Z'); // a Tuesday, 10:00 in Hà Nội

function config(metrics: Partial<CollectorConfig['metrics']> = {}): CollectorConfig {
  return {
    ...COLLECTOR_CONFIG_DEFAULTS,
    metrics: { ...COLLECTOR_CONFIG_DEFAULTS.metrics, cacheMs: 0, unitCacheMs: 0, ...metrics },
  };
}

let c: TestCollector | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

async function scrape(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/metrics`, { headers });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers, samples: res.status === 200 ? parseProm(text) : [] };
}

describe('per-agent gauges', () => {
  it('show each unrevoked agent’s latest figures in base units with bounded labels', async () => {
    let now = T0;
    c = await startCollector({ config: config(), now: () => now });
    const a = c.app.repo.addAgent(
      { name: 'Nhà văn hoá bản Mòng', communeCode: '04045', access: 'fixed', isp: 'VNPT' },
      T0,
    );
    const b = c.app.repo.addAgent({ name: 'b', access: 'mobile' }, T0);
    const silent = c.app.repo.addAgent({ name: 'never reported', access: 'fixed' }, T0 - 3_600_000);
    const gone = c.app.repo.addAgent({ name: 'revoked', access: 'fixed' }, T0);

    // The newer speed test arrives first; the older one must not replace it.
    const newer = speedResult({ at: T0 - 600_000, downBps: 95e6, upBps: 31e6, latencyMs: 9, jitterMs: 0.8 });
    const older = speedResult({ at: T0 - 7_200_000, downBps: 50e6, upBps: 10e6 });
    expect((await ingest(c.url, a.token, [newer])).body.accepted).toHaveLength(1);
    now = T0 + 60_000;
    const r = await ingest(c.url, a.token, [
      older,
      latencyResult({ at: T0 - 300_000, medianMs: 12, jitterMs: 2 }),
      udpResult({ at: T0 - 200_000, lossPct: 2 }),
      ipv6Result({ at: T0 - 100_000, works: true }),
    ]);
    expect(r.body.accepted).toHaveLength(4);
    await ingest(c.url, b.token, [
      speedResult({ at: T0 - 60_000, access: 'mobile', downBps: 30e6, upBps: 8e6 }),
      ipv6Result({ at: T0 - 60_000, access: 'mobile', works: false }),
    ]);
    await ingest(c.url, gone.token, [speedResult({ at: T0 - 60_000, downBps: 1e6 })]);
    c.app.repo.revokeAgent(gone.agent.id, T0);

    const { samples: s } = await scrape(c.url);
    // Xã Lóng Sập (04045) lies in Thị xã Mộc Châu (123) in the shipped unit list.
    const la = { agent: a.agent.id, commune: '04045', district: '123', access: 'fixed', isp: 'VNPT' };
    const labelsOf = (x: { labels: Record<string, string> }) => x.labels;
    expect(labelsOf(one(s, 'hatang_agent_download_bytes_per_second', { agent: a.agent.id }))).toEqual(la);
    expect(one(s, 'hatang_agent_download_bytes_per_second', la).value).toBe(95e6 / 8);
    expect(one(s, 'hatang_agent_upload_bytes_per_second', la).value).toBe(31e6 / 8);
    expect(one(s, 'hatang_agent_latency_seconds', la).value).toBeCloseTo(0.012, 9);
    expect(one(s, 'hatang_agent_jitter_seconds', la).value).toBeCloseTo(0.002, 9);
    expect(one(s, 'hatang_agent_udp_loss_ratio', la).value).toBeCloseTo(0.02, 9);
    expect(one(s, 'hatang_agent_ipv6_status', la).value).toBe(1);
    expect(one(s, 'hatang_agent_last_seen_timestamp_seconds', la).value).toBe((T0 + 60_000) / 1000);
    expect(one(s, 'hatang_agent_last_speed_test_timestamp_seconds', la).value).toBe((T0 - 600_000) / 1000);

    const lb = { agent: b.agent.id, access: 'mobile' };
    expect(one(s, 'hatang_agent_download_bytes_per_second', lb).value).toBe(30e6 / 8);
    expect(one(s, 'hatang_agent_ipv6_status', lb).value).toBe(0);
    expect(find(s, 'hatang_agent_udp_loss_ratio', lb)).toEqual([]);
    // IPv6 per target: of the two agents that checked "collector", one reached it over IPv6.
    expect(one(s, 'hatang_ipv6_target_checked_agents', { target: 'collector' }).value).toBe(2);
    expect(one(s, 'hatang_ipv6_target_reachable_ratio', { target: 'collector' }).value).toBe(0.5);

    // Never reported: only the registration time, so a silent-agent alert can fire for it.
    expect(one(s, 'hatang_agent_last_seen_timestamp_seconds', { agent: silent.agent.id }).value).toBe(
      (T0 - 3_600_000) / 1000,
    );
    expect(find(s, 'hatang_agent_download_bytes_per_second', { agent: silent.agent.id })).toEqual([]);
    expect(s.filter((x) => x.labels.agent === gone.agent.id && x.name.startsWith('hatang_agent_'))).toEqual([]);

    // No result id, URL or free text ever becomes a label value.
    const values = new Set(s.flatMap((x) => Object.values(x.labels)));
    for (const id of [newer.id, older.id]) expect(values.has(id)).toBe(false);
    expect([...values].some((v) => v.includes('http://') || v.includes('bản Mòng'))).toBe(false);
  });

  it('show the outbox status each agent sent with its latest batch; none for an agent that sends none', async () => {
    let now = T0;
    c = await startCollector({ config: config(), now: () => now });
    const a = c.app.repo.addAgent({ name: 'a', communeCode: '04045', access: 'fixed', isp: 'VNPT' }, T0);
    const old = c.app.repo.addAgent({ name: 'older agent', access: 'fixed' }, T0);
    // The batch is stamped 5 000 000 ms after boot (test/helpers/results.ts); the oldest waiting
    // result started 3 600 000 ms after that boot, so 1 400 s before the receipt.
    const status = {
      queued: 12,
      oldestQueued: { startedAt: '2021-01-01T00:00:00Z', clock: { bootId: BOOT, uptimeMs: 3_600_000 } },
      deadLetters: 3,
      dropped: 7,
    };
    await ingest(c.url, a.token, [speedResult({ at: T0 - 60_000, downBps: 90e6 })], { agentStatus: status });
    await ingest(c.url, old.token, [speedResult({ at: T0 - 60_000, downBps: 90e6 })]);
    let s = (await scrape(c.url)).samples;
    const la = { agent: a.agent.id, commune: '04045', district: '123', access: 'fixed', isp: 'VNPT' };
    expect(one(s, 'hatang_agent_outbox_queued_results', la).value).toBe(12);
    expect(one(s, 'hatang_agent_outbox_oldest_timestamp_seconds', la).value).toBe((T0 - 1_400_000) / 1000);
    expect(one(s, 'hatang_agent_outbox_dead_letters', la).value).toBe(3);
    expect(one(s, 'hatang_agent_outbox_dropped_results', la).value).toBe(7);
    for (const name of [
      'hatang_agent_outbox_queued_results',
      'hatang_agent_outbox_oldest_timestamp_seconds',
      'hatang_agent_outbox_dead_letters',
      'hatang_agent_outbox_dropped_results',
    ]) {
      // One series per agent that reports, none for the older agent.
      expect(find(s, name).map((x) => x.labels.agent)).toEqual([a.agent.id]);
    }
    // The outbox drained: the oldest-waiting series goes, the counts follow the new report.
    now = T0 + 600_000;
    await ingest(c.url, a.token, [speedResult({ at: T0, downBps: 90e6 })], {
      agentStatus: { queued: 0, deadLetters: 3, dropped: 7 },
    });
    s = (await scrape(c.url)).samples;
    expect(one(s, 'hatang_agent_outbox_queued_results', la).value).toBe(0);
    expect(find(s, 'hatang_agent_outbox_oldest_timestamp_seconds')).toEqual([]);
    expect(one(s, 'hatang_agent_outbox_dead_letters', la).value).toBe(3);
  });

  it('reuse the database read for metrics.cacheMs, then refresh', async () => {
    let now = T0;
    c = await startCollector({ config: config({ cacheMs: 60_000 }), now: () => now });
    const a = c.app.repo.addAgent({ name: 'a', access: 'fixed' }, T0);
    await ingest(c.url, a.token, [speedResult({ at: T0 - 1000, downBps: 10e6 })]);
    const first = (await scrape(c.url)).samples;
    expect(one(first, 'hatang_agent_download_bytes_per_second').value).toBe(10e6 / 8);
    await ingest(c.url, a.token, [speedResult({ at: T0, downBps: 20e6 })]);
    now += 59_000;
    expect(one((await scrape(c.url)).samples, 'hatang_agent_download_bytes_per_second').value).toBe(10e6 / 8);
    now += 1_000;
    expect(one((await scrape(c.url)).samples, 'hatang_agent_download_bytes_per_second').value).toBe(20e6 / 8);
  });
});

describe('per-unit gauges', () => {
  it('show the statistics service’s current week and how many recent weeks were below target', async () => {
    const now = T0; // Tuesday of 2025-W24, 10:00 in Hà Nội
    const week = 7 * 86_400_000;
    c = await startCollector({ config: config(), now: () => now });
    // Two agents in Xã Lóng Sập (04045, Thị xã Mộc Châu 123); one mobile agent in Xã Vân Hồ (04048, 128).
    const a = c.app.repo.addAgent({ name: 'a', communeCode: '04045', access: 'fixed', isp: 'VNPT' }, T0 - 60 * week);
    const b = c.app.repo.addAgent({ name: 'b', communeCode: '04045', access: 'fixed', isp: 'FPT' }, T0 - 60 * week);
    const m = c.app.repo.addAgent({ name: 'm', communeCode: '04048', access: 'mobile' }, T0 - 60 * week);
    const mbps = (x: number) => x * 1e6;
    // This week: 95, 85 (a) and 91 (b) → median 91 ≥ 90 (2025 fixed target).
    await ingest(c.url, a.token, [
      speedResult({ at: T0 - 3_600_000, downBps: mbps(95) }),
      speedResult({ at: T0 - 7_200_000, downBps: mbps(85) }),
      // Completed weeks, newest first: 80 below, 95 above, 70 below, 60 below → 3 of 4 below.
      speedResult({ at: T0 - 1 * week, downBps: mbps(80) }),
      speedResult({ at: T0 - 2 * week, downBps: mbps(95) }),
      speedResult({ at: T0 - 3 * week, downBps: mbps(70) }),
      speedResult({ at: T0 - 4 * week, downBps: mbps(60) }),
      // Five weeks back: outside metrics.recentWeeks = 4.
      speedResult({ at: T0 - 5 * week, downBps: mbps(10) }),
    ]);
    await ingest(c.url, b.token, [speedResult({ at: T0 - 1_800_000, downBps: mbps(91) })]);
    // Mobile: this week 30 (below 40); no earlier weeks.
    await ingest(c.url, m.token, [speedResult({ at: T0 - 600_000, access: 'mobile', downBps: mbps(30) })]);

    const s = (await scrape(c.url)).samples;
    const commune = { level: 'commune', district: '123', commune: '04045', access: 'fixed' };
    const district = { level: 'district', district: '123', access: 'fixed' };
    const province = { level: 'province', access: 'fixed' };
    const v = (name: string, l: Record<string, string>) => one(s, name, l).value;
    expect(one(s, 'hatang_unit_week_download_median_bytes_per_second', commune).labels).toEqual(commune);
    for (const l of [commune, district, province]) {
      expect(v('hatang_unit_week_download_median_bytes_per_second', l)).toBe(mbps(91) / 8);
      expect(v('hatang_unit_week_attained', l)).toBe(1);
      expect(v('hatang_unit_week_attainment_ratio', l)).toBeCloseTo(91 / 90, 12);
      expect(v('hatang_unit_week_samples', l)).toBe(3);
      expect(v('hatang_unit_week_low_samples', l)).toBe(1); // 3 < 70 a week
      expect(v('hatang_unit_week_tests_at_target_ratio', l)).toBeCloseTo(2 / 3, 12);
      expect(v('hatang_unit_recent_weeks_below_target', l)).toBe(3);
      expect(v('hatang_unit_recent_weeks_measured', l)).toBe(4);
    }
    const mobile = { level: 'commune', district: '128', commune: '04048', access: 'mobile' };
    expect(v('hatang_unit_week_download_median_bytes_per_second', mobile)).toBe(mbps(30) / 8);
    expect(v('hatang_unit_week_attained', mobile)).toBe(0);
    expect(find(s, 'hatang_unit_recent_weeks_below_target', mobile)).toEqual([]); // no completed week with data
    // Units without data: only their name.
    expect(find(s, 'hatang_unit_week_samples', { commune: '03646' })).toEqual([]);
    expect(one(s, 'hatang_unit_info', { level: 'commune', commune: '03646' }).labels).toEqual({
      level: 'commune',
      district: '116',
      commune: '03646',
      name: 'Phường Chiềng Lề',
    });
    expect(one(s, 'hatang_unit_info', { level: 'district', district: '123' }).labels.name).toBe('Thị xã Mộc Châu');
    expect(find(s, 'hatang_unit_info', { level: 'commune' })).toHaveLength(200);
    expect(find(s, 'hatang_unit_info', { level: 'district' })).toHaveLength(12);
    // The same numbers as the statistics service the stats API serves.
    const row = c.app.stats
      .units({ period: 'week', level: 'commune', access: 'fixed' })
      .rows.find((r) => r.unit.code === '04045');
    expect(row?.download.median).toBe(mbps(91));
    // The histogram counts what the statistics count, by district.
    expect(
      one(s, 'hatang_speed_test_download_bytes_per_second_count', { district: '123', access: 'fixed' }).value,
    ).toBe(8);
    expect(
      one(s, 'hatang_speed_test_download_bytes_per_second_count', { district: '128', access: 'mobile' }).value,
    ).toBe(1);
  });
});

describe('unit cache', () => {
  it('reuses the per-unit figures for metrics.unitCacheMs while per-agent gauges follow every scrape', async () => {
    let now = T0;
    c = await startCollector({ config: config({ cacheMs: 0, unitCacheMs: 60_000 }), now: () => now });
    const a = c.app.repo.addAgent({ name: 'a', communeCode: '04045', access: 'fixed' }, T0 - 86_400_000);
    const sel = { level: 'commune', commune: '04045', access: 'fixed' };
    await ingest(c.url, a.token, [speedResult({ at: T0 - 60_000, downBps: 50e6 })]);
    let s = (await scrape(c.url)).samples;
    expect(one(s, 'hatang_unit_week_samples', sel).value).toBe(1);
    await ingest(c.url, a.token, [speedResult({ at: T0 - 30_000, downBps: 60e6 })]);
    now += 30_000;
    s = (await scrape(c.url)).samples;
    expect(one(s, 'hatang_agent_download_bytes_per_second').value).toBe(60e6 / 8);
    expect(one(s, 'hatang_unit_week_samples', sel).value).toBe(1);
    now += 30_000;
    s = (await scrape(c.url)).samples;
    expect(one(s, 'hatang_unit_week_samples', sel).value).toBe(2);
    expect(one(s, 'hatang_unit_week_download_median_bytes_per_second', sel).value).toBe(55e6 / 8);
  });
});

describe('targets, histogram and ingest counters', () => {
  it('export the current year’s targets, carrying the plan’s last year forward', async () => {
    let now = Date.parse('2024-03-01T00:00:00+07:00');
    c = await startCollector({ config: config(), now: () => now });
    const t = (s: ReturnType<typeof parseProm>, access: string) =>
      one(s, 'hatang_target_download_bytes_per_second', { access }).value;
    let s = (await scrape(c.url)).samples;
    expect([t(s, 'fixed'), t(s, 'mobile')]).toEqual([89e6 / 8, 36e6 / 8]);
    now = Date.parse('2023-12-31T23:30:00+07:00'); // still 2023 in Hà Nội, already 2023 in UTC too
    s = (await scrape(c.url)).samples;
    expect([t(s, 'fixed'), t(s, 'mobile')]).toEqual([88e6 / 8, 33e6 / 8]);
    now = Date.parse('2025-01-01T00:30:00+07:00'); // 2025 in Hà Nội, still 2024 in UTC
    s = (await scrape(c.url)).samples;
    expect([t(s, 'fixed'), t(s, 'mobile')]).toEqual([90e6 / 8, 40e6 / 8]);
    now = Date.parse('2027-07-01T00:00:00+07:00');
    s = (await scrape(c.url)).samples;
    expect([t(s, 'fixed'), t(s, 'mobile')]).toEqual([90e6 / 8, 40e6 / 8]);
  });

  it('count accepted, duplicate and rejected results, by code and agent; observe speeds at the target edges', async () => {
    c = await startCollector({ config: config({ maxServerLabels: 2 }) });
    const a = c.app.repo.addAgent({ name: 'a', access: 'fixed' }, Date.now());
    const b = c.app.repo.addAgent({ name: 'b', access: 'mobile' }, Date.now());
    const fast = speedResult({ downBps: 90e6, serverId: 's1' }); // exactly the 2025 fixed target: le="11250000"
    const slow = speedResult({ downBps: 87.9e6, serverId: 's2' });
    const failed = speedResult({ status: 'error', serverId: 's3' });
    const bad = { ...speedResult({ downBps: 1 }), network: { access: 'satellite', family: 4 } };
    const r1 = await ingest(c.url, a.token, [fast, slow, failed, bad]);
    expect(r1.body.accepted).toHaveLength(3);
    const r2 = await ingest(c.url, a.token, [fast]);
    expect(r2.body.duplicate).toEqual([fast.id]);
    const stolen = await ingest(c.url, b.token, [slow, speedResult({ access: 'mobile', downBps: 35e6 })]);
    expect(stolen.body.rejected[0].code).toBe('HATANG_ERR_ID_TAKEN');

    const s = (await scrape(c.url)).samples;
    expect(one(s, 'hatang_ingest_results_total', { outcome: 'accepted' }).value).toBe(4);
    expect(one(s, 'hatang_ingest_results_total', { outcome: 'duplicate' }).value).toBe(1);
    expect(one(s, 'hatang_ingest_results_total', { outcome: 'rejected' }).value).toBe(2);
    // Admission: three requests served, none in flight or shed; a capacity measured from them.
    expect(one(s, 'hatang_ingest_in_flight', {}).value).toBe(0);
    expect(one(s, 'hatang_ingest_shed_total', { reason: 'in_flight' }).value).toBe(0);
    expect(one(s, 'hatang_ingest_shed_total', { reason: 'saturated' }).value).toBe(0);
    expect(one(s, 'hatang_ingest_saturated', {}).value).toBe(0);
    expect(one(s, 'hatang_ingest_capacity_requests_per_second', {}).value).toBeGreaterThan(0);
    expect(
      one(s, 'hatang_ingest_rejected_results_total', { agent: a.agent.id, code: 'HATANG_ERR_VALIDATION' }).value,
    ).toBe(1);
    expect(
      one(s, 'hatang_ingest_rejected_results_total', { agent: b.agent.id, code: 'HATANG_ERR_ID_TAKEN' }).value,
    ).toBe(1);
    // Only two server ids become labels; the third counts as "other".
    expect(one(s, 'hatang_server_tests_total', { server: 's1', kind: 'speed', status: 'ok' }).value).toBe(1);
    expect(one(s, 'hatang_server_tests_total', { server: 's2', kind: 'speed', status: 'ok' }).value).toBe(1);
    expect(one(s, 'hatang_server_tests_total', { server: 'other', kind: 'speed', status: 'error' }).value).toBe(1);
    expect(find(s, 'hatang_server_tests_total', { server: 's3' })).toEqual([]);

    const buckets = find(s, 'hatang_speed_test_download_bytes_per_second_bucket', { access: 'fixed' });
    const edges = buckets.map((x) => x.labels.le);
    for (const mbps of [33, 36, 40, 88, 89, 90]) expect(edges).toContain(String(mbps * 125_000));
    for (const mbps of [26.4, 28.8, 32, 70.4, 71.2, 72]) expect(edges).toContain(String(Math.round(mbps * 125_000)));
    expect(edges).toContain('11250000'); // 90 Mbit/s
    const le = (v: number) =>
      one(s, 'hatang_speed_test_download_bytes_per_second_bucket', { access: 'fixed', le: String(v) }).value;
    expect([le(88e6 / 8), le(89e6 / 8), le(90e6 / 8)]).toEqual([1, 1, 2]); // 87.9 ≤ 88; 90 ≤ 90 (le is inclusive)
    expect(one(s, 'hatang_speed_test_download_bytes_per_second_count', { access: 'fixed' }).value).toBe(2);
    expect(one(s, 'hatang_speed_test_download_bytes_per_second_count', { access: 'mobile' }).value).toBe(1);
  });
});

function rawGet(url: string, path: string) {
  return new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
    request(`${url}${path}`, { agent: false }, resolve).on('error', reject).end();
  });
}

describe('HTTP and speed-test server metrics', () => {
  it('label requests by route pattern, never by URL, and count speed-test bytes and outcomes', async () => {
    c = await startCollector({ config: config() });
    const down = await fetch(`${c.url}/speed/down?bytes=1000000`);
    expect((await down.arrayBuffer()).byteLength).toBe(1_000_000);
    const up = await fetch(`${c.url}/speed/up`, { method: 'POST', body: new Uint8Array(500_000) });
    expect(((await up.json()) as { bytes: number }).bytes).toBe(500_000);
    expect((await fetch(`${c.url}/speed/down?bytes=0`)).status).toBe(400);
    expect((await fetch(`${c.url}/no/such/path-12345?x=1`)).status).toBe(404);

    // A download the client abandons mid-way: counted as aborted, and no longer running.
    const res = await rawGet(c.url, '/speed/down?bytes=500000000');
    await new Promise((r) => res.once('data', r));
    const during = (await scrape(c.url)).samples;
    expect(one(during, 'hatang_speedtest_running', { endpoint: 'down' }).value).toBe(1);
    res.destroy();
    await expect
      .poll(async () => one((await scrape(c!.url)).samples, 'hatang_speedtest_running', { endpoint: 'down' }).value)
      .toBe(0);

    const { samples: s, text } = await scrape(c.url);
    expect(text).not.toContain('path-12345');
    expect(text).not.toContain('bytes=');
    const routes = new Set(find(s, 'hatang_http_request_duration_seconds_count').map((x) => x.labels.route));
    expect([...routes].sort()).toEqual(['/metrics', '/speed/down', '/speed/up', 'unmatched']);
    expect(
      one(s, 'hatang_http_request_duration_seconds_count', { route: '/speed/down', status_code: '400' }).value,
    ).toBe(1);
    expect(one(s, 'hatang_http_request_duration_seconds_count', { route: 'unmatched', status_code: '404' }).value).toBe(
      1,
    );
    const sent = one(s, 'hatang_speedtest_sent_bytes_total', { endpoint: 'down' }).value;
    // 1 MB complete + part of the abandoned one (at least the first chunk) + headers.
    expect(sent).toBeGreaterThan(1_000_000 + 1000);
    const received = one(s, 'hatang_speedtest_received_bytes_total', { endpoint: 'up' }).value;
    expect(received).toBeGreaterThanOrEqual(500_000 - 65_536);
    expect(received).toBeLessThan(500_000 + 2_000);
    expect(one(s, 'hatang_speedtest_requests_total', { endpoint: 'down', outcome: 'ok' }).value).toBe(1);
    expect(one(s, 'hatang_speedtest_requests_total', { endpoint: 'down', outcome: 'refused' }).value).toBe(1);
    expect(one(s, 'hatang_speedtest_requests_total', { endpoint: 'down', outcome: 'aborted' }).value).toBe(1);
    expect(one(s, 'hatang_speedtest_requests_total', { endpoint: 'up', outcome: 'ok' }).value).toBe(1);
  });

  it('the speed-test role serves its own /metrics: speed, HTTP and process metrics, nothing from a database', async () => {
    c = await startCollector({ config: config(), role: 'speedtest' });
    await fetch(`${c.url}/speed/ping`);
    const { status, samples: s } = await scrape(c.url);
    expect(status).toBe(200);
    const names = new Set(s.map((x) => x.name));
    expect(one(s, 'hatang_build_info').labels).toMatchObject({ role: 'speedtest' });
    expect(one(s, 'hatang_speedtest_requests_total', { endpoint: 'ping', outcome: 'ok' }).value).toBe(1);
    expect(names.has('process_cpu_seconds_total')).toBe(true);
    expect(names.has('nodejs_eventloop_lag_seconds')).toBe(true);
    expect([...names].filter((n) => /^hatang_(agent|unit|ingest|target|server)_/.test(n))).toEqual([]);
  });
});

describe('ndt7 server counters', () => {
  it('are read from app.ndt7.stats when the ndt7 server runs', async () => {
    const app = await buildApp({ role: 'speedtest', config: config() });
    // The ndt7 server decorates app.ndt7 with live counters; set known values on them.
    const stats = app.ndt7.stats as {
      active: number;
      started: number;
      finished: number;
      refused: Record<string, number>;
    };
    Object.assign(stats, { active: 2, started: 7, finished: 4, refused: { protocol: 1, auth: 0, busy: 3, query: 0 } });
    try {
      let s = parseProm((await app.inject('/metrics')).body);
      expect(one(s, 'hatang_speedtest_running', { endpoint: 'ndt7' }).value).toBe(2);
      expect(one(s, 'hatang_ndt7_subtests_total', { outcome: 'started' }).value).toBe(7);
      expect(one(s, 'hatang_ndt7_subtests_total', { outcome: 'refused_busy' }).value).toBe(3);
      stats.active = 0;
      stats.finished = 7;
      s = parseProm((await app.inject('/metrics')).body);
      expect(one(s, 'hatang_speedtest_running', { endpoint: 'ndt7' }).value).toBe(0);
      expect(one(s, 'hatang_ndt7_subtests_total', { outcome: 'finished' }).value).toBe(7);
    } finally {
      await app.close();
    }
  });

  it('are absent when ndt7 is turned off', async () => {
    const cfg = config();
    c = await startCollector({ config: { ...cfg, ndt7: { ...cfg.ndt7, enabled: false } }, role: 'speedtest' });
    const s = (await scrape(c.url)).samples;
    expect(find(s, 'hatang_speedtest_running', { endpoint: 'ndt7' })).toEqual([]);
    expect(find(s, 'hatang_ndt7_subtests_total')).toEqual([]);
  });
});

describe('auth for /metrics', () => {
  const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  const cfg = { ...COLLECTOR_CONFIG_DEFAULTS.metrics };

  it.each([
    ['no auth configured, no header', {}, undefined, true],
    ['bearer, right token', { bearerToken: 'x'.repeat(20) }, `Bearer ${'x'.repeat(20)}`, true],
    ['bearer, wrong token', { bearerToken: 'x'.repeat(20) }, `Bearer ${'y'.repeat(20)}`, false],
    ['bearer, no header', { bearerToken: 'x'.repeat(20) }, undefined, false],
    ['bearer, basic given', { bearerToken: 'x'.repeat(20) }, basic('x', 'x'.repeat(20)), false],
    ['basic, right', { basicUsername: 'prom', basicPassword: 'p'.repeat(12) }, basic('prom', 'p'.repeat(12)), true],
    [
      'basic, wrong user',
      { basicUsername: 'prom', basicPassword: 'p'.repeat(12) },
      basic('pro', 'p'.repeat(12)),
      false,
    ],
    ['basic, wrong password', { basicUsername: 'prom', basicPassword: 'p'.repeat(12) }, basic('prom', 'p'), false],
    ['basic, no colon', { basicUsername: 'prom', basicPassword: 'p'.repeat(12) }, 'Basic cHJvbQ==', false],
  ])('%s', (_name, auth, header, ok) => {
    expect(metricsAuthorized({ ...cfg, ...auth }, header)).toBe(ok);
  });

  it('answers 401 with WWW-Authenticate and the error shape, and 200 with the token', async () => {
    const token = 'tok-0123456789abcdef';
    c = await startCollector({ config: config({ bearerToken: token }) });
    const no = await scrape(c.url);
    expect(no.status).toBe(401);
    expect(no.headers.get('www-authenticate')).toBe('Bearer realm="hatang metrics"');
    expect(JSON.parse(no.text).error.code).toBe('HATANG_ERR_UNAUTHORIZED');
    expect((await scrape(c.url, { authorization: 'Bearer wrong-token-000000' })).status).toBe(401);
    const yes = await scrape(c.url, { authorization: `Bearer ${token}` });
    expect(yes.status).toBe(200);
    expect(yes.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // The health endpoints stay open.
    expect((await fetch(`${c.url}/healthz`)).status).toBe(200);
  });

  it('refuses a basic user without a password at start', async () => {
    await expect(buildApp({ config: config({ basicUsername: 'prom' }), dbPath: ':memory:' })).rejects.toMatchObject({
      code: 'HATANG_ERR_CONFIG',
      message: 'metrics.basicUsername and metrics.basicPassword must be set together',
    });
  });

  it('metrics.enabled=false serves no /metrics', async () => {
    c = await startCollector({ config: config({ enabled: false }) });
    expect((await fetch(`${c.url}/metrics`)).status).toBe(404);
  });
});
