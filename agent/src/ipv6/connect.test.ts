import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dualStackConnect, httpGet, interleave, netCode, tcpConnect } from './connect.js';

describe('netCode', () => {
  it.each([
    ['ENETUNREACH', 'ENETUNREACH'],
    ['ENETDOWN', 'ENETUNREACH'],
    ['EHOSTUNREACH', 'EHOSTUNREACH'],
    ['ECONNREFUSED', 'ECONNREFUSED'],
    ['EPIPE', 'ECONNRESET'],
    ['ETIMEDOUT', 'TIMEOUT'],
    ['EACCES', 'BLOCKED'],
    ['CERT_HAS_EXPIRED', 'TLS_EXPIRED'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS_UNTRUSTED'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'TLS_UNTRUSTED'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_NAME_MISMATCH'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'TLS_ERROR'],
    ['HPE_INVALID_CONSTANT', 'HTTP_PROTOCOL'],
    ['EWEIRD', 'CONNECT_ERROR'],
  ])('%s → %s', (code, want) => expect(netCode(Object.assign(new Error('x'), { code }))).toBe(want));

  it('takes the first reason of a dual-stack connect that failed everywhere', () => {
    const agg = new AggregateError([
      Object.assign(new Error('a'), { code: 'ENETUNREACH' }),
      Object.assign(new Error('b'), { code: 'ECONNREFUSED' }),
    ]);
    expect(netCode(agg)).toBe('ENETUNREACH');
  });
});

describe('interleave', () => {
  it('alternates families, IPv6 first (RFC 8305)', () => {
    expect(interleave(['2001:db8::1', '2001:db8::2'], ['198.18.0.1'])).toEqual([
      { address: '2001:db8::1', family: 6 },
      { address: '198.18.0.1', family: 4 },
      { address: '2001:db8::2', family: 6 },
    ]);
    expect(interleave([], ['198.18.0.1'])).toEqual([{ address: '198.18.0.1', family: 4 }]);
  });
});

describe('on loopback', () => {
  let dual: http.Server;
  let v4only: net.Server;
  let heads: number[] = [];
  beforeAll(async () => {
    dual = http.createServer((req, res) => {
      // The request head exactly as it came: request line, raw headers, blank line.
      let n = Buffer.byteLength(`${req.method} ${req.url} HTTP/${req.httpVersion}\r\n\r\n`);
      for (let i = 0; i < req.rawHeaders.length; i += 2)
        n += Buffer.byteLength(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`);
      heads.push(n);
      res.end('ok');
    });
    await new Promise<void>((r) => dual.listen(0, '::', r));
    v4only = net.createServer((s) => s.end());
    await new Promise<void>((r) => v4only.listen(0, '127.0.0.1', r));
  });
  afterAll(() => {
    dual.close();
    v4only.close();
  });
  const port = (s: net.Server) => (s.address() as net.AddressInfo).port;

  it('connects over one family and times it', async () => {
    const r = await tcpConnect('::1', port(dual), { timeoutMs: 2000 });
    expect(r.ok).toBe(true);
    expect(r.ms).toBeGreaterThan(0);
    expect(await tcpConnect('::1', port(v4only), { timeoutMs: 2000 })).toMatchObject({
      ok: false,
      code: 'ECONNREFUSED',
    });
  });

  it('a dual-stack connect prefers IPv6 and falls back to IPv4', async () => {
    const both = await dualStackConnect('dual.hatang.test', ['::1'], ['127.0.0.1'], port(dual), { timeoutMs: 2000 });
    expect(both).toMatchObject({ ok: true, family: 6 });
    // Nothing listens on [::1]:port: the IPv6 attempt is refused and IPv4 wins.
    const fallback = await dualStackConnect('v4.hatang.test', ['::1'], ['127.0.0.1'], port(v4only), {
      timeoutMs: 2000,
    });
    expect(fallback).toMatchObject({ ok: true, family: 4 });
    expect(fallback.attempted).toEqual([`::1:${port(v4only)}`, `127.0.0.1:${port(v4only)}`]);
  });

  it('pads a request to the size asked, and counts it', async () => {
    heads = [];
    const url = new URL(`http://[::1]:${port(dual)}/x?y=1`);
    const small = await httpGet(url, '::1', { timeoutMs: 2000, userAgent: 'test' });
    const big = await httpGet(url, '::1', { timeoutMs: 2000, userAgent: 'test', padToBytes: 1600 });
    expect(small).toMatchObject({ ok: true, status: 200 });
    expect(big).toMatchObject({ ok: true, status: 200, requestBytes: 1600 });
    expect(heads).toEqual([small.requestBytes, 1600]);
    expect(big.bytes).toBeGreaterThan(1600);
  });
});
