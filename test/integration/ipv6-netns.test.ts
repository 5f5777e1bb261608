import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector, type TestCollector } from '@hatang/collector';
import { isoWeekOf, type Result } from '@hatang/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helpers shared with bench/
import { createIpv6Bed, ipv6BedToolsMissing } from '../helpers/ipv6-bed.mjs';
// @ts-expect-error plain ESM helper shared with bench/
import { requireNetns } from '../helpers/netns.mjs';
// @ts-expect-error plain ESM helper
import { makeTestCerts } from '../helpers/tls.mjs';

/**
 * IPv6 readiness end to end (docs/ipv6.md): the real agent CLI (agent/dist, built by `pnpm test`)
 * runs in a client namespace that is dual-stack, IPv6-only or IPv4-only, against a dnsmasq
 * resolver answering test names with A only, AAAA only, both, or NXDOMAIN, and web servers on both
 * families (HTTP, HTTPS with a trusted, a self-signed and a wrong-name certificate). A fourth bed
 * puts a path-MTU black hole in front of the server. Each combination must give the expected
 * codes; then the collector turns the four results into the weekly report.
 */
const ns = requireNetns('IPv6 namespace tests');
const tools: string | undefined = ns.skip ? undefined : ipv6BedToolsMissing();
if (tools && process.env.CI) throw new Error(`IPv6 namespace tests cannot run in CI: ${tools}`);
if (tools) console.warn(`SKIP IPv6 namespace tests: ${tools}`);

type Bed = Awaited<ReturnType<typeof createIpv6Bed>>;
type Kind = 'dual' | 'v6' | 'v4' | 'pmtu';

const CHECKS = ['dns-a', 'dns-aaaa', 'tcp-v4', 'tcp-v6', 'http-v6', 'happy-eyeballs', 'pmtu-v6'];

/** check → "status" or "status CODE", plus the family happy-eyeballs chose: compact, readable tables. */
function table(r: Result, target: string): string[] {
  const t = r.kind === 'ipv6' ? r.ipv6?.targets.find((x) => x.name === target) : undefined;
  if (!t) throw new Error(`no target ${target} in ${JSON.stringify(r)}`);
  return CHECKS.map((name) => {
    const c = t.checks.find((x) => x.check === name);
    if (!c) return `${name} missing`;
    const fam = name === 'happy-eyeballs' && c.family ? ` v${c.family}` : '';
    return `${name} ${c.status}${c.code ? ` ${c.code}` : ''}${fam}`;
  });
}

/** Expected rows: 'pass' / 'fail CODE' / 'skip CODE' per check, in CHECKS order. */
const rows = (...statuses: string[]) => CHECKS.map((c, i) => `${c} ${statuses[i]}`);

