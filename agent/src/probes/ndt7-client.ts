import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  appInfoBps,
  measurementBps,
  NDT7_CLIENT_MEASUREMENT_MS,
  NDT7_DEFAULT_DURATION_MS,
  NDT7_HANDSHAKE_TIMEOUT_MS,
  NDT7_INITIAL_MESSAGE_BYTES,
  NDT7_MAX_DURATION_MS,
  NDT7_MAX_MESSAGE_BYTES,
  NDT7_MAX_SCALED_MESSAGE_BYTES,
  NDT7_SUBPROTOCOL,
  type Ndt7Measurement,
  type Ndt7Test,
  nextMessageSize,
} from '@hatang/shared';
import { WebSocket } from 'ws';

/**
 * hatang's ndt7 client (spec v0.11.0) on `ws`: one subtest per call. Download rate is the
 * client's own AppInfo (bytes received / time since the handshake); upload rate is what the
 * server measured (its TCPInfo.BytesReceived, else its AppInfo), never what we queued.
 */

export interface Ndt7ClientOptions {
  userAgent: string;
  /** Sent as Authorization: Bearer (self-hosted servers). M-Lab tokens ride in the URL instead. */
  bearer?: string | undefined;
  family: 'auto' | '4' | '6';
  signal: AbortSignal;
  onProgress?: ((p: { test: Ndt7Test; elapsedMs: number; bytes: number; bps: number }) => void) | undefined;
  handshakeTimeoutMs?: number;
  /** Client-side hard limit from the end of the handshake, ms (15 s). */
  maxDurationMs?: number;
  /** Upload: stop sending after this long, ms (10 s). */
  uploadDurationMs?: number;
  /** Stop (close) once this many application bytes have moved; default no client-side cap. */
  capBytes?: number | undefined;
}

export interface Ndt7SubtestResult {
  test: Ndt7Test;
  /** Application bytes received (download) or handed to the socket (upload). */
  bytes: number;
  /** Time the rate is computed over, ms from the end of the handshake. */
  elapsedMs: number;
  /** The client's own rate. */
  clientBps: number;
  /** The server's own rate from its last measurement, where it sent one. */
  serverBps: number | undefined;
  lastServer: Ndt7Measurement | undefined;
  uuid: string | undefined;
  family: 4 | 6;
  remoteAddress: string | undefined;
  closeCode: number;
  closeReason: string;
  /** True when the client's hard limit or an abort ended the subtest. */
  cut: boolean;
  /** True when the client closed because the byte cap was reached. */
  capped: boolean;
}

/** A failure before any measurement: carries a stable code; `beforeOpen` failures may try another server. */
export class Ndt7ClientError extends Error {
  readonly code: string;
  readonly beforeOpen: boolean;
  constructor(code: string, message: string, beforeOpen: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'Ndt7ClientError';
    this.code = code;
    this.beforeOpen = beforeOpen;
  }
}

function codeOf(err: unknown): string {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'string' ? c.replace(/[^A-Za-z0-9._:@-]/g, '_').slice(0, 64) : 'ERROR';
}

async function readBody(res: IncomingMessage, max = 4096): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of res as AsyncIterable<Buffer>) {
      chunks.push(c);
      n += c.length;
      if (n >= max) break;
    }
  } catch {
    /* the server hung up: keep what came */
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, max);
}

let uploadPayload: Buffer | undefined;

