import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsCode, lookupFamily } from './dns.js';

describe('dnsCode', () => {
  it.each([
    ['ENOTFOUND', 'NXDOMAIN'],
    ['ENODATA', 'NODATA'],
    ['ESERVFAIL', 'SERVFAIL'],
    ['EREFUSED', 'REFUSED'],
    ['ETIMEOUT', 'TIMEOUT'],
    ['ECONNREFUSED', 'DNS_UNREACHABLE'],
    ['EBADRESP', 'DNS_BADRESP'],
    ['EWHATEVER', 'DNS_ERROR'],
    [undefined, 'DNS_ERROR'],
  ])('%s → %s', (code, want) => expect(dnsCode({ code })).toBe(want));
});

/**
 * A tiny authoritative DNS server on 127.0.0.1:0 answering by name (RFC 1035 wire format), so the
 * c-ares error paths are exercised for real. Only test names under hatang.test.
 */
function dnsServer(): Promise<{ sock: Socket; server: string }> {
  const sock = createSocket('udp4');
  sock.on('message', (q, rinfo) => {
    let o = 12;
    const labels: string[] = [];
    while (q[o]) {
      labels.push(q.subarray(o + 1, o + 1 + q[o]!).toString());
      o += q[o]! + 1;
    }
    const qEnd = o + 5;
    const name = labels.join('.');
    const qtype = q.readUInt16BE(o + 1);
    if (name === 'silent.hatang.test') return;
    const rcode = { 'nx.hatang.test': 3, 'servfail.hatang.test': 2, 'refused.hatang.test': 5 }[name] ?? 0;
    const answers: Buffer[] = [];
    if (name === 'ok.hatang.test') {
      const rdata = qtype === 1 ? Buffer.from([198, 18, 0, 1]) : Buffer.from('20010db8000000000000000000000001', 'hex');
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      answers.push(rr, rdata);
    }
    const head = Buffer.alloc(12);
    q.copy(head, 0, 0, 2);
    head.writeUInt16BE(0x8580 | rcode, 2); // QR, AA, RD, RA
    head.writeUInt16BE(1, 4);
    head.writeUInt16BE(answers.length / 2, 6);
    sock.send(Buffer.concat([head, q.subarray(12, qEnd), ...answers]), rinfo.port, rinfo.address);
  });
  return new Promise((resolve) =>
    sock.bind(0, '127.0.0.1', () => resolve({ sock, server: `127.0.0.1:${sock.address().port}` })),
  );
}

describe('lookupFamily against a real DNS server', () => {
  let srv: { sock: Socket; server: string };
  beforeAll(async () => {
    srv = await dnsServer();
  });
  afterAll(() => srv.sock.close());
  const ask = (name: string, family: 4 | 6, timeoutMs = 2000) =>
    lookupFamily(name, family, { timeoutMs, servers: [srv.server] });

  it('answers A and AAAA with their time', async () => {
    const a = await ask('ok.hatang.test', 4);
    expect(a).toMatchObject({ ok: true, addresses: ['198.18.0.1'] });
    expect(a.ms).toBeGreaterThan(0);
    expect(await ask('ok.hatang.test', 6)).toMatchObject({ ok: true, addresses: ['2001:db8::1'] });
  });

  it.each([
    ['nx.hatang.test', 'NXDOMAIN'],
    ['nodata.hatang.test', 'NODATA'],
    ['servfail.hatang.test', 'SERVFAIL'],
    ['refused.hatang.test', 'REFUSED'],
  ])('%s → %s', async (name, code) => {
    expect(await ask(name, 6)).toMatchObject({ ok: false, addresses: [], code });
  });

  it('gives up at its time limit when nothing answers', async () => {
    const t0 = performance.now();
    const r = await ask('silent.hatang.test', 4, 400);
    expect(r).toMatchObject({ ok: false, code: 'TIMEOUT' });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('says ABORTED when the run is stopped', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const r = await lookupFamily('silent.hatang.test', 4, {
      timeoutMs: 5000,
      servers: [srv.server],
      signal: ac.signal,
    });
    expect(r).toMatchObject({ ok: false, code: 'ABORTED' });
  });
});
