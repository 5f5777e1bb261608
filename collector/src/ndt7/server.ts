import { randomBytes } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  HatangError,
  measurementBps,
  NDT7_BUSY_RETRY_AFTER_S,
  NDT7_DOWNLOAD_PATH,
  NDT7_EARLY_EXIT_BYTES,
  NDT7_INITIAL_MESSAGE_BYTES,
  NDT7_MAX_MESSAGE_BYTES,
  NDT7_MAX_SCALED_MESSAGE_BYTES,
  NDT7_MAX_TEXT_MESSAGE_BYTES,
  NDT7_SUBPROTOCOL,
  NDT7_TCPINFO_INTERVAL_MS,
  NDT7_UPLOAD_PATH,
  type Ndt7Measurement,
  type Ndt7TcpInfo,
  type Ndt7Test,
  nextMessageSize,
  poissonIntervalMs,
  retransPct,
} from '@hatang/shared';
import type { FastifyBaseLogger } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { WebSocket, WebSocketServer } from 'ws';
import { parseNdt7Query } from './metadata.js';
import { createTcpInfoSampler, type TcpInfoSampler } from './tcpinfo.js';

export type Ndt7Config = CollectorConfig['ndt7'];

/** Why a subtest ended (stored as ndt7_tests.end_reason). */
export type Ndt7EndReason =
  | 'duration'
  | 'early-exit'
  | 'client-closed'
  | 'hard-limit'
  | 'protocol-error'
  | 'shutdown'
  | 'error';

/** What the server records of one subtest. */
export interface Ndt7Record {
  uuid: string;
  test: Ndt7Test;
  startedAt: number;
  durationMs: number;
  clientAddr: string;
  serverAddr: string;
  family: 4 | 6;
  agentId: string | undefined;
  userAgent: string | undefined;
  metadata: Record<string, string>;
  appBytes: number;
  serverBps: number | undefined;
  minRttMs: number | undefined;
  retransPct: number | undefined;
  tcpInfo: Ndt7TcpInfo | undefined;
  endReason: Ndt7EndReason;
  closeCode: number | undefined;
  /** The last measurement the client sent, if any (upload clients may send AppInfo). */
  lastClientMeasurement: Ndt7Measurement | undefined;
}

export type Ndt7Authorize = (
  token: string | undefined,
) => { ok: true; agentId?: string | undefined } | { ok: false; message: string };

export interface Ndt7ServerOptions {
  config?: Partial<Ndt7Config> | undefined;
  log: FastifyBaseLogger;
  /** Called when requireToken is set; decides whether a token opens a test. */
  authorize?: Ndt7Authorize;
  /** Called once per finished subtest (role all stores it in SQLite). */
  onRecord?: (rec: Ndt7Record) => void;
  /** Wall clock, ms. */
  now?: () => number;
  /** TCP_INFO sampler; default one reading `ss` every 500 ms. */
  sampler?: TcpInfoSampler;
  /**
   * Per-client-address limits (the collector's `public` section, shared with the speed test): asked
   * once per subtest before the handshake; the lease counts the subtest's bytes and is released
   * when its connection is gone.
   */
  admit?: (req: IncomingMessage) => { lease: Ndt7Lease } | { denied: { retryAfterS: number; message: string } };
}

/** A slot held for one subtest (see Ndt7ServerOptions.admit). */
export interface Ndt7Lease {
  count(bytes: number): void;
  release(): void;
}

export interface Ndt7Stats {
  /** Subtests holding a slot now (handshaking or running). */
  active: number;
  started: number;
  finished: number;
  refused: { protocol: number; auth: number; busy: number; query: number; limited: number };
}

export interface Ndt7Server {
  /** Handle an HTTP upgrade; returns false when the path is not an ndt7 path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  readonly stats: Ndt7Stats;
  /** False when `ndt7.enabled` is off: the paths answer 404 and metrics leave ndt7 out. */
  readonly enabled: boolean;
  /** Resolves when no subtest holds a slot. */
  idle(): Promise<void>;
  /** Drop every running subtest (shutdown) and wait until they are gone. */
  close(): Promise<void>;
}

/** Close reasons sent with codes ws raises on its own (so a client always learns why). */
const DEFAULT_REASONS: Record<number, string> = {
  1002: 'ndt7: WebSocket protocol error',
  1007: 'ndt7: text message is not valid UTF-8',
  1009: `ndt7: message larger than ${NDT7_MAX_MESSAGE_BYTES} bytes`,
};

/**
 * ws raises "message too big" and other protocol errors by calling close(code) without a reason;
 * this subclass adds one, so the client's close event says what went wrong.
 */