/** Run one ndt7 subtest against a full ws:// or wss:// URL (query string included). */
export function runNdt7Subtest(url: string, test: Ndt7Test, o: Ndt7ClientOptions): Promise<Ndt7SubtestResult> {
  return new Promise<Ndt7SubtestResult>((resolve, reject) => {
    const headers: Record<string, string> = { 'user-agent': o.userAgent };
    if (o.bearer) headers.authorization = `Bearer ${o.bearer}`;
    const ws = new WebSocket(url, NDT7_SUBPROTOCOL, {
      headers,
      handshakeTimeout: o.handshakeTimeoutMs ?? NDT7_HANDSHAKE_TIMEOUT_MS,
      perMessageDeflate: false,
      maxPayload: NDT7_MAX_MESSAGE_BYTES,
      ...(o.family === 'auto' ? {} : { family: Number(o.family) }),
    });
    let opened = false;
    let settled = false;
    let t0 = 0;
    let bytes = 0;
    let lastAt = 0;
    let lastProgress = 0;
    let lastServer: Ndt7Measurement | undefined;
    let uuid: string | undefined;
    let remoteAddress: string | undefined;
    let cut = false;
    let capped = false;
    let hardTimer: NodeJS.Timeout | undefined;
    let stopTimer: NodeJS.Timeout | undefined;

    const fail = (err: Ndt7ClientError) => {
      if (settled) return;
      settled = true;
      cleanup();
      ws.terminate();
      reject(err);
    };
    const onAbort = () => {
      cut = true;
      if (!opened) fail(new Ndt7ClientError('ABORTED', `ndt7 ${test} aborted`, false));
      else ws.terminate();
    };
    const cleanup = () => {
      clearTimeout(hardTimer);
      clearTimeout(stopTimer);
      o.signal.removeEventListener('abort', onAbort);
    };
    if (o.signal.aborted) {
      queueMicrotask(onAbort);
    } else {
      o.signal.addEventListener('abort', onAbort, { once: true });
    }

    const progress = (force = false) => {
      const t = performance.now();
      if (!force && t - lastProgress < NDT7_CLIENT_MEASUREMENT_MS) return;
      lastProgress = t;
      const elapsedMs = t - t0;
      const bps =
        test === 'download'
          ? elapsedMs > 0
            ? (bytes * 8 * 1000) / elapsedMs
            : 0
          : (measurementBps(lastServer, 'upload') ?? appInfoBps(lastServer?.AppInfo));
      o.onProgress?.({ test, elapsedMs, bytes, bps });
    };

    ws.on('upgrade', (res) => {
      remoteAddress = res.socket.remoteAddress;
    });
    ws.on('unexpected-response', (_req, res) => {
      void readBody(res).then((body) => {
        let msg = body;
        try {
          const j = JSON.parse(body) as { error?: { message?: string } | string };
          msg = typeof j.error === 'string' ? j.error : (j.error?.message ?? body);
        } catch {
          /* not JSON */
        }
        fail(
          new Ndt7ClientError(
            `HTTP_${res.statusCode}`,
            `ndt7 server refused the ${test} (HTTP ${res.statusCode})${msg ? `: ${msg.slice(0, 300)}` : ''}`,
            true,
          ),
        );
      });
    });
    ws.on('error', (err) => {
      if (!opened) {
        const code = /handshake has timed out/i.test(err.message) ? 'HANDSHAKE_TIMEOUT' : codeOf(err);
        fail(new Ndt7ClientError(code, `cannot open ndt7 ${test}: ${err.message}`, true, err));
      }
      // After open, errors end in 'close', which reports what was measured.
    });
    ws.on('open', () => {
      opened = true;
      t0 = performance.now();
      if (ws.protocol !== NDT7_SUBPROTOCOL) {
        fail(new Ndt7ClientError('NO_SUBPROTOCOL', `server did not accept the ${NDT7_SUBPROTOCOL} subprotocol`, true));
        return;
      }
      hardTimer = setTimeout(() => {
        cut = true;
        ws.terminate();
      }, o.maxDurationMs ?? NDT7_MAX_DURATION_MS);
      if (test === 'upload') startUpload();
    });
    ws.on('message', (data, isBinary) => {
      const len = Array.isArray(data)
        ? data.reduce((n, b) => n + b.length, 0)
        : ((data as Buffer).length ?? (data as ArrayBuffer).byteLength);
      if (test === 'download') {
        // AppInfo counts every application byte, text included (as ndt7-js does).
        bytes += len;
        lastAt = performance.now();
        if (o.capBytes !== undefined && bytes >= o.capBytes && !capped && ws.readyState === WebSocket.OPEN) {
          capped = true;
          ws.close(1000, 'ndt7 client byte cap reached');
        }
      } else if (isBinary) {
        // The server must not send binary data during upload: the spec says close.
        ws.close(1003, 'ndt7: binary message during upload');
        return;
      }
      if (!isBinary) {
        try {
          const m = JSON.parse(String(data)) as Ndt7Measurement;
          if (m && typeof m === 'object') {
            lastServer = m;
            uuid ??= m.ConnectionInfo?.UUID;
          }
        } catch {
          /* ignore what we do not understand */
        }
      }
      progress();
    });
    ws.on('close', (code, reason) => {
      if (settled) return;
      settled = true;
      cleanup();
      if (!opened) {
        reject(new Ndt7ClientError('CLOSED', `ndt7 ${test} closed before it started (${code})`, true));
        return;
      }
      const end = test === 'download' ? lastAt || performance.now() : sentUntil || performance.now();
      const elapsedMs = Math.max(0, end - t0);
      progress(true);
      resolve({
        test,
        bytes,
        elapsedMs,
        clientBps: elapsedMs > 0 ? (bytes * 8 * 1000) / elapsedMs : 0,
        serverBps: measurementBps(lastServer, test),
        lastServer,
        uuid,
        family: remoteAddress?.includes(':') && !remoteAddress.startsWith('::ffff:') ? 6 : 4,
        remoteAddress,
        closeCode: code,
        closeReason: reason.toString('utf8'),
        cut,
        capped,
      });
    });

    let sentUntil = 0;
    function startUpload() {
      // Random bytes, made once per process: nothing on the path can compress them.
      uploadPayload ??= randomBytes(NDT7_MAX_SCALED_MESSAGE_BYTES);
      const buf = uploadPayload;
      let size = NDT7_INITIAL_MESSAGE_BYTES;
      let queued = 0;
      let inflight = 0;
      let sending = true;
      stopTimer = setTimeout(() => {
        sending = false;
        sentUntil = performance.now();
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'ndt7 upload complete');
      }, o.uploadDurationMs ?? NDT7_DEFAULT_DURATION_MS);
      const pump = () => {
        while (sending && ws.readyState === WebSocket.OPEN && inflight < Math.max(2 * size, 1 << 16)) {
          const n = size;
          inflight += n;
          queued += n;
          ws.send(buf.subarray(0, n), { binary: true }, (err) => {
            inflight -= n;
            if (err) return;
            bytes += n;
            if (sending) sentUntil = performance.now();
            if (sending && o.capBytes !== undefined && bytes >= o.capBytes) {
              sending = false;
              capped = true;
              clearTimeout(stopTimer);
              if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'ndt7 client byte cap reached');
              return;
            }
            pump();
          });
          size = nextMessageSize(size, queued);
        }
        progress();
      };
      pump();
    }
  });
}
