import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  type EchoAuth,
  echoKeyFromSecret,
  echoKeyFromToken,
  echoMacValid,
  encodeEchoPacket,
  PING_TIMEOUT_MS,
  parseEchoPacket,
  type UdpBody,
  udpSummary,
} from '@hatang/shared';
import { request } from 'undici';
import { selectServer } from './latency-core.js';
import { errorCode, errorMessage, type Probe, type ProbeContext } from './probe.js';

/** What `GET /speed/udp` answers (docs/protocol.md §4). */
interface EchoInfo {
  port: number;
  auth: EchoAuth[];
  maxPacketBytes: number;
  keyRatePps: number;
  keyBurst: number;
}

function fail(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

async function discover(base: string, ctx: ProbeContext, dispatcher: import('undici').Dispatcher): Promise<EchoInfo> {
  const res = await request(new URL('/speed/udp', base), {
    dispatcher,
    signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(PING_TIMEOUT_MS)]),
  });
  const body = (await res.body.json().catch(() => undefined)) as EchoInfo | undefined;
  if (res.statusCode === 404)
    throw fail('UDP_OFF', 'the server has no UDP echo (udp.enabled, or udp.secret on a test point)');
  if (res.statusCode !== 200 || !body || !Number.isInteger(body.port) || !Array.isArray(body.auth)) {
    throw fail(`HTTP_${res.statusCode}`, `GET /speed/udp answered HTTP ${res.statusCode}`);
  }
  return body;
}

/** Key id and key to sign with: the shared secret when configured and accepted, else the agent token. */
function keyFor(ctx: ProbeContext, info: EchoInfo): { auth: EchoAuth; keyId: Buffer; key: Buffer } {
  const secret = ctx.config.udp.secret;
  const fromToken = ctx.token ? echoKeyFromToken(ctx.token) : undefined;
  if (secret && info.auth.includes('secret')) {
    return { auth: 'secret', keyId: fromToken?.keyId ?? randomBytes(8), key: echoKeyFromSecret(secret) };
  }
  if (fromToken && info.auth.includes('token')) return { auth: 'token', ...fromToken };
  throw fail(
    'UDP_AUTH',
    info.auth.includes('secret')
      ? 'this test point checks UDP packets with a shared secret: set udp.secret in the agent config'
      : 'the UDP echo needs the agent token: enrol the agent (collector.token) first',
  );
}

/** Address of the server for the chosen family preference. */
async function resolve(host: string, pref: 'auto' | '4' | '6'): Promise<{ address: string; family: 4 | 6 }> {
  const bare = host.replace(/^\[|\]$/g, '');
  const literal = isIP(bare);
  if (literal) return { address: bare, family: literal as 4 | 6 };
  const r = await lookup(bare, pref === 'auto' ? {} : { family: Number(pref) as 4 | 6 });
  return { address: r.address, family: r.family as 4 | 6 };
}

/**
 * UDP packet loss (DESIGN.md §3): a paced train of signed packets to the server's UDP echo
 * (`packets` evenly over `durationMs`), then `waitMs` for late echoes. Reports loss, RTT median,
 * min, p90 and jitter. Only replies that carry this train's session, a sequence sent, and a valid
 * MAC count; duplicates count once. TCP retransmissions are not loss; this is.
 */