class Ndt7Socket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    const reason = code === undefined ? undefined : (data ?? DEFAULT_REASONS[code]);
    super.close(code, reason);
  }
}

export function resolveNdt7Config(c: Partial<Ndt7Config> | undefined): Ndt7Config {
  const cfg = { ...COLLECTOR_CONFIG_DEFAULTS.ndt7, ...(c ?? {}) };
  if (cfg.durationMs > cfg.maxDurationMs) {
    throw new HatangError(
      'HATANG_ERR_CONFIG',
      `ndt7.durationMs (${cfg.durationMs}) must not exceed ndt7.maxDurationMs (${cfg.maxDurationMs})`,
      { hint: 'ndt7 runs 10 000 ms by default with a 15 000 ms hard limit; see docs/ndt7.md.' },
    );
  }
  return cfg;
}

/** "ip:port", "[ip6]:port"; IPv4-mapped addresses (a dual-stack listener) shown as IPv4. */
function hostPort(addr: string | undefined, port: number | undefined): string {
  let a = addr ?? '';
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
  return a.includes(':') ? `[${a}]:${port ?? 0}` : `${a}:${port ?? 0}`;
}

function refuse(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  const body = JSON.stringify({ error: { code, message } });
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nCache-Control: no-store\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
  );
  setTimeout(() => socket.destroy(), 1000).unref();
}

