import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTarget, verdict } from './checks.js';

describe('verdict', () => {
  it.each([
    [0, 'pass'],
    [5000, 'pass'],
    [5000.1, 'slow'],
  ])('%s ms with slowMs 5000 is %s', (ms, want) => expect(verdict(ms, 5000)).toBe(want));
});

/** check name → [status, code] for compact expectations. */
const table = (checks: { check: string; status: string; code?: string }[]) =>
  Object.fromEntries(checks.map((c) => [c.check, c.code ? `${c.status} ${c.code}` : c.status]));

describe('checkTarget on loopback (IP addresses; the DNS paths run in test/integration/ipv6-netns)', () => {
  let srv: http.Server;
  let port: number;
  let closedPort: number;
  const o = { timeoutMs: 2000, slowMs: 5000, userAgent: 'hatang-test' };
  beforeAll(async () => {
    srv = http.createServer((req, res) => {
      if (req.url === '/status/503') res.statusCode = 503;
      // A path-MTU black hole, simulated: large requests (the padded one) never get an answer.
      if (req.url === '/blackhole' && req.headers['x-hatang-padding']) return;
      if (req.url === '/hang') return;
      if (req.url === '/delay') {
        setTimeout(() => res.end('late'), 300);
        return;
      }
      res.end('ok');
    });
    await new Promise<void>((r) => srv.listen(0, '::', r));
    port = (srv.address() as AddressInfo).port;
    const tmp = http.createServer();
    await new Promise<void>((r) => tmp.listen(0, '::', r));
    closedPort = (tmp.address() as AddressInfo).port;
    await new Promise((r) => tmp.close(r));
  });
  afterAll(() => srv.close());

  it('passes every IPv6 check of an IPv6 address that answers', async () => {
    const { body, bytes } = await checkTarget({ name: 't', url: `http://[::1]:${port}/` }, o);
    expect(table(body.checks)).toEqual({
      'dns-a': 'skip IP_LITERAL',
      'dns-aaaa': 'skip IP_LITERAL',
      'tcp-v4': 'skip NO_A',
      'tcp-v6': 'pass',
      'http-v6': 'pass',
      'happy-eyeballs': 'pass',
      'pmtu-v6': 'pass',
    });
    expect(body.checks.find((c) => c.check === 'http-v6')).toMatchObject({ httpStatus: 200, family: 6 });
    expect(body.checks.find((c) => c.check === 'happy-eyeballs')).toMatchObject({ family: 6, detail: 'IPv6' });
    expect(body.url).toBe(`http://[::1]:${port}/`);
    expect(bytes).toBeGreaterThan(1600);
  });

  it('fails IPv6 for an IPv4 address, with the reason carried by the checks that depend on it', async () => {
    const { body } = await checkTarget({ name: 't', url: `http://127.0.0.1:${port}/` }, o);
    expect(table(body.checks)).toEqual({
      'dns-a': 'skip IP_LITERAL',
      'dns-aaaa': 'skip IP_LITERAL',
      'tcp-v4': 'pass',
      'tcp-v6': 'fail NO_AAAA',
      'http-v6': 'skip NO_AAAA',
      'happy-eyeballs': 'pass',
      'pmtu-v6': 'skip NO_AAAA',
    });
    expect(body.checks.find((c) => c.check === 'happy-eyeballs')).toMatchObject({ family: 4 });
  });

  it('reports an HTTP error status, and still sends the large request', async () => {
    const { body } = await checkTarget({ name: 't', url: `http://[::1]:${port}/status/503` }, o);
    expect(table(body.checks)).toMatchObject({ 'http-v6': 'fail HTTP_503', 'pmtu-v6': 'pass' });
  });

  it('reports a refused port on each check that tried it', async () => {
    const { body } = await checkTarget({ name: 't', url: `http://[::1]:${closedPort}/` }, o);
    expect(table(body.checks)).toMatchObject({
      'tcp-v6': 'fail ECONNREFUSED',
      'http-v6': 'skip ECONNREFUSED',
      'happy-eyeballs': 'fail ECONNREFUSED',
      'pmtu-v6': 'skip ECONNREFUSED',
    });
  });

  it('calls a lost large request after a small one got through a path-MTU black hole', async () => {
    const { body } = await checkTarget({ name: 't', url: `http://[::1]:${port}/blackhole` }, { ...o, timeoutMs: 500 });
    expect(table(body.checks)).toMatchObject({ 'http-v6': 'pass', 'pmtu-v6': 'fail PMTU_BLACKHOLE' });
  });

  it('times out a server that never answers, within the limit', async () => {
    const t0 = performance.now();
    const { body } = await checkTarget({ name: 't', url: `http://[::1]:${port}/hang` }, { ...o, timeoutMs: 300 });
    expect(table(body.checks)).toMatchObject({ 'http-v6': 'fail TIMEOUT', 'pmtu-v6': 'skip TIMEOUT' });
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('marks a check that succeeded past slowMs as slow', async () => {
    const { body } = await checkTarget({ name: 't', url: `http://[::1]:${port}/delay` }, { ...o, slowMs: 200 });
    const http6 = body.checks.find((c) => c.check === 'http-v6')!;
    expect(http6.status).toBe('slow');
    expect(http6.ms).toBeGreaterThan(200);
  });

  it('reports a placeholder as not configured without touching the network', async () => {
    const { body, bytes } = await checkTarget({ name: 'p', url: 'https://cong-thong-tin-tinh.invalid/' }, o);
    expect(body.checks).toEqual([{ check: 'config', status: 'skip', code: 'NOT_CONFIGURED' }]);
    expect(bytes).toBe(0);
  });

  it('reports an address that is not a URL instead of throwing', async () => {
    const { body } = await checkTarget({ name: 'p', url: 'http://bad host/' }, o);
    expect(body.checks).toEqual([{ check: 'config', status: 'fail', code: 'BAD_URL' }]);
  });

  it('skips what is left when the run is stopped', async () => {
    const ac = new AbortController();
    ac.abort();
    const { body } = await checkTarget({ name: 't', url: `http://[::1]:${port}/` }, { ...o, signal: ac.signal });
    expect(table(body.checks)).toMatchObject({
      'tcp-v4': 'skip ABORTED',
      'tcp-v6': 'skip ABORTED',
      'http-v6': 'skip ABORTED',
      'happy-eyeballs': 'skip ABORTED',
      'pmtu-v6': 'skip ABORTED',
    });
  });
});
