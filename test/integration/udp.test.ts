import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig, runProbe, systemClock, udpProbe } from '@hatang/agent';
import { buildApp, startCollector, type TestCollector } from '@hatang/collector';
import {
  type AgentConfig,
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  echoKeyFromSecret,
  echoKeyFromToken,
  echoMacValid,
  encodeEchoPacket,
  parseEchoPacket,
  type UdpResult,
} from '@hatang/shared';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const SECRET = 'a shared echo secret of the province';
const log = createLogger('silent');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-udp-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const open: TestCollector[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});

async function collector(udp: Partial<CollectorConfig['udp']> = {}, role: 'all' | 'speedtest' = 'all') {
  const c = await startCollector({
    role,
    config: { ...COLLECTOR_CONFIG_DEFAULTS, role, udp: { ...COLLECTOR_CONFIG_DEFAULTS.udp, ...udp } },
  });
  open.push(c);
  return c;
}

function agentConfig(url: string, env: Record<string, string> = {}): AgentConfig {
  return loadConfig({
    env: {
      HATANG_COLLECTOR_URL: url,
      HATANG_STATE_DIR: dir,
      HATANG_UDP_PACKETS: '40',
      HATANG_UDP_DURATION_MS: '400',
      HATANG_UDP_WAIT_MS: '500',
      ...env,
    },
  });
}

async function udp(config: AgentConfig): Promise<UdpResult> {
  return (await runProbe(udpProbe, { config, clock: systemClock(), log, timeoutMs: 30_000 })) as UdpResult;
}

/** Send `count` signed requests from a raw socket; return the replies. */
async function blast(
  port: number,
  count: number,
  sign: { auth: 'token' | 'secret'; keyId: Buffer; key: Buffer },
  size = 64,
): Promise<Buffer[]> {
  const sock = createSocket('udp4');
  const replies: Buffer[] = [];
  sock.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => sock.connect(port, '127.0.0.1', r));
  const session = randomBytes(8);
  for (let i = 0; i < count; i++) {
    sock.send(
      encodeEchoPacket({ type: 'request', ...sign, session, seq: i, clientTime: i, serverTime: 0, size }, sign.key),
    );
  }
  await new Promise((r) => setTimeout(r, 300));
  sock.close();
  return replies;
}