function bearerOf(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/**
 * The ndt7 server (spec v0.11.0): WebSocket upgrades on /ndt/v7/download and /ndt/v7/upload with
 * the subprotocol net.measurementlab.ndt.v7, binary messages scaled from 2^13 to 2^20 bytes, JSON
 * measurements at Poisson intervals, a default and a hard time limit, early_exit, query-string
 * metadata, a concurrency limit and optional token auth. Transport-agnostic: the route plugin
 * feeds it the HTTP server's upgrade events.
 */
export function createNdt7Server(opts: Ndt7ServerOptions): Ndt7Server {
  const cfg = resolveNdt7Config(opts.config);
  const now = opts.now ?? Date.now;
  const log = opts.log;
  const sampler = opts.sampler ?? createTcpInfoSampler({ intervalMs: NDT7_TCPINFO_INTERVAL_MS });
  const payload = randomBytes(NDT7_MAX_SCALED_MESSAGE_BYTES);
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: NDT7_MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    clientTracking: false,
    WebSocket: Ndt7Socket,
    handleProtocols: (protocols) => (protocols.has(NDT7_SUBPROTOCOL) ? NDT7_SUBPROTOCOL : false),
  });
  const stats: Ndt7Stats = {
    active: 0,
    started: 0,
    finished: 0,
    refused: { protocol: 0, auth: 0, busy: 0, query: 0, limited: 0 },
  };
  const running = new Set<{ shutdown(): void }>();
  let idleWaiters: (() => void)[] = [];

  function release() {
    stats.active--;
    if (stats.active === 0) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const f of w) f();
    }
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://ndt7.invalid');
    const test: Ndt7Test | undefined =
      url.pathname === NDT7_DOWNLOAD_PATH ? 'download' : url.pathname === NDT7_UPLOAD_PATH ? 'upload' : undefined;
    if (!test) return false;
    if (!cfg.enabled) {
      refuse(socket, 404, 'HATANG_ERR_NOT_FOUND', 'ndt7 is turned off on this server (ndt7.enabled)');
      return true;
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (!offered.includes(NDT7_SUBPROTOCOL)) {
      stats.refused.protocol++;
      refuse(
        socket,
        400,
        'HATANG_ERR_VALIDATION',
        offered.length === 0
          ? `missing Sec-WebSocket-Protocol: ${NDT7_SUBPROTOCOL}`
          : `unsupported Sec-WebSocket-Protocol ${JSON.stringify(offered.join(', ').slice(0, 100))}; ndt7 needs ${NDT7_SUBPROTOCOL}`,
      );
      return true;
    }
    const rawQuery = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?') + 1) : '';
    const q = parseNdt7Query(rawQuery);
    if (!q.ok) {
      stats.refused.query++;
      refuse(socket, 400, 'HATANG_ERR_VALIDATION', q.message);
      return true;
    }
    let agentId: string | undefined;
    if (cfg.requireToken) {
      const token = q.accessToken ?? bearerOf(req);
      const verdict = opts.authorize
        ? opts.authorize(token)
        : ({ ok: false, message: 'no way to check tokens' } as const);
      if (!verdict.ok) {
        stats.refused.auth++;
        refuse(socket, 401, 'HATANG_ERR_UNAUTHORIZED', verdict.message, {
          'WWW-Authenticate': 'Bearer realm="ndt7"',
        });
        return true;
      }
      agentId = verdict.agentId;
    }
    if (stats.active >= cfg.maxConcurrent) {
      stats.refused.busy++;
      refuse(
        socket,
        503,
        'HATANG_ERR_RATE_LIMITED',
        `all ${cfg.maxConcurrent} ndt7 test slots are busy; retry in ${NDT7_BUSY_RETRY_AFTER_S} s`,
        { 'Retry-After': String(NDT7_BUSY_RETRY_AFTER_S) },
      );
      return true;
    }
    let lease: Ndt7Lease | undefined;
    if (opts.admit) {
      const got = opts.admit(req);
      if ('denied' in got) {
        stats.refused.limited++;
        refuse(socket, 429, 'HATANG_ERR_RATE_LIMITED', `ndt7: ${got.denied.message}`, {
          'Retry-After': String(got.denied.retryAfterS),
        });
        return true;
      }
      lease = got.lease;
    }
    // The slot is held from here until the TCP connection is gone, whatever happens in between.
    stats.active++;
    let released = false;
    const free = () => {
      if (released) return;
      released = true;
      lease?.release();
      release();
    };
    socket.once('close', free);
    socket.on('error', () => {});
    wss.handleUpgrade(req, socket, head, (ws) => {
      stats.started++;
      runSession(ws, req, test, q.metadata, q.earlyExit, agentId, lease);
    });
    return true;
  }

  function runSession(
    ws: WebSocket,
    req: IncomingMessage,
    test: Ndt7Test,
    metadata: Record<string, string>,
    earlyExit: boolean,
    agentId: string | undefined,
    lease: Ndt7Lease | undefined,
  ) {
    const sock = req.socket as Socket;
    const t0 = performance.now();
    const startedAt = now();
    const uuid = uuidv7();
    const clientAddr = hostPort(sock.remoteAddress, sock.remotePort);
    const serverAddr = hostPort(sock.localAddress, sock.localPort);
    const family: 4 | 6 = sock.remoteAddress?.includes(':') && !sock.remoteAddress.startsWith('::ffff:') ? 6 : 4;
    const slog = log.child({ ndt7: test, uuid, client: clientAddr });
    const tracked = sampler.track(sock.localPort ?? 0, sock.remoteAddress ?? '', sock.remotePort ?? 0);
    const elapsedUs = () => Math.round((performance.now() - t0) * 1000);
    let appBytes = 0;
    let endReason: Ndt7EndReason | undefined;
    let lastServer: Ndt7Measurement | undefined;
    let lastClient: Ndt7Measurement | undefined;
    let measureTimer: NodeJS.Timeout | undefined;

    const tcpInfo = (): Ndt7TcpInfo | undefined => {
      const s = tracked.latest();
      return s ? { ...s.fields, ElapsedTime: Math.max(0, Math.round((s.at - t0) * 1000)) } : undefined;
    };
    const measurement = (first = false): Ndt7Measurement => {
      const tcp = tcpInfo();
      return {
        AppInfo: { ElapsedTime: elapsedUs(), NumBytes: appBytes },
        ...(first
          ? {
              ConnectionInfo: {
                Client: clientAddr,
                Server: serverAddr,
                UUID: uuid,
                StartTime: new Date(startedAt).toISOString(),
              },
            }
          : {}),
        Origin: 'server',
        Test: test,
        ...(tcp ? { TCPInfo: tcp } : {}),
      };
    };
    const sendMeasurement = (m: Ndt7Measurement) => {
      lastServer = m;
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
    };

    // early_exit counts application bytes handed to the kernel: never fewer than TCPInfo.BytesAcked
    // (the spec's counter) and ahead of it by at most the send buffer, while TCPInfo is only
    // sampled every 500 ms — so the download stops within a few MB of 250 MB, never far past it.
    const ackedBytes = () => appBytes;

    const finish = async (reason: Ndt7EndReason, code = 1000, why = 'ndt7 subtest complete') => {
      if (endReason) return;
      endReason = reason;
      clearTimeout(durationTimer);
      clearTimeout(measureTimer);
      if (ws.readyState !== WebSocket.OPEN) return;
      if (reason === 'duration' || reason === 'early-exit') {
        await tracked.sampleNow();
        sendMeasurement(measurement());
      }
      if (ws.readyState === WebSocket.OPEN) ws.close(code, why);
    };

    const tick = () => {
      measureTimer = setTimeout(() => {
        if (endReason) return;
        sendMeasurement(measurement());
        if (earlyExit && test === 'download' && ackedBytes() >= NDT7_EARLY_EXIT_BYTES) {
          void finish('early-exit');
          return;
        }
        tick();
      }, poissonIntervalMs(Math.random()));
    };

    const durationTimer = setTimeout(() => void finish('duration'), cfg.durationMs);
    const hardTimer = setTimeout(() => {
      // The client stopped reading (or never answered our close): drop it and free the slot.
      slog.info({ limitMs: cfg.maxDurationMs }, 'ndt7 subtest hit its hard time limit; connection dropped');
      endReason = 'hard-limit';
      ws.terminate();
    }, cfg.maxDurationMs);

    ws.on('error', (err) => slog.debug({ err }, 'ndt7 socket error'));
    ws.on('message', (data, isBinary) => {
      const len = Array.isArray(data)
        ? data.reduce((n, b) => n + b.length, 0)
        : ((data as Buffer).length ?? (data as ArrayBuffer).byteLength);
      if (isBinary) {
        if (test === 'download') {
          void finish('protocol-error', 1003, 'ndt7: binary messages are not allowed during download');
          return;
        }
        appBytes += len;
        lease?.count(len);
        return;
      }
      if (len > NDT7_MAX_TEXT_MESSAGE_BYTES) {
        void finish('protocol-error', 1009, `ndt7: text message larger than ${NDT7_MAX_TEXT_MESSAGE_BYTES} bytes`);
        return;
      }
      if (test === 'upload') {
        appBytes += len;
        lease?.count(len);
      }
      try {
        const m = JSON.parse(String(data)) as unknown;
        if (m && typeof m === 'object') lastClient = m as Ndt7Measurement;
      } catch {
        // Not JSON: the spec lets a receiver ignore messages it does not understand.
      }
    });

    const handle = {
      shutdown() {
        if (!endReason) endReason = 'shutdown';
        ws.terminate();
      },
    };
    running.add(handle);

    ws.on('close', (code) => {
      clearTimeout(durationTimer);
      clearTimeout(hardTimer);
      clearTimeout(measureTimer);
      running.delete(handle);
      tracked.untrack();
      if (!endReason) endReason = code === 1000 || code === 1005 ? 'client-closed' : 'error';
      const final = lastServer ?? measurement();
      const tcp = final.TCPInfo;
      const rec: Ndt7Record = {
        uuid,
        test,
        startedAt,
        durationMs: Math.round(performance.now() - t0),
        clientAddr,
        serverAddr,
        family,
        agentId,
        userAgent: req.headers['user-agent']?.slice(0, 256),
        metadata,
        appBytes,
        serverBps: measurementBps(final, test),
        minRttMs: tcp?.MinRTT !== undefined ? tcp.MinRTT / 1000 : undefined,
        // Only the sender's retransmissions are visible here: meaningful for downloads alone.
        retransPct: test === 'download' ? retransPct(tcp) : undefined,
        tcpInfo: tcp,
        endReason,
        closeCode: code,
        lastClientMeasurement: lastClient,
      };
      stats.finished++;
      slog.info(
        { endReason, bytes: appBytes, serverMbps: rec.serverBps ? +(rec.serverBps / 1e6).toFixed(2) : undefined },
        'ndt7 subtest finished',
      );
      try {
        opts.onRecord?.(rec);
      } catch (err) {
        slog.warn({ err }, 'could not store the ndt7 subtest record');
      }
    });

    // First measurement carries ConnectionInfo (the UUID the client keeps).
    sendMeasurement(measurement(true));
    tick();
    if (test === 'download') startSending();

    function startSending() {
      let size = NDT7_INITIAL_MESSAGE_BYTES;
      let queued = 0;
      let inflight = 0;
      const pump = () => {
        while (!endReason && ws.readyState === WebSocket.OPEN && inflight < Math.max(4 * size, 1 << 18)) {
          const n = size;
          inflight += n;
          queued += n;
          ws.send(payload.subarray(0, n), { binary: true }, (err) => {
            inflight -= n;
            if (err) return;
            appBytes += n;
            lease?.count(n);
            if (earlyExit && ackedBytes() >= NDT7_EARLY_EXIT_BYTES) {
              void finish('early-exit');
              return;
            }
            pump();
          });
          size = nextMessageSize(size, queued);
        }
      };
      pump();
    }
  }

  return {
    handleUpgrade,
    stats,
    enabled: cfg.enabled,
    idle() {
      return stats.active === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r));
    },
    async close() {
      for (const h of [...running]) h.shutdown();
      const waiting = this.idle();
      await Promise.race([waiting, new Promise((r) => setTimeout(r, 2000).unref())]);
      sampler.close();
      wss.close();
    },
  };
}
