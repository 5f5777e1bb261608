import { describe, expect, it } from 'vitest';
import type { Ipv6Body } from '../schemas/results.js';
import { type Ipv6HostObs, type Ipv6TargetObs, ipv6Report, ipv6TargetFacts, speedByFamily } from './ipv6.js';

describe('ipv6TargetFacts', () => {
  const body: Ipv6Body = {
    host: { globalAddress: true, defaultRoute: true },
    targets: [
      {
        name: 'ds',
        checks: [
          { check: 'dns-a', status: 'pass', ms: 2, family: 4 },
          { check: 'dns-aaaa', status: 'pass', ms: 3, family: 6 },
          { check: 'tcp-v4', status: 'pass', ms: 10, family: 4 },
          { check: 'tcp-v6', status: 'slow', ms: 6000, family: 6 },
          { check: 'http-v6', status: 'pass', ms: 20, family: 6, httpStatus: 200 },
          { check: 'happy-eyeballs', status: 'pass', ms: 11, family: 4 },
          { check: 'pmtu-v6', status: 'fail', code: 'PMTU_BLACKHOLE', ms: 15000, family: 6 },
        ],
      },
      {
        name: 'v4only',
        checks: [
          { check: 'dns-a', status: 'pass', ms: 2 },
          { check: 'dns-aaaa', status: 'fail', code: 'NODATA', ms: 2 },
          { check: 'tcp-v4', status: 'fail', code: 'ENETUNREACH', ms: 0 },
          { check: 'tcp-v6', status: 'fail', code: 'NO_AAAA' },
          { check: 'http-v6', status: 'skip', code: 'NO_AAAA' },
          { check: 'happy-eyeballs', status: 'fail', code: 'ENETUNREACH' },
          { check: 'pmtu-v6', status: 'skip', code: 'NO_AAAA' },
        ],
      },
      {
        name: 'broken',
        checks: [
          { check: 'dns-aaaa', status: 'pass', ms: 1 },
          { check: 'tcp-v6', status: 'pass', ms: 5 },
          { check: 'http-v6', status: 'fail', code: 'HTTP_503', httpStatus: 503, ms: 9 },
        ],
      },
      { name: 'placeholder', checks: [{ check: 'config', status: 'skip', code: 'NOT_CONFIGURED' }] },
      { name: 'typo', checks: [{ check: 'config', status: 'fail', code: 'BAD_URL' }] },
    ],
  };

  it('reduces each target to what the report needs', () => {
    expect(ipv6TargetFacts(body)).toEqual([
      {
        name: 'ds',
        checked: true,
        v6Ok: true,
        aaaa: true,
        v4Ms: 10,
        v6Ms: 6000, // slow still connected
        heFamily: 4,
        pmtuOk: false,
        v6Code: null,
      },
      {
        name: 'v4only',
        checked: true,
        v6Ok: false,
        aaaa: false,
        v4Ms: null,
        v6Ms: null,
        heFamily: null,
        pmtuOk: null,
        v6Code: 'NODATA', // the root cause, not the dependent NO_AAAA
      },
      {
        name: 'broken',
        checked: true,
        v6Ok: false,
        aaaa: true,
        v4Ms: null,
        v6Ms: 5,
        heFamily: null,
        pmtuOk: null,
        v6Code: 'HTTP_503',
      },
      {
        name: 'placeholder',
        checked: false,
        v6Ok: false,
        aaaa: null,
        v4Ms: null,
        v6Ms: null,
        heFamily: null,
        pmtuOk: null,
        v6Code: null, // not checked: no reason to give
      },
      expect.objectContaining({ name: 'typo', checked: false }),
    ]);
  });

  it('takes an empty target list', () => {
    expect(ipv6TargetFacts({ host: { globalAddress: false, defaultRoute: false }, targets: [] })).toEqual([]);
  });
});

const host = (agentId: string, communeCode: string | null, globalAddress: boolean, defaultRoute: boolean) =>
  ({ agentId, communeCode, at: 0, globalAddress, defaultRoute }) satisfies Ipv6HostObs;