describe('UDP echo and packet-loss probe', () => {
  it('a train signed with the agent token is answered in full on loopback', async () => {
    const c = await collector();
    const { token } = c.addAgent();
    const r = await udp(agentConfig(c.url, { HATANG_COLLECTOR_TOKEN: token }));
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.udp).toMatchObject({ sent: 40, received: 40, lossPct: 0, duplicates: 0, packetBytes: 64, intervalMs: 10 });
    expect(r.udp!.rttMedianMs).toBeGreaterThan(0);
    expect(r.udp!.jitterMs).toBeGreaterThanOrEqual(0);
    expect(r.network.family).toBe(4);
    expect(r.bytesUsed).toBe(80 * (64 + 28));
    expect(c.app.udpEcho.echo!.counters.answered).toBe(40);
  });

  it('discovery names the port and the signatures accepted', async () => {
    const c = await collector({ secret: SECRET });
    const info = (await (await fetch(`${c.url}/speed/udp`)).json()) as { port: number; auth: string[] };
    expect(info.port).toBe(c.app.udpEcho.echo!.port);
    expect(info.auth).toEqual(['token', 'secret']);
  });

  it('replies are exactly as long as requests and signed with the same key', async () => {
    const c = await collector();
    const { token } = c.addAgent();
    const sign = { auth: 'token' as const, ...echoKeyFromToken(token)! };
    const replies = await blast(c.app.udpEcho.echo!.port, 3, sign, 300);
    expect(replies).toHaveLength(3);
    for (const m of replies) {
      expect(m.length).toBe(300);
      expect(echoMacValid(m, sign.key)).toBe(true);
      expect(parseEchoPacket(m)).toMatchObject({ type: 'reply' });
    }
  });

  it('never answers an unknown or forged token, or malformed datagrams', async () => {
    const c = await collector();
    const { token } = c.addAgent();
    const port = c.app.udpEcho.echo!.port;
    const good = echoKeyFromToken(token)!;
    const forged = { auth: 'token' as const, keyId: good.keyId, key: echoKeyFromSecret('not the right key at all') };
    const unknown = { auth: 'token' as const, ...echoKeyFromToken(`hat1_ffffffffffffffff_${'B'.repeat(43)}`)! };
    expect(await blast(port, 3, forged)).toHaveLength(0);
    expect(await blast(port, 3, unknown)).toHaveLength(0);
    const raw = createSocket('udp4');
    raw.send(Buffer.from('hello'), port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    raw.close();
    expect(c.app.udpEcho.echo!.counters).toMatchObject({ answered: 0, unauthenticated: 6, malformed: 1 });
  });

  it('a revoked token is refused once the key is looked up again', async () => {
    const c = await collector();
    const { id, token } = c.addAgent();
    c.app.repo.revokeAgent(id, Date.now());
    const r = await udp(agentConfig(c.url, { HATANG_COLLECTOR_TOKEN: token }));
    expect(r.status).toBe('error');
    expect(r.error).toMatchObject({ code: 'NO_ECHO', phase: 'udp' });
    expect(r.udp).toMatchObject({ sent: 40, received: 0, lossPct: 100 });
  });

  it('rate-limits each key to its burst, then its rate', async () => {
    const c = await collector({ keyBurst: 10, keyRatePps: 1 });
    const { token } = c.addAgent();
    const replies = await blast(c.app.udpEcho.echo!.port, 30, { auth: 'token', ...echoKeyFromToken(token)! });
    expect(replies.length).toBeGreaterThanOrEqual(10);
    expect(replies.length).toBeLessThanOrEqual(11);
    expect(c.app.udpEcho.echo!.counters.rateLimited).toBeGreaterThanOrEqual(19);
  });

  it('the agent refuses a train faster than the server answers, before sending', async () => {
    const c = await collector({ keyBurst: 10, keyRatePps: 5 });
    const { token } = c.addAgent();
    const r = await udp(agentConfig(c.url, { HATANG_COLLECTOR_TOKEN: token }));
    expect(r.status).toBe('error');
    expect(r.error?.code).toBe('UDP_RATE');
    expect(r.error?.message).toContain('lower udp.packets or raise udp.durationMs');
  });

  it('a test point (role speedtest) answers packets signed with the shared secret, and only those', async () => {
    const tp = await collector({ secret: SECRET }, 'speedtest');
    expect(tp.app.udpEcho.auth).toEqual(['secret']);
    const ok = await udp(agentConfig(tp.url, { HATANG_UDP_SECRET: SECRET }));
    expect(ok.status, JSON.stringify(ok.error)).toBe('ok');
    expect(ok.udp?.received).toBe(40);
    const wrong = await udp(agentConfig(tp.url, { HATANG_UDP_SECRET: 'some other secret value' }));
    expect(wrong.error?.code).toBe('NO_ECHO');
    const none = await udp(agentConfig(tp.url, { HATANG_COLLECTOR_TOKEN: `hat1_0123456789abcdef_${'C'.repeat(43)}` }));
    expect(none.error).toMatchObject({ code: 'UDP_AUTH' });
    expect(none.error?.message).toContain('set udp.secret');
  });

  it('a test point without udp.secret keeps the echo off and says so', async () => {
    const tp = await collector({}, 'speedtest');
    expect(tp.app.udpEcho.enabled).toBe(false);
    const res = await fetch(`${tp.url}/speed/udp`);
    expect(res.status).toBe(404);
    const r = await udp(agentConfig(tp.url));
    expect(r.error?.code).toBe('UDP_OFF');
  });

  it('the echo binds only when the app listens, and a clash on its port fails loudly', async () => {
    const c = await collector();
    const port = c.app.udpEcho.echo!.port;
    const app = await buildApp({
      role: 'speedtest',
      config: {
        ...COLLECTOR_CONFIG_DEFAULTS,
        role: 'speedtest',
        udp: { ...COLLECTOR_CONFIG_DEFAULTS.udp, secret: SECRET, port },
      },
    });
    try {
      expect((await app.inject('/speed/ping')).statusCode).toBe(204);
      expect(app.udpEcho.echo).toBeUndefined(); // inject never binds
      await app.listen({ host: '127.0.0.1', port: 0 });
      await expect(app.udpEcho.ready).rejects.toThrow(/UDP echo cannot bind 127.0.0.1 port/);
    } finally {
      await app.close();
    }
  });
});
