import {
  createStatsService,
  downloadsOf,
  ingestEnvelope,
  rebuildRollups,
  type SpeedSeed,
  speedResult,
  startCollector,
  type TestCollector,
} from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS, localDayOf } from '@hatang/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const M = 1e6;
const hanoi = (local: string) => Date.parse(`${local.replace(' ', 'T')}:00+07:00`);

let c: TestCollector;
let admin: string;
const ids: Record<string, string> = {};

async function push(token: string, seeds: SpeedSeed[]) {
  const res = await fetch(`${c.url}/api/v1/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(ingestEnvelope(seeds.map(speedResult))),
  });
  const body = (await res.json()) as any;
  expect(res.status, JSON.stringify(body)).toBe(200);
  expect(body.rejected).toEqual([]);
  return body;
}

async function get(path: string, token: string | null = admin, headers: Record<string, string> = {}) {
  const res = await fetch(`${c.url}${path}`, {
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  return { status: res.status, body: (await res.json()) as any };
}

beforeAll(async () => {
  // The collector's clock: mid December 2026, after every seeded test (results from the future
  // are flagged implausible and left out).
  c = await startCollector({ now: () => hanoi('2026-12-15 12:00') });
  admin = c.adminToken();
  // A test-only reader resolver, as the dashboard adds its sessions: "x-test-viewer: 118" reads district 118.
  c.app.addReaderResolver((req) => {
    const v = req.headers['x-test-viewer'];
    return typeof v === 'string' ? { kind: 'test', id: v, name: v, admin: false, scope: { units: [v] } } : undefined;
  });
  // Commune 03646 (Phường Chiềng Lề, district 116 Thành phố Sơn La): two fixed agents.
  const a = c.addAgent('chieng-le-a', 'fixed', { communeCode: '03646', isp: 'VNPT' });
  const b = c.addAgent('chieng-le-b', 'fixed', { communeCode: '03646', isp: 'Viettel' });
  // Commune 03682 (Xã Mường Chiên, district 118 Quỳnh Nhai): one mobile agent.
  const m = c.addAgent('muong-chien', 'mobile', { communeCode: '03682', isp: 'Viettel' });
  ids.a = a.id;
  ids.b = b.id;
  ids.m = m.id;
  // Hand-computed table A of shared/src/stats/aggregate.test.ts: week 2026-W48.
  await push(a.token, [
    { at: hanoi('2026-11-23 09:00'), downMbps: 95, upMbps: 20, latencyMs: 10 },
    { at: hanoi('2026-11-23 20:00'), downMbps: 60, upMbps: 30, latencyMs: 12 },
    { at: hanoi('2026-11-24 10:00'), downMbps: 100, latencyMs: 11 },
    { at: hanoi('2026-11-25 21:00'), downMbps: 70, upMbps: 40 },
    // the week before: 2026-W47, median 50
    { at: hanoi('2026-11-16 09:00'), downMbps: 40 },
    { at: hanoi('2026-11-22 23:59'), downMbps: 60 },
    // not counted: failed, and partial
    { at: hanoi('2026-11-24 11:00'), downMbps: 1, status: 'error' },
    { at: hanoi('2026-11-24 12:00'), downMbps: 1, status: 'partial' },
  ]);
  await push(b.token, [
    { at: hanoi('2026-11-26 08:00'), downMbps: 88, upMbps: 10, latencyMs: 20 },
    { at: hanoi('2026-11-27 19:30'), downMbps: 72, upMbps: 50, latencyMs: 30 },
    { at: hanoi('2026-11-28 12:00'), downMbps: 92, upMbps: 60, latencyMs: 15 },
    { at: hanoi('2026-11-29 23:30'), downMbps: 40, upMbps: 25, latencyMs: 14 },
  ]);
  await push(m.token, [
    { at: hanoi('2026-11-24 09:00'), downMbps: 30, access: 'mobile' },
    { at: hanoi('2026-11-24 10:00'), downMbps: 50, access: 'mobile' },
  ]);
});

afterAll(async () => {
  await c.close();
});

describe('statistics API on seeded results', () => {
  it('a commune row matches the hand-computed table', async () => {
    const r = await get('/api/v1/stats/units?period=week&at=2026-W48&level=commune&parent=116&access=fixed');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.period).toMatchObject({
      key: '2026-W48',
      year: 2026,
      start: '2026-11-23T00:00:00+07:00',
      end: '2026-11-30T00:00:00+07:00',
    });
    expect(r.body.rows).toHaveLength(12); // the 12 communes of Thành phố Sơn La
    const row = r.body.rows.find((x: any) => x.unit.code === '03646');
    expect(row.unit).toEqual({
      code: '03646',
      name: 'Phường Chiềng Lề',
      type: 'Phường',
      level: 'commune',
      parentCode: '116',
    });
    expect(row).toMatchObject({
      access: 'fixed',
      samples: 8,
      agents: 2,
      uploadMedian: 30 * M,
      latencyMedian: 14,
      target: 90 * M,
      attained: false,
      shareAtTarget: 3 / 8,
      shareAt80: 5 / 8,
      sampleFloor: 70,
      lowSamples: true,
      office: { samples: 4, median: 93.5 * M },
      evening: { samples: 3, median: 70 * M },
      previous: { samples: 2, median: 50 * M },
      change: { delta: 30 * M },
    });
    expect(row.change.ratio).toBeCloseTo(0.6, 12);
    expect(row.download.median).toBe(80 * M);
    expect(row.download.mean).toBeCloseTo(77.125 * M, 0);
    const empty = r.body.rows.find((x: any) => x.unit.code === '03649');
    expect(empty).toMatchObject({ samples: 0, agents: 0, download: { median: null }, lowSamples: true, change: null });
  });

  it('districts and the province add their communes up; access types stay apart', async () => {
    const d = await get('/api/v1/stats/units?at=2026-W48&level=district');
    expect(d.status).toBe(200);
    const row = (code: string, access: string) =>
      d.body.rows.find((x: any) => x.unit.code === code && x.access === access);
    expect(d.body.rows).toHaveLength(12 * 2);
    expect(row('116', 'fixed')).toMatchObject({ samples: 8, agents: 2, download: { median: 80 * M } });
    expect(row('116', 'mobile')).toMatchObject({ samples: 0 });
    expect(row('118', 'mobile')).toMatchObject({ samples: 2, agents: 1, download: { median: 40 * M }, target: 40 * M });
    const p = await get('/api/v1/stats/units?at=2026-W48&level=province&access=mobile');
    expect(p.body.rows).toEqual([
      expect.objectContaining({ unit: expect.objectContaining({ code: '14' }), samples: 2 }),
    ]);
  });

  it('per agent first, and split by ISP', async () => {
    const r = await get('/api/v1/stats/units?at=2026-W48&level=commune&parent=116&access=fixed&perAgent=true');
    expect(r.body.rows.find((x: any) => x.unit.code === '03646').download.median).toBe(81.25 * M);
    const i = await get('/api/v1/stats/units?at=2026-W48&level=district&parent=14&access=fixed&byIsp=true');
    const rows116 = i.body.rows.filter((x: any) => x.unit.code === '116');
    expect(rows116.map((x: any) => [x.isp, x.samples, x.download.median])).toEqual([
      ['VNPT', 4, 82.5 * M], // 60 70 95 100
      ['Viettel', 4, 80 * M], // 40 72 88 92
    ]);
    const v = await get('/api/v1/stats/units?at=2026-W48&level=district&access=fixed&isp=VNPT');
    expect(v.body.rows.find((x: any) => x.unit.code === '116')).toMatchObject({ isp: 'VNPT', samples: 4 });
  });

  it('a month report uses the 300-sample floor', async () => {
    const r = await get('/api/v1/stats/units?period=month&at=2026-11&level=commune&parent=116&access=fixed');
    const row = r.body.rows.find((x: any) => x.unit.code === '03646');
    expect(row).toMatchObject({ samples: 10, sampleFloor: 300, lowSamples: true });
    expect(r.body.previousPeriod.key).toBe('2026-10');
  });

  it("a commune's trend, with empty weeks and week-over-week change", async () => {
    const r = await get('/api/v1/stats/trend?unit=03646&access=fixed&weeks=3&at=2026-W49');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const pts = r.body.series[0].points;
    expect(r.body.series.map((s: any) => s.access)).toEqual(['fixed']);
    expect(pts.map((p: any) => [p.period.key, p.samples, p.download.median])).toEqual([
      ['2026-W47', 2, 50 * M],
      ['2026-W48', 8, 80 * M],
      ['2026-W49', 0, null],
    ]);
    expect(pts[1].change.delta).toBe(30 * M);
    expect(pts[1].change.ratio).toBeCloseTo(0.6, 12);
    expect(pts[2].change).toBeNull();
  });

  it('a cached report is recomputed when a result for its week arrives', async () => {
    const q = '/api/v1/stats/units?at=2026-W48&level=commune&parent=118&access=mobile';
    const before = (await get(q)).body.rows.find((x: any) => x.unit.code === '03682');
    expect(before.samples).toBe(2);
    const cached = (await get(q)).body.rows.find((x: any) => x.unit.code === '03682');
    expect(cached).toEqual(before);
    const extra = c.addAgent('muong-chien-2', 'mobile', { communeCode: '03682' });
    await push(extra.token, [{ at: hanoi('2026-11-25 10:00'), downMbps: 70, access: 'mobile' }]);
    const after = (await get(q)).body.rows.find((x: any) => x.unit.code === '03682');
    expect(after).toMatchObject({ samples: 3, agents: 2, download: { median: 50 * M } }); // 30 50 70
    const trend = await get('/api/v1/stats/trend?unit=03682&access=mobile&weeks=1&at=2026-W48');
    expect(trend.body.series[0].points[0].samples).toBe(3);
  });

  it('large-unit trends and reports read the per-period figures, warmed up or not, with the same answers', async () => {
    const direct = (await get('/api/v1/stats/trend?unit=116&access=fixed&weeks=3&at=2026-W49')).body;
    const report = c.app.stats.units({ period: 'week', at: '2026-W48', level: 'commune', parent: '116' });
    c.app.stats.invalidate();
    const n = await c.app.stats.warmUp({ weeks: 6, months: 2 });
    // the same report with the week before computed in full (not the lighter pass)
    expect(c.app.stats.units({ period: 'week', at: '2026-W48', level: 'commune', parent: '116' })).toEqual(report);
    expect(n).toBe(8);
    const warm = c.app.stats.trend({ unit: '116', access: 'fixed', count: 3, at: '2026-W49' });
    expect(warm.series[0]?.points.map((p) => [p.period.key, p.samples, p.download.median])).toEqual([
      ['2026-W47', 2, 50 * M],
      ['2026-W48', 8, 80 * M],
      ['2026-W49', 0, null],
    ]);
    expect(JSON.parse(JSON.stringify(warm))).toEqual(direct);
  });

  it('recomputes the weeks and months ingest touched in the background', async () => {
    const refreshed: number[] = [];
    const svc = createStatsService({
      db: c.app.db,
      targets: COLLECTOR_CONFIG_DEFAULTS.targets,
      now: () => hanoi('2026-12-15 12:00'),
      refreshDelayMs: 5,
      onRefresh: (n) => refreshed.push(n),
    });
    svc.touch([localDayOf(hanoi('2026-11-24 10:00')), localDayOf(hanoi('2026-11-25 10:00'))]);
    await svc.settled();
    expect(refreshed).toEqual([2]); // week 2026-W48 and month 2026-11
    svc.touch([localDayOf(hanoi('2026-12-01 10:00'))]);
    svc.close();
    await svc.settled();
    expect(refreshed).toEqual([2]); // closed: nothing more runs
  });

  it('rollups kept at ingest equal rollups rebuilt from raw results', async () => {
    const dump = () =>
      c.app.db
        .prepare(
          `SELECT l.agent_id, p.kind, p.first_day, l.access, l.isp, p.n, hex(p.samples) AS s
           FROM rollup_periods p JOIN rollup_lines l USING (line) ORDER BY l.agent_id, p.kind, p.first_day, l.access, l.isp`,
        )
        .all() as any[];
    const before = dump();
    expect(downloadsMismatch()).toEqual([]);
    const d0 = localDayOf(hanoi('2026-11-01 00:00'));
    rebuildRollups(c.app.db, d0, d0 + 60);
    c.app.stats.invalidate();
    // Order of samples inside a day may differ; compare sorted tuples.
    const norm = (rows: any[]) => rows.map((r) => ({ ...r, s: (r.s.match(/.{64}/g) ?? []).sort().join('') }));
    expect(norm(dump())).toEqual(norm(before));
    expect(downloadsMismatch()).toEqual([]);
    // 6 + 4 + 3 counted tests (the failed and the partial one are not), once in weeks, once in months
    expect(before.filter((r) => r.kind === 'week').reduce((n, r) => n + r.n, 0)).toBe(13);
    expect(before.filter((r) => r.kind === 'month').reduce((n, r) => n + r.n, 0)).toBe(13);
  });
});

/** Rows where rollup_downloads is not the download figures of rollup_periods (or is missing). */
function downloadsMismatch() {
  const rows = c.app.db
    .prepare(
      `SELECT p.kind, p.first_day, p.line, p.samples, d.down FROM rollup_periods p
         LEFT JOIN rollup_downloads d USING (kind, first_day, line)`,
    )
    .all() as { kind: string; first_day: number; line: number; samples: Buffer; down: Buffer | null }[];
  const extra = c.app.db
    .prepare(
      `SELECT count(*) AS n FROM rollup_downloads d
        WHERE NOT EXISTS (SELECT 1 FROM rollup_periods p WHERE p.kind = d.kind AND p.first_day = d.first_day AND p.line = d.line)`,
    )
    .get() as { n: number };
  return [
    ...rows
      .filter((r) => !r.down || !downloadsOf(r.samples).equals(r.down))
      .map((r) => `${r.kind} ${r.first_day} ${r.line}`),
    ...(extra.n ? [`${extra.n} rows without rollup`] : []),
  ];
}

describe('headline figures (dashboard trends, the period before) from the download figures alone', () => {
  const at = '2026-W49';
  const head = (p: any) => ({
    key: p.period.key,
    samples: p.samples,
    median: p.download.median,
    target: p.target,
    attained: p.attained,
    attainment: p.attainment,
    sampleFloor: p.sampleFloor,
    lowSamples: p.lowSamples,
    change: p.change,
  });
  const heads = (r: { series: { access: string; points: any[] }[] }) =>
    r.series.map((s) => ({ access: s.access, points: s.points.map(head) }));
  const service = (ownLinesShare: number) =>
    createStatsService({
      db: c.app.db,
      targets: COLLECTOR_CONFIG_DEFAULTS.targets,
      now: () => hanoi('2026-12-15 12:00'),
      ownLinesShare,
    });

  it('equal the full trends for communes, districts and the province: own lines or whole periods, warmed up or not', async () => {
    const province = c.app.stats
      .tree()
      .all()
      .find((u) => u.level === 'province')?.code as string;
    const units = ['03646', '03682', '116', '118', province];
    for (const perAgent of [false, true]) {
      const full = service(0.5);
      const expected = new Map(units.map((u) => [u, heads(full.trend({ unit: u, count: 6, at, perAgent }))]));
      // Some weeks have tests (W47, W48), and the expectation is not trivially empty.
      expect(expected.get(province)?.[0]?.points.filter((p) => p.samples > 0).length).toBe(2);
      for (const share of [0, 1]) {
        const svc = service(share);
        for (const u of units)
          expect(heads(svc.headlineTrend({ unit: u, count: 6, at, perAgent }))).toEqual(expected.get(u));
        svc.invalidate();
        const batch = svc.headlineTrends({ units, count: 6, at, perAgent });
        for (const u of units) expect(heads(batch.get(u) as any)).toEqual(expected.get(u));
      }
      const warm = service(0);
      await warm.warmUp({ weeks: 8, months: 0 });
      for (const u of units)
        expect(heads(warm.headlineTrend({ unit: u, count: 6, at, perAgent }))).toEqual(expected.get(u));
    }
  });

  it("the headline units report is the full report's headline fields, every level, fresh or warmed up; a few units' full report from their own lines", async () => {
    const province = c.app.stats
      .tree()
      .all()
      .find((u) => u.level === 'province')?.code as string;
    const pick = (r: any) => ({
      unit: r.unit,
      access: r.access,
      isp: r.isp,
      ...head({ ...r, period: { key: '' } }),
      previous: r.previous,
    });
    for (const perAgent of [false, true]) {
      for (const [level, parent] of [
        ['commune', '116'],
        ['commune', null],
        ['district', province],
        ['province', null],
      ] as const) {
        for (const at of ['2026-W47', '2026-W48', '2026-W49']) {
          const q = { period: 'week' as const, at, level, parent, perAgent };
          const full = service(0).units(q);
          // The same full report from the units' own lines (ownLinesShare 1) as from every unit of the level.
          expect(service(1).units(q)).toEqual(full);
          const fresh = service(0).headlineUnits(q);
          expect(fresh.rows.map(pick)).toEqual(full.rows.map(pick));
          expect(fresh.rows.length).toBeGreaterThan(0);
          const warm = service(0);
          await warm.warmUp({ weeks: 4, months: 0 });
          expect(warm.headlineUnits(q).rows.map(pick)).toEqual(full.rows.map(pick));
        }
      }
    }
    // Scope: a district viewer's rows only.
    const scoped = service(0).headlineUnits({
      period: 'week',
      at: '2026-W48',
      level: 'commune',
      scope: { units: ['118'] },
    });
    expect(new Set(scoped.rows.map((r) => r.unit.parentCode))).toEqual(new Set(['118']));
  });

  it("a report's period before is the same from the download figures or the full figures", async () => {
    for (const perAgent of [false, true]) {
      const svc = service(0);
      const q = { period: 'week' as const, at: '2026-W48', level: 'commune' as const, parent: null, perAgent };
      const light = svc.units(q);
      svc.invalidate();
      await svc.warmUp({ weeks: 4, months: 0 });
      expect(svc.units(q)).toEqual(light);
      // W47: one agent's 40 and 60 (per agent first: that agent's median, the same 50).
      expect(light.rows.find((r) => r.unit.code === '03646' && r.access === 'fixed')?.previous).toEqual({
        samples: 2,
        median: 50 * M,
      });
    }
  });
});

describe('read access', () => {
  it('needs a credential', async () => {
    const r = await get('/api/v1/stats/units?at=2026-W48', null);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('HATANG_ERR_UNAUTHORIZED');
    const bad = await get('/api/v1/stats/units', 'hta1_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(bad.status).toBe(401);
  });

  it('a district viewer reads their district and never another', async () => {
    const viewer = { 'x-test-viewer': '118' };
    const own = await get('/api/v1/stats/units?at=2026-W48&level=commune&parent=118', null, viewer);
    expect(own.status).toBe(200);
    expect(own.body.rows.length).toBeGreaterThan(0);
    expect(own.body.rows.every((x: any) => x.unit.parentCode === '118')).toBe(true);
    const other = await get('/api/v1/stats/units?at=2026-W48&level=commune&parent=116', null, viewer);
    expect(other.status).toBe(403);
    const all = await get('/api/v1/stats/units?at=2026-W48&level=commune', null, viewer);
    expect(all.body.rows.every((x: any) => x.unit.parentCode === '118')).toBe(true);
    const districts = await get('/api/v1/stats/units?at=2026-W48&level=district', null, viewer);
    expect([...new Set(districts.body.rows.map((x: any) => x.unit.code))]).toEqual(['118']);
    const province = await get('/api/v1/stats/units?at=2026-W48&level=province', null, viewer);
    expect(province.body.rows).toEqual([]);
    expect((await get('/api/v1/stats/trend?unit=03646', null, viewer)).status).toBe(403);
    expect((await get('/api/v1/stats/trend?unit=03682&weeks=2', null, viewer)).status).toBe(200);
  });

  it('answers bad parameters with 4xx naming them', async () => {
    const typo = await get('/api/v1/stats/units?acess=fixed');
    expect(typo.status).toBe(400);
    expect(typo.body.error.message).toMatch(/acess/);
    expect((await get('/api/v1/stats/units?period=year')).status).toBe(400);
    expect((await get('/api/v1/stats/units?at=2025-W53')).status).toBe(400);
    expect((await get('/api/v1/stats/units?period=month&at=2026-W48')).status).toBe(400);
    expect((await get('/api/v1/stats/trend?unit=99999')).status).toBe(404);
    expect((await get('/api/v1/stats/trend?unit=03646&weeks=9999')).status).toBe(400);
    expect((await get("/api/v1/stats/trend?unit=1' OR '1'='1")).status).toBe(400);
    expect((await get('/api/v1/stats/units?parent=nope')).status).toBe(404);
  });
});