const obs = (
  agentId: string,
  communeCode: string | null,
  target: string,
  o: Partial<Omit<Ipv6TargetObs, 'agentId' | 'communeCode' | 'target'>>,
): Ipv6TargetObs => ({
  agentId,
  communeCode,
  target,
  at: 0,
  checked: true,
  v6Ok: false,
  aaaa: null,
  v4Ms: null,
  v6Ms: null,
  heFamily: null,
  pmtuOk: null,
  v6Code: null,
  ...o,
});

describe('ipv6Report', () => {
  it('is empty, with nulls rather than made-up figures, for no data', () => {
    expect(ipv6Report([], [])).toEqual({
      communesReporting: 0,
      communesIpv6Present: 0,
      shareIpv6Present: null,
      agents: 0,
      results: 0,
      unassigned: { agents: 0, results: 0 },
      targets: [],
      communes: [],
    });
  });

  it('handles one sample', () => {
    const r = ipv6Report(
      [host('a1', 'C1', true, true)],
      [obs('a1', 'C1', 't', { v6Ok: true, aaaa: true, v4Ms: 7, v6Ms: 9, heFamily: 6, pmtuOk: true })],
    );
    expect(r).toMatchObject({ communesReporting: 1, communesIpv6Present: 1, shareIpv6Present: 1, agents: 1 });
    expect(r.targets).toEqual([
      {
        name: 't',
        communesChecked: 1,
        communesV6: 1,
        shareV6: 1,
        communesAaaa: 1,
        shareAaaa: 1,
        communesPmtuTrouble: 0,
        v4ConnectMedianMs: 7,
        v6ConnectMedianMs: 9,
        happyEyeballsV6Share: 1,
        agents: 1,
        results: 1,
        failCodes: [],
      },
    ]);
  });

  // Hand-computed: four agents in three communes plus one without a commune; see each expectation.
  const hosts = [
    host('a1', 'C1', true, true),
    host('a1', 'C1', true, true),
    host('a2', 'C1', true, false), // C1: 2 of 3 ready -> has IPv6
    host('a3', 'C2', true, true),
    host('a3', 'C2', false, false), // C2: 1 of 2 -> a tie at one half counts as having IPv6
    host('a4', 'C3', false, false), // C3: 0 of 1
    host('a5', null, true, true), // no commune
  ];
  const targets = [
    obs('a1', 'C1', 'portal', { v6Ok: true, aaaa: true, v4Ms: 10, v6Ms: 12, heFamily: 6, pmtuOk: true }),
    obs('a1', 'C1', 'portal', { v6Code: 'TIMEOUT', aaaa: true, v4Ms: 20, heFamily: 4 }),
    obs('a2', 'C1', 'portal', { v6Ok: true, aaaa: true, v4Ms: 30, v6Ms: 40, heFamily: 6, pmtuOk: false }),
    obs('a3', 'C2', 'portal', { v6Code: 'ENETUNREACH', aaaa: true, v4Ms: 15, heFamily: 4 }),
    obs('a3', 'C2', 'portal', { v6Ok: true, aaaa: true, v4Ms: 25, v6Ms: 35, heFamily: 6, pmtuOk: true }),
    obs('a4', 'C3', 'portal', { v6Code: 'NODATA', aaaa: false, v4Ms: 5000, heFamily: 4 }), // outlier connect
    obs('a5', null, 'portal', { v6Ok: true, aaaa: true, v4Ms: 1, v6Ms: 1 }),
    obs('a3', 'C2', 'collector', { v6Ok: true, v4Ms: 1, v6Ms: 2 }),
    obs('a3', 'C2', 'collector', { v6Ok: true, v4Ms: 3, v6Ms: 4 }),
    obs('a1', 'C1', 'placeholder', { checked: false, v6Code: 'NOT_CONFIGURED' }),
  ];
  const r = ipv6Report(hosts, targets);

  it('counts communes with IPv6 (ties at one half count)', () => {
    expect(r).toMatchObject({
      communesReporting: 3,
      communesIpv6Present: 2,
      shareIpv6Present: 2 / 3,
      agents: 5,
      results: 7,
      unassigned: { agents: 1, results: 1 },
    });
  });

  it('gives each target its share of communes reaching it over IPv6', () => {
    expect(r.targets.map((t) => t.name)).toEqual(['collector', 'portal']); // placeholder left out
    expect(r.targets[1]).toEqual({
      name: 'portal',
      communesChecked: 3,
      communesV6: 2, // C1 (2 of 3 checks), C2 (1 of 2: tie); not C3
      shareV6: 2 / 3,
      communesAaaa: 2,
      shareAaaa: 2 / 3,
      communesPmtuTrouble: 1, // C1: 1 of 2 large requests lost
      v4ConnectMedianMs: 20, // communes' medians 20, 20, 5000: the outlier does not move it
      v6ConnectMedianMs: 30.5, // C1 median(12, 40) = 26, C2 35
      happyEyeballsV6Share: 0.5, // 6,4,6,4,6,4 from communes
      agents: 5,
      results: 7,
      failCodes: [
        { code: 'ENETUNREACH', count: 1 },
        { code: 'NODATA', count: 1 },
        { code: 'TIMEOUT', count: 1 },
      ],
    });
    expect(r.targets[0]).toMatchObject({
      name: 'collector',
      communesChecked: 1,
      communesV6: 1,
      shareV6: 1,
      communesAaaa: 0,
      shareAaaa: null, // an IP literal has no AAAA to look up
      v4ConnectMedianMs: 2,
      v6ConnectMedianMs: 3,
      happyEyeballsV6Share: null,
    });
  });

  it('gives each commune IPv6 presence and v6 vs v4 connect times', () => {
    expect(r.communes.map((c) => [c.code, c.agents, c.results, c.ipv6PresentShare, c.ipv6Present])).toEqual([
      ['C1', 2, 3, 2 / 3, true],
      ['C2', 1, 2, 0.5, true],
      ['C3', 1, 1, 0, false],
    ]);
    expect(r.communes.map((c) => [c.v4ConnectMedianMs, c.v6ConnectMedianMs, c.targetsChecked, c.targetsV6])).toEqual([
      [20, 26, 1, 1],
      [9, 4, 2, 2], // v4 median(15, 25, 1, 3) = 9; v6 median(35, 2, 4) = 4
      [5000, null, 1, 0],
    ]);
    expect(r.communes[2]!.targets).toEqual([
      { name: 'portal', results: 1, v6OkShare: 0, v6Reachable: false, aaaa: false, topCode: 'NODATA' },
    ]);
    expect(r.communes[0]!.targets[0]).toMatchObject({ v6OkShare: 2 / 3, v6Reachable: true, topCode: 'TIMEOUT' });
  });

  it('lists a commune whose agents checked targets but sent no host part', () => {
    const only = ipv6Report([], [obs('a9', 'C9', 't', { v6Ok: true })]);
    expect(only.communes[0]).toMatchObject({ code: 'C9', results: 0, ipv6Present: false, targetsV6: 1 });
    expect(only.communesReporting).toBe(0);
  });
});

describe('speedByFamily', () => {
  it('is empty for no tests', () => {
    expect(speedByFamily([]).size).toBe(0);
  });

  it('gives each commune its median download over IPv4 and over IPv6', () => {
    const m = speedByFamily([
      { communeCode: 'C1', family: 4, downloadBps: 40e6 },
      { communeCode: 'C1', family: 4, downloadBps: 60e6 },
      { communeCode: 'C1', family: 4, downloadBps: 900e6 }, // outlier: the median holds
      { communeCode: 'C1', family: 6, downloadBps: 50e6 },
      { communeCode: 'C2', family: 6, downloadBps: 30e6 },
      { communeCode: 'C2', family: 6, downloadBps: 30e6 }, // tie
      { communeCode: null, family: 4, downloadBps: 1e6 }, // no commune: left out
    ]);
    expect(Object.fromEntries(m)).toEqual({
      C1: { v4Tests: 3, v6Tests: 1, v4DownloadMedianBps: 60e6, v6DownloadMedianBps: 50e6 },
      C2: { v4Tests: 0, v6Tests: 2, v4DownloadMedianBps: null, v6DownloadMedianBps: 30e6 },
    });
  });
});
