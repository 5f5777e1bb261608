import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTOR_CONFIG_DEFAULTS, type Ipv6Body } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../app.js';
import { importUnits } from '../geography/units.js';
import { createAdminTokenRepo } from '../storage/admin-tokens.js';
import { ipv6Status } from './status.js';
import { syncIpv6 } from './sync.js';

type Checks = Ipv6Body['targets'][number]['checks'];

/** A target that answered over IPv6 (and over IPv4 when v4 is given). */
const ok6 = (v4: number | null, v6: number, he: 4 | 6 = 6): Checks => [
  { check: 'dns-a', status: v4 === null ? 'fail' : 'pass', ms: 1, ...(v4 === null ? { code: 'NODATA' } : {}) },
  { check: 'dns-aaaa', status: 'pass', ms: 1 },
  v4 === null ? { check: 'tcp-v4', status: 'skip', code: 'NO_A' } : { check: 'tcp-v4', status: 'pass', ms: v4 },
  { check: 'tcp-v6', status: 'pass', ms: v6, family: 6 },
  { check: 'http-v6', status: 'pass', ms: v6 * 2, family: 6, httpStatus: 200 },
  { check: 'happy-eyeballs', status: 'pass', ms: v6, family: he },
  { check: 'pmtu-v6', status: 'pass', ms: v6 * 2, family: 6, httpStatus: 200 },
];

/** A target IPv6 did not reach: `code` at `where`; IPv4 connected in v4 ms. */
const fail6 = (v4: number, code: string, where: 'dns-aaaa' | 'tcp-v6' | 'http-v6'): Checks => [
  { check: 'dns-a', status: 'pass', ms: 1 },
  where === 'dns-aaaa'
    ? { check: 'dns-aaaa', status: 'fail', code, ms: 1 }
    : { check: 'dns-aaaa', status: 'pass', ms: 1 },
  { check: 'tcp-v4', status: 'pass', ms: v4, family: 4 },
  where === 'http-v6'
    ? { check: 'tcp-v6', status: 'pass', ms: 9, family: 6 }
    : { check: 'tcp-v6', status: 'fail', code: where === 'dns-aaaa' ? 'NO_AAAA' : code },
  where === 'http-v6'
    ? { check: 'http-v6', status: 'fail', code, ms: 15000 }
    : { check: 'http-v6', status: 'skip', code: where === 'dns-aaaa' ? 'NO_AAAA' : code },
  { check: 'happy-eyeballs', status: 'pass', ms: v4, family: 4 },
  { check: 'pmtu-v6', status: 'skip', code },
];

const placeholder = { name: 'dich-vu-cong', checks: [{ check: 'config', status: 'skip', code: 'NOT_CONFIGURED' }] };

function result(startedAt: string, ready: boolean, targets: Record<string, Checks>, extra: object[] = []) {
  return {
    id: uuidv7(),
    kind: 'ipv6',
    startedAt,
    // A boot the collector has not seen: the agent's wall time is kept as the measurement time.
    clock: { bootId: 'earlier-boot', uptimeMs: 1000 },
    durationMs: 900,
    status: 'ok',
    network: { access: 'fixed', family: 6 },
    bytesUsed: 4000,
    agentVersion: '0.1.0',
    ipv6: {
      host: { globalAddress: ready, defaultRoute: ready },
      targets: [...Object.entries(targets).map(([name, checks]) => ({ name, checks })), ...extra],
    },
  };
}

/** A speed result over one family (the IPv6 report compares download over IPv4 and IPv6). */
function speed(startedAt: string, family: 4 | 6, bps: number) {
  return {
    id: uuidv7(),
    kind: 'speed',
    startedAt,
    clock: { bootId: 'earlier-boot', uptimeMs: 1000 },
    durationMs: 20000,
    status: 'ok',
    network: { access: 'fixed', family },
    bytesUsed: 1e8,
    agentVersion: '0.1.0',
    speed: {
      profile: 'fixed',
      download: { bps, bytes: 1e8, durationMs: 10000, warmupMs: 1500, streams: 8, stopReason: 'window' },
    },
  };
}