describe.skipIf(!!ns.skip || !!tools)('IPv6 checks in network namespaces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hatang-ipv6-bed-'));
  const beds: Partial<Record<Kind, Bed>> = {};
  const results: Partial<Record<Kind, Result>> = {};
  let checklistText = '';
  let collector: TestCollector | undefined;

  beforeAll(async () => {
    const certs = makeTestCerts(dir, ['ds.hatang.test', 'v6.hatang.test']);
    const kinds: Kind[] = ['dual', 'v6', 'v4', 'pmtu'];
    // allSettled: every bed that came up is kept for afterAll to tear down, even when another failed.
    const made = await Promise.allSettled(
      kinds.map(async (k) => {
        beds[k] = await createIpv6Bed({
          client: k === 'pmtu' ? 'dual' : k,
          pmtuBlackhole: k === 'pmtu',
          certs: k === 'pmtu' ? undefined : { good: certs.good, self: certs.self, wrong: certs.wrong },
        });
      }),
    );
    const failed = made.find((m) => m.status === 'rejected');
    if (failed) throw failed.reason;
    const configFor = (k: Kind) => {
      const b = beds[k]!;
      const http = (name: string, path = '/') => `http://${name}:${b.ports.http}${path}`;
      const targets =
        k === 'pmtu'
          ? [{ name: 'ds', url: http('ds.hatang.test') }]
          : [
              { name: 'ds', url: http('ds.hatang.test') },
              { name: 'v4only', url: http('v4.hatang.test') },
              { name: 'v6only', url: http('v6.hatang.test') },
              { name: 'nx', url: http('nx.hatang.test') },
              { name: 'brokenv6', url: http('brokenv6.hatang.test') },
              { name: 'http503', url: http('ds.hatang.test', '/status/503') },
              { name: 'tls', url: `https://ds.hatang.test:${b.ports.good}/` },
              { name: 'tls-self', url: `https://ds.hatang.test:${b.ports.self}/` },
              { name: 'tls-name', url: `https://ds.hatang.test:${b.ports.wrong}/` },
            ];
      return {
        collector: { url: http('ds.hatang.test') },
        stateDir: join(dir, `state-${k}`),
        // Short limits keep the failing paths quick; nothing here is slow, so nothing is "slow".
        // IPv6 gets 1 s (not 250 ms) before IPv4 joins the race, so a CPU-starved test machine
        // cannot hand the race to IPv4; a dead IPv6 still loses it well before the 2.5 s limit.
        ipv6: { targets, timeoutMs: 2500, slowMs: 5000, attemptDelayMs: 1000 },
      };
    };
    const env = { NODE_EXTRA_CA_CERTS: certs.ca };
    const runs = kinds.map(async (k) => {
      const out = await beds[k]!.runAgent(configFor(k), ['--json'], env);
      expect(out.code, out.stderr).toBe(0);
      results[k] = JSON.parse(out.stdout) as Result;
    });
    runs.push(
      (async () => {
        const out = await beds.dual!.runAgent({ ...configFor('dual'), stateDir: join(dir, 'state-text') }, [], env);
        checklistText = out.stdout;
      })(),
    );
    await Promise.all(runs);
  }, 120_000);

  afterAll(async () => {
    await collector?.close();
    await Promise.all(Object.values(beds).map((b) => b?.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('sees the host: global address and default route on dual-stack and IPv6-only, neither on IPv4-only', () => {
    expect(results.dual!.kind === 'ipv6' && results.dual!.ipv6?.host).toEqual({
      globalAddress: true,
      defaultRoute: true,
    });
    expect(results.v6!.kind === 'ipv6' && results.v6!.ipv6?.host).toEqual({ globalAddress: true, defaultRoute: true });
    expect(results.v4!.kind === 'ipv6' && results.v4!.ipv6?.host).toEqual({
      globalAddress: false,
      defaultRoute: false,
    });
    for (const r of Object.values(results)) {
      expect(r).toMatchObject({ kind: 'ipv6', status: 'ok', network: { family: 6 } });
      expect(r!.bytesUsed).toBeGreaterThan(0);
    }
  });

  it('dual-stack client', () => {
    const r = results.dual!;
    const allPass = rows('pass', 'pass', 'pass', 'pass', 'pass', 'pass v6', 'pass');
    expect(table(r, 'collector')).toEqual(allPass);
    expect(table(r, 'ds')).toEqual(allPass);
    expect(table(r, 'v4only')).toEqual(
      rows('pass', 'fail NODATA', 'pass', 'fail NO_AAAA', 'skip NO_AAAA', 'pass v4', 'skip NO_AAAA'),
    );
    expect(table(r, 'v6only')).toEqual(rows('fail NODATA', 'pass', 'skip NO_A', 'pass', 'pass', 'pass v6', 'pass'));
    expect(table(r, 'nx')).toEqual(
      rows(
        'fail NXDOMAIN',
        'fail NXDOMAIN',
        'skip NXDOMAIN',
        'fail NXDOMAIN',
        'skip NXDOMAIN',
        'fail NXDOMAIN',
        'skip NXDOMAIN',
      ),
    );
    // AAAA points at an address whose packets vanish: IPv6 times out, Happy Eyeballs falls back to IPv4.
    expect(table(r, 'brokenv6')).toEqual(
      rows('pass', 'pass', 'pass', 'fail TIMEOUT', 'skip TIMEOUT', 'pass v4', 'skip TIMEOUT'),
    );
    expect(table(r, 'http503')).toEqual(rows('pass', 'pass', 'pass', 'pass', 'fail HTTP_503', 'pass v6', 'pass'));
    expect(table(r, 'tls')).toEqual(allPass);
    expect(table(r, 'tls-self')).toEqual(
      rows('pass', 'pass', 'pass', 'pass', 'fail TLS_UNTRUSTED', 'pass v6', 'skip TLS_UNTRUSTED'),
    );
    expect(table(r, 'tls-name')).toEqual(
      rows('pass', 'pass', 'pass', 'pass', 'fail TLS_NAME_MISMATCH', 'pass v6', 'skip TLS_NAME_MISMATCH'),
    );
    const ipv6 = r.kind === 'ipv6' ? r.ipv6! : undefined;
    const tls = ipv6!.targets.find((t) => t.name === 'tls')!.checks.find((c) => c.check === 'http-v6');
    expect(tls).toMatchObject({ httpStatus: 200, family: 6, detail: 'HTTP 200 · TLS ok' });
    const aaaa = ipv6!.targets.find((t) => t.name === 'ds')!.checks.find((c) => c.check === 'dns-aaaa');
    expect(aaaa!.detail).toBe(beds.dual!.link.addr.server6);
    expect(aaaa!.ms).toBeGreaterThan(0);
  });

  it('IPv6-only client', () => {
    const r = results.v6!;
    const v6ok = rows('pass', 'pass', 'fail ENETUNREACH', 'pass', 'pass', 'pass v6', 'pass');
    expect(table(r, 'collector')).toEqual(v6ok);
    expect(table(r, 'ds')).toEqual(v6ok);
    expect(table(r, 'v4only')).toEqual(
      rows(
        'pass',
        'fail NODATA',
        'fail ENETUNREACH',
        'fail NO_AAAA',
        'skip NO_AAAA',
        'fail ENETUNREACH',
        'skip NO_AAAA',
      ),
    );
    expect(table(r, 'v6only')).toEqual(rows('fail NODATA', 'pass', 'skip NO_A', 'pass', 'pass', 'pass v6', 'pass'));
    expect(table(r, 'nx')[0]).toBe('dns-a fail NXDOMAIN');
    expect(table(r, 'brokenv6')).toEqual(
      rows('pass', 'pass', 'fail ENETUNREACH', 'fail TIMEOUT', 'skip TIMEOUT', 'fail TIMEOUT', 'skip TIMEOUT'),
    );
    expect(table(r, 'tls')).toEqual(v6ok);
    expect(table(r, 'tls-self')[4]).toBe('http-v6 fail TLS_UNTRUSTED');
  });

  it('IPv4-only client', () => {
    const r = results.v4!;
    const v4only = rows('pass', 'pass', 'pass', 'fail ENETUNREACH', 'skip ENETUNREACH', 'pass v4', 'skip ENETUNREACH');
    expect(table(r, 'collector')).toEqual(v4only);
    expect(table(r, 'ds')).toEqual(v4only);
    expect(table(r, 'v4only')).toEqual(
      rows('pass', 'fail NODATA', 'pass', 'fail NO_AAAA', 'skip NO_AAAA', 'pass v4', 'skip NO_AAAA'),
    );
    expect(table(r, 'v6only')).toEqual(
      rows(
        'fail NODATA',
        'pass',
        'skip NO_A',
        'fail ENETUNREACH',
        'skip ENETUNREACH',
        'fail ENETUNREACH',
        'skip ENETUNREACH',
      ),
    );
    expect(table(r, 'nx')[1]).toBe('dns-aaaa fail NXDOMAIN');
    expect(table(r, 'brokenv6')).toEqual(v4only);
    expect(table(r, 'tls')).toEqual(v4only);
  });

  it('path-MTU black hole: small requests over IPv6 work, the 1 600-byte one is lost', () => {
    const r = results.pmtu!;
    const hole = rows('pass', 'pass', 'pass', 'pass', 'pass', 'pass v6', 'fail PMTU_BLACKHOLE');
    expect(table(r, 'collector')).toEqual(hole);
    expect(table(r, 'ds')).toEqual(hole);
  });

  it('`hatang-agent test ipv6` prints a readable checklist', () => {
    expect(checklistText).toContain('Máy này:');
    expect(checklistText).toMatch(/✓ đạt\s+Địa chỉ IPv6 toàn cầu trên máy này/);
    expect(checklistText).toMatch(/✗ lỗi\s+Tra cứu tên miền: bản ghi AAAA \(IPv6\)\s+\S+ ms\s+NODATA/);
    expect(checklistText).toContain('→ Tên miền có, nhưng không có bản ghi loại này');
    expect(checklistText).toMatch(/Tóm tắt: máy này có IPv6; tới được qua IPv6 4\/10 hệ thống/);
  });

  it('the collector turns the four results into per-target and per-commune figures', async () => {
    collector = await startCollector();
    const communes: Record<Kind, string> = { dual: '03646', v6: '03649', v4: '03652', pmtu: '03655' };
    for (const k of ['dual', 'v6', 'v4', 'pmtu'] as Kind[]) {
      const { token } = collector.app.repo.addAgent(
        { name: `agent-${k}`, access: 'fixed', communeCode: communes[k] },
        Date.now(),
      );
      const res = await fetch(`${collector.url}/api/v1/results`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          schema: 1,
          sentAt: new Date().toISOString(),
          clock: { bootId: 'test-batch', uptimeMs: 1 },
          results: [results[k]],
        }),
      });
      expect(((await res.json()) as { accepted: string[] }).accepted).toHaveLength(1);
    }
    const week = isoWeekOf(Date.parse(results.dual!.startedAt)).key;
    const reader = { authorization: `Bearer ${collector.adminToken()}` };
    const r = (await (
      await fetch(`${collector.url}/api/v1/stats/ipv6?week=${week}`, { headers: reader })
    ).json()) as any;
    expect(r).toMatchObject({ communesReporting: 4, communesIpv6Present: 3, shareIpv6Present: 0.75 });
    const t = Object.fromEntries(r.targets.map((x: any) => [x.name, x]));
    // ds: reached over IPv6 from dual, IPv6-only and the black-holed commune, not from IPv4-only.
    expect(t.ds).toMatchObject({
      communesChecked: 4,
      communesV6: 3,
      shareV6: 0.75,
      communesAaaa: 4,
      communesPmtuTrouble: 1,
      happyEyeballsV6Share: 0.75,
      failCodes: [{ code: 'ENETUNREACH', count: 1 }],
    });
    expect(t.v6only).toMatchObject({ communesChecked: 3, communesV6: 2, shareV6: 2 / 3 });
    expect(t.v4only).toMatchObject({
      communesV6: 0,
      shareV6: 0,
      shareAaaa: 0,
      failCodes: [{ code: 'NODATA', count: 3 }],
    });
    expect(t.nx).toMatchObject({ communesV6: 0, failCodes: [{ code: 'NXDOMAIN', count: 3 }] });
    expect(t.brokenv6.failCodes).toEqual([
      { code: 'TIMEOUT', count: 2 },
      { code: 'ENETUNREACH', count: 1 },
    ]);
    expect(t['tls-self'].failCodes).toEqual([
      { code: 'TLS_UNTRUSTED', count: 2 },
      { code: 'ENETUNREACH', count: 1 },
    ]);
    const c = Object.fromEntries(r.communes.map((x: any) => [x.code, x]));
    expect(c['03652']).toMatchObject({ ipv6Present: false, v6ConnectMedianMs: null, targetsV6: 0 });
    expect(c['03652'].v4ConnectMedianMs).toBeGreaterThan(0);
    expect(c['03649']).toMatchObject({ ipv6Present: true, v4ConnectMedianMs: null, targetsV6: 4 });
    expect(c['03646']).toMatchObject({ ipv6Present: true, targetsChecked: 10, targetsV6: 4 });
    expect(c['03646'].v6ConnectMedianMs).toBeGreaterThan(0);
    const csv = await (
      await fetch(`${collector.url}/api/v1/export/ipv6.csv?week=${week}&lang=en`, { headers: reader })
    ).text();
    expect(csv.trimEnd().split('\r\n')).toHaveLength(1 + 10 + 10 + 10 + 2);
  });
});