export const udpProbe: Probe<'udp'> = {
  kind: 'udp',
  title: 'UDP packet loss',
  async run(ctx) {
    const cfg = ctx.config.udp;
    const pref = ctx.config.speed.family;
    let phase = 'select';
    let family: 4 | 6 = pref === '6' ? 6 : 4;
    let sel: Awaited<ReturnType<typeof selectServer>> | undefined;
    let socket: Socket | undefined;
    let sent = 0;
    try {
      sel = await selectServer(ctx.servers, pref, ctx.signal);
      phase = 'discover';
      ctx.onProgress?.({ phase: 'udp', message: sel.server.url });
      const info = await discover(sel.server.url, ctx, sel.conn.dispatcher);
      if (cfg.packetBytes > info.maxPacketBytes) {
        throw fail('UDP_SIZE', `udp.packetBytes ${cfg.packetBytes} is above the server's ${info.maxPacketBytes}`);
      }
      const allowed = info.keyBurst + (info.keyRatePps * cfg.durationMs) / 1000;
      if (cfg.packets > allowed) {
        throw fail(
          'UDP_RATE',
          `${cfg.packets} packets in ${cfg.durationMs} ms is faster than the server answers (${info.keyRatePps}/s, burst ${info.keyBurst}); lower udp.packets or raise udp.durationMs`,
        );
      }
      const { auth, keyId, key } = keyFor(ctx, info);
      const target = await resolve(new URL(sel.server.url).hostname, pref);
      family = target.family;
      phase = 'udp';
      const sock = createSocket(family === 6 ? 'udp6' : 'udp4');
      socket = sock;
      await new Promise<void>((ok, ko) => {
        sock.once('error', ko);
        sock.connect(info.port, target.address, () => {
          sock.off('error', ko);
          ok();
        });
      });
      const session = randomBytes(8);
      const n = cfg.packets;
      const sentAt: number[] = new Array(n);
      const rtts: (number | undefined)[] = new Array(n).fill(undefined);
      let duplicates = 0;
      sock.on('message', (msg) => {
        const t = performance.now();
        const p = parseEchoPacket(msg);
        if (typeof p === 'string' || p.type !== 'reply' || !p.session.equals(session)) return;
        if (p.seq >= n || sentAt[p.seq] === undefined || !echoMacValid(msg, key)) return;
        if (rtts[p.seq] !== undefined) {
          duplicates++;
          return;
        }
        rtts[p.seq] = t - (sentAt[p.seq] as number);
      });
      sock.on('error', () => {}); // ICMP unreachable and the like: those packets are simply lost
      const interval = cfg.durationMs / n;
      const t0 = performance.now();
      for (let i = 0; i < n && !ctx.signal.aborted; i++) {
        const due = t0 + i * interval - performance.now();
        if (due > 0) await new Promise((r) => setTimeout(r, due));
        const now = performance.now();
        sentAt[i] = now;
        sock.send(
          encodeEchoPacket(
            { type: 'request', auth, keyId, session, seq: i, clientTime: now, serverTime: 0, size: cfg.packetBytes },
            key,
          ),
        );
        sent++;
        if (i % 10 === 0) ctx.onProgress?.({ phase: 'udp', fraction: i / n });
      }
      // Late echoes: wait, but stop early once every packet is answered.
      const deadline = performance.now() + cfg.waitMs;
      while (performance.now() < deadline && !ctx.signal.aborted && rtts.slice(0, sent).some((r) => r === undefined)) {
        await new Promise((r) => setTimeout(r, Math.min(50, deadline - performance.now())));
      }
      const s = udpSummary(rtts.slice(0, sent));
      const body: UdpBody = {
        ...s,
        packetBytes: cfg.packetBytes,
        intervalMs: Math.round(interval * 1000) / 1000,
        duplicates,
      };
      const overhead = family === 6 ? 48 : 28;
      const bytesUsed = sent * (cfg.packetBytes + overhead) + s.received * (cfg.packetBytes + overhead);
      if (s.received === 0) {
        return {
          status: 'error',
          body,
          error: {
            code: 'NO_ECHO',
            phase,
            message:
              'no echo came back: UDP blocked on the way, the server refused the signature, or every packet was lost',
          },
          family,
          server: sel.server,
          bytesUsed,
        };
      }
      return { status: ctx.signal.aborted ? 'partial' : 'ok', body, family, server: sel.server, bytesUsed };
    } catch (err) {
      return {
        status: 'error',
        error: { code: errorCode(err), phase, message: errorMessage(err) },
        family,
        ...(sel ? { server: sel.server } : ctx.servers[0] ? { server: ctx.servers[0] } : {}),
        bytesUsed: sent * (cfg.packetBytes + 28),
      };
    } finally {
      socket?.close();
      await sel?.conn.dispatcher.close();
    }
  },
};
