import { createServer, connect as tcpConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { connKey, createTcpInfoSampler, normaliseAddr, parseSsDetails, parseSsOutput } from './tcpinfo.js';

const V4 = `0      0      127.0.0.1:43565 127.0.0.1:56300
\t bbr wscale:10,10 rto:204 rtt:0.081/0.123 ato:40 mss:47616 pmtu:65535 rcvmss:536 advmss:65483 cwnd:13 bytes_sent:100000 bytes_retrans:1448 bytes_acked:99000 bytes_received:5 segs_out:4 segs_in:5 data_segs_out:3 data_segs_in:1 bbr:(bw:12287988280bps,mrtt:0.023,pacing_gain:2.88672,cwnd_gain:2.88672) send 61136592593bps lastsnd:304 lastrcv:304 lastack:304 pacing_rate 325725462640bps delivery_rate 1603907368bps delivered:4 busy:12ms rwnd_limited:4ms(33.3%) sndbuf_limited:2ms(16.7%) retrans:0/3 rcv_space:65483 rcv_ssthresh:65483 minrtt:0.023 snd_wnd:93184
0      0      [::ffff:127.0.0.1]:8080 [::ffff:127.0.0.1]:40000
\t cubic rtt:1.5/0.75 mss:1448 cwnd:10 bytes_received:12345 minrtt:1.2 delivery_rate 8.5Mbps
0      0      [::1]:8080 [::1]:40001
\t cubic rtt:0.5/0.25 mss:65464 cwnd:10 minrtt:0.4
`;

describe('ss -tin parsing', () => {
  it('reads TCP_INFO counters in ndt-server units (µs, bytes)', () => {
    const m = parseSsOutput(V4);
    expect(m.get(connKey(43565, '127.0.0.1', 56300))).toEqual({
      BytesAcked: 99_000,
      BytesReceived: 5,
      BytesSent: 100_000,
      BytesRetrans: 1448,
      MinRTT: 23,
      RTT: 81,
      RTTVar: 123,
      BusyTime: 12_000,
      RWndLimited: 4_000,
      SndBufLimited: 2_000,
      SndCwnd: 13,
      SndMSS: 47616,
      TotalRetrans: 3,
      DeliveryRate: Math.round(1603907368 / 8),
    });
  });

  it('treats v4-mapped IPv6 and bracketed addresses as the same peer', () => {
    const m = parseSsOutput(V4);
    const mapped = m.get(connKey(8080, '::ffff:127.0.0.1', 40000));
    expect(mapped).toMatchObject({ BytesReceived: 12345, BytesSent: 0, BytesAcked: 0, MinRTT: 1200 });
    expect(mapped?.DeliveryRate).toBe(Math.round(8.5e6 / 8));
    expect(m.get(connKey(8080, '127.0.0.1', 40000))).toBe(mapped);
    // No byte counters at all: the counters stay absent rather than made up.
    expect(m.get(connKey(8080, '::1', 40001))).toEqual({
      MinRTT: 400,
      RTT: 500,
      RTTVar: 250,
      SndCwnd: 10,
      SndMSS: 65464,
    });
  });

  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['[::1]', '::1'],
    ['::FFFF:10.0.0.1', '10.0.0.1'],
    ['fe80::1%eth0', 'fe80::1'],
  ])('normalises %s', (a, b) => {
    expect(normaliseAddr(a)).toBe(b);
  });

  it('an empty or foreign details line gives nothing', () => {
    expect(parseSsOutput('')).toEqual(new Map());
    expect(parseSsDetails('   cubic')).toEqual({});
  });
});

describe.skipIf(process.platform !== 'linux')('TCP info sampler (real sockets, real ss)', () => {
  it('reads bytes_acked of a live loopback connection and stops sampling when untracked', async () => {
    const sockets: import('node:net').Socket[] = [];
    const server = createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.write(Buffer.alloc(200_000));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const client = tcpConnect(port, '127.0.0.1');
    client.pause();
    await new Promise((r) => client.once('connect', r));
    const sampler = createTcpInfoSampler({ intervalMs: 50 });
    const conn = sampler.track(port, '127.0.0.1', client.localPort!);
    await new Promise((r) => setTimeout(r, 100));
    const info = await conn.sampleNow();
    if (sampler.disabled) {
      // iproute2 missing: the sampler must say so and keep working without TCP info.
      expect(info).toBeUndefined();
    } else {
      expect(info?.fields.BytesSent).toBeGreaterThan(0);
      expect(info?.fields.BytesSent).toBeLessThanOrEqual(200_000);
      expect(conn.latest()).toBe(info);
    }
    conn.untrack();
    sampler.close();
    client.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('turns itself off when the command does not exist', async () => {
    const sampler = createTcpInfoSampler({ intervalMs: 50, command: '/nonexistent/ss' });
    const conn = sampler.track(1, '127.0.0.1', 2);
    expect(await conn.sampleNow()).toBeUndefined();
    expect(sampler.disabled).toBe(true);
    sampler.close();
  });
});