let dir: string;
let app: FastifyInstance;
/** The report and its CSV need a reader (admin token or dashboard session). */
let reader: { authorization: string };
const NOW = Date.parse('2025-02-14T05:00:00Z'); // Friday of 2025-W07

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-ipv6-'));
  // No unit list: communes stay unnamed unless a test imports units.
  const config = { ...COLLECTOR_CONFIG_DEFAULTS, geography: { loadDefaultUnits: false } };
  app = await buildApp({ dbPath: join(dir, 'hatang.db'), now: () => NOW, config });
  reader = { authorization: `Bearer ${createAdminTokenRepo(app.db).create('test', NOW).token}` };
});
afterEach(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

function agent(name: string, communeCode: string | null, createdAt: number) {
  return app.repo.addAgent({ name, access: 'fixed', communeCode }, createdAt);
}

async function push(token: string, results: object[]) {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/results',
    headers: { authorization: `Bearer ${token}` },
    payload: { schema: 1, sentAt: new Date(NOW).toISOString(), clock: { bootId: 'now-boot', uptimeMs: 5000 }, results },
  });
  expect(res.statusCode).toBe(200);
  expect(res.json().accepted).toHaveLength(results.length);
}

/** The hand-computed scenario of the expectations below. */
async function scenario() {
  const a1 = agent('chieng-le-1', '03646', 1);
  const a2 = agent('chieng-le-2', '03646', 2);
  const a3 = agent('to-hieu', '03649', 3);
  const a4 = agent('unassigned', null, 4);
  await push(a1.token, [
    result('2025-02-10T03:00:00Z', true, { portal: ok6(10, 12), collector: ok6(1, 2) }, [placeholder]),
    result('2025-02-11T03:00:00Z', true, { portal: fail6(20, 'TIMEOUT', 'http-v6'), collector: ok6(3, 4) }, [
      placeholder,
    ]),
  ]);
  await push(a1.token, [
    speed('2025-02-10T04:00:00Z', 4, 40e6),
    speed('2025-02-10T06:00:00Z', 4, 60e6),
    speed('2025-02-17T04:00:00Z', 6, 1e6), // week 8: not counted
  ]);
  await push(a2.token, [speed('2025-02-12T04:00:00Z', 6, 50e6)]);
  await push(a2.token, [
    result('2025-02-12T03:00:00Z', false, {
      portal: fail6(30, 'ENETUNREACH', 'tcp-v6'),
      collector: fail6(5, 'ENETUNREACH', 'tcp-v6'),
    }),
  ]);
  await push(a3.token, [
    // Sunday 23:59 local time: still week 7.
    result('2025-02-16T16:59:00Z', true, { portal: fail6(40, 'NODATA', 'dns-aaaa'), collector: ok6(6, 7) }),
    // Monday 00:00 local time: week 8, not counted.
    result('2025-02-16T17:00:00Z', false, { portal: fail6(99, 'ENETUNREACH', 'tcp-v6') }),
    // Week 6: last week's figures.
    result('2025-02-05T03:00:00Z', true, { portal: ok6(8, 9) }),
  ]);
  await push(a4.token, [result('2025-02-13T03:00:00Z', true, { portal: ok6(1, 1) })]);
  return { a1, a2, a3, a4 };
}

describe('IPv6 observations', () => {
  it('are synced incrementally from stored results', async () => {
    await scenario();
    expect(syncIpv6(app.db)).toBe(7);
    expect(syncIpv6(app.db)).toBe(0);
    expect(app.db.prepare('SELECT count(*) FROM ipv6_host_obs').pluck().get()).toBe(7);
    // one row per result and target: a1 2 × 3 (with the placeholder), a2 2, a3 2 + 1 + 1, a4 1 = 13
    expect(app.db.prepare('SELECT count(*) FROM ipv6_target_obs').pluck().get()).toBe(13);
    const a5 = agent('late', '03646', 5);
    await push(a5.token, [result('2025-02-14T03:00:00Z', true, { portal: ok6(2, 3) })]);
    expect(syncIpv6(app.db)).toBe(1);
  });
});

describe('GET /api/v1/stats/ipv6', () => {
  it('gives per-target and per-commune figures for the week (hand-computed)', async () => {
    await scenario();
    const res = await app.inject({ url: '/api/v1/stats/ipv6?week=2025-W07', headers: reader });
    expect(res.statusCode).toBe(200);
    const r = res.json();
    expect(r).toMatchObject({
      week: '2025-W07',
      from: '2025-02-10T00:00:00+07:00',
      to: '2025-02-17T00:00:00+07:00',
      previousWeek: '2025-W06',
      communesReporting: 2,
      communesIpv6Present: 2, // 03646: 2 of 3 results ready; 03649: 1 of 1
      shareIpv6Present: 1,
      prevShareIpv6Present: 1,
      agents: 4,
      results: 5,
      unassigned: { agents: 1, results: 1 },
    });
    expect(r.targets).toEqual([
      {
        name: 'collector',
        communesChecked: 2,
        communesV6: 2, // 03646: 2 of 3 checks; 03649: 1 of 1
        shareV6: 1,
        communesAaaa: 2,
        shareAaaa: 1,
        communesPmtuTrouble: 0,
        v4ConnectMedianMs: 4.5, // medians: 03646 (1, 3, 5) = 3; 03649 6
        v6ConnectMedianMs: 5, // 03646 (2, 4) = 3; 03649 7
        happyEyeballsV6Share: 0.75, // 6, 6, 4, 6
        agents: 3,
        results: 4,
        failCodes: [{ code: 'ENETUNREACH', count: 1 }],
        prevShareV6: null,
      },
      {
        name: 'portal',
        communesChecked: 2,
        communesV6: 0, // 03646: 1 of 3; 03649: 0 of 1
        shareV6: 0,
        communesAaaa: 1,
        shareAaaa: 0.5,
        communesPmtuTrouble: 0,
        v4ConnectMedianMs: 30, // 03646 (10, 20, 30) = 20; 03649 40
        v6ConnectMedianMs: 10.5, // 03646 (12, 9) = 10.5; 03649 none
        happyEyeballsV6Share: 0.25,
        agents: 4,
        results: 5,
        failCodes: [
          { code: 'ENETUNREACH', count: 1 },
          { code: 'NODATA', count: 1 },
          { code: 'TIMEOUT', count: 1 },
        ],
        prevShareV6: 1,
      },
    ]);
    expect(r.communes).toEqual([
      expect.objectContaining({
        code: '03646',
        name: null,
        districtCode: null,
        districtName: null,
        agents: 2,
        results: 3,
        ipv6PresentShare: 2 / 3,
        ipv6Present: true,
        v4ConnectMedianMs: 7.5, // 10, 20, 30, 1, 3, 5
        v6ConnectMedianMs: 6.5, // 12, 9, 2, 4
        targetsChecked: 2,
        targetsV6: 1,
      }),
      expect.objectContaining({
        code: '03649',
        agents: 1,
        results: 1,
        ipv6Present: true,
        v4ConnectMedianMs: 23, // 40, 6
        v6ConnectMedianMs: 7,
        targetsChecked: 2,
        targetsV6: 1,
      }),
    ]);
    // Speed over each family: 03646 ran two tests over IPv4 (40, 60 Mbit/s) and one over IPv6 (50).
    expect(r.communes[0].speed).toEqual({
      v4Tests: 2,
      v6Tests: 1,
      v4DownloadMedianBps: 50e6,
      v6DownloadMedianBps: 50e6,
    });
    expect(r.communes[1].speed).toEqual({
      v4Tests: 0,
      v6Tests: 0,
      v4DownloadMedianBps: null,
      v6DownloadMedianBps: null,
    });
    expect(r.communes[0].targets).toEqual([
      { name: 'collector', results: 3, v6OkShare: 2 / 3, v6Reachable: true, aaaa: true, topCode: 'ENETUNREACH' },
      { name: 'portal', results: 3, v6OkShare: 1 / 3, v6Reachable: false, aaaa: true, topCode: 'ENETUNREACH' },
    ]);
  });

  it('names communes and districts from the units table when the geography migration made one', async () => {
    await scenario();
    importUnits(
      app.db,
      [
        { code: '14', name: 'Tỉnh Sơn La', type: 'Tỉnh', level: 'province', parentCode: null },
        { code: '116', name: 'Thành phố Sơn La', type: 'Thành phố', level: 'district', parentCode: '14' },
        { code: '03646', name: 'Phường Chiềng Lề', type: 'Phường', level: 'commune', parentCode: '116' },
      ],
      { effectiveAt: 0, now: NOW, source: 'test' },
    );
    const r = (await app.inject({ url: '/api/v1/stats/ipv6?week=2025-W07', headers: reader })).json();
    expect(r.communes.map((c: any) => [c.code, c.name, c.districtCode, c.districtName])).toEqual([
      ['03646', 'Phường Chiềng Lề', '116', 'Thành phố Sơn La'],
      ['03649', null, null, null],
    ]);
  });

  it('defaults to the current week and answers an empty week with nulls', async () => {
    const r = (await app.inject({ url: '/api/v1/stats/ipv6', headers: reader })).json();
    expect(r).toMatchObject({ week: '2025-W07', communesReporting: 0, shareIpv6Present: null, targets: [] });
  });

  it.each(['2025-7', '2025-W54', 'last'])('rejects week=%s with a message saying what a week looks like', async (w) => {
    const res = await app.inject({ url: `/api/v1/stats/ipv6?week=${w}`, headers: reader });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code: 'HATANG_ERR_VALIDATION' });
    expect(res.json().error.message).toContain('2025-W07');
  });
});

describe('GET /api/v1/export/ipv6.csv', () => {
  it('exports one row per commune and target, Vietnamese by default, with a BOM', async () => {
    await scenario();
    const res = await app.inject({ url: '/api/v1/export/ipv6.csv?week=2025-W07', headers: reader });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toBe('attachment; filename="hatang-ipv6-2025-W07.csv"');
    expect(res.body.startsWith('\uFEFF')).toBe(true);
    const lines = res.body.slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^Tuần,Mã xã,Tên xã,/);
    expect(lines.slice(1)).toEqual([
      '2025-W07,03646,,,,3,có,66.7,7.5,6.5,50,50,collector,có,có,66.7,ENETUNREACH',
      '2025-W07,03646,,,,3,có,66.7,7.5,6.5,50,50,portal,có,không,33.3,ENETUNREACH',
      '2025-W07,03649,,,,1,có,100,23,7,,,collector,có,có,100,',
      '2025-W07,03649,,,,1,có,100,23,7,,,portal,không,không,0,NODATA',
    ]);
  });

  it('speaks English on request and keeps spreadsheet formulas out', async () => {
    const a = agent('x', '@SUM(A1)', 1);
    await push(a.token, [result('2025-02-10T03:00:00Z', true, { '-1': ok6(1, 2) })]);
    const res = await app.inject({ url: '/api/v1/export/ipv6.csv?week=2025-W07&lang=en', headers: reader });
    const lines = res.body.slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^week,commune_code,commune_name,/);
    expect(lines[1]).toBe("2025-W07,'@SUM(A1),,,,1,yes,100,1,2,,,'-1,yes,yes,100,");
  });

  it('rejects an unknown language', async () => {
    const res = await app.inject({ url: '/api/v1/export/ipv6.csv?lang=fr', headers: reader });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.message).toBe('lang must be vi or en; got "fr"');
  });
});

describe('ipv6Status (for /metrics)', () => {
  it("gives each active agent's latest result, configured target names only", async () => {
    const { a1, a2, a3, a4 } = await scenario();
    app.repo.revokeAgent(a2.agent.id, NOW);
    const s = ipv6Status(app.db);
    expect(s.map((x) => [x.agentId, x.communeCode, x.ipv6Present, new Date(x.at).toISOString()])).toEqual([
      [a1.agent.id, '03646', true, '2025-02-11T03:00:00.000Z'],
      [a3.agent.id, '03649', false, '2025-02-16T17:00:00.000Z'],
      [a4.agent.id, null, true, '2025-02-13T03:00:00.000Z'],
    ]);
    expect(s[0]!.targets).toEqual([
      {
        name: 'portal',
        v6Reachable: false,
        aaaa: true,
        v4ConnectMs: 20,
        v6ConnectMs: 9,
        happyEyeballsFamily: 4,
        pmtuOk: null,
        code: 'TIMEOUT',
        checks: {
          'dns-a': 'pass',
          'dns-aaaa': 'pass',
          'tcp-v4': 'pass',
          'tcp-v6': 'pass',
          'http-v6': 'fail',
          'happy-eyeballs': 'pass',
          'pmtu-v6': 'skip',
        },
      },
      expect.objectContaining({ name: 'collector', v6Reachable: true, v4ConnectMs: 3, v6ConnectMs: 4 }),
    ]);
    // the placeholder target is left out
    expect(s.flatMap((x) => x.targets.map((t) => t.name))).not.toContain('dich-vu-cong');
  });
});
