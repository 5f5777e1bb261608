import http from 'node:http';
import https from 'node:https';

/**
 * A small HTTP client on node:http for the daemon's own requests (push, central config, status):
 * undici's parser is WebAssembly and costs the idle daemon ~20 MB of memory, so it is loaded only
 * by the probes, which run in their own process (runner.ts).
 */

export interface LiteResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** Largest answer read, bytes; the collector's answers are a few kB. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

export function httpRequest(
  url: URL,
  o: {
    method?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
    signal?: AbortSignal | undefined;
    timeoutMs?: number;
  } = {},
): Promise<LiteResponse> {
  const timeout = AbortSignal.timeout(o.timeoutMs ?? 30_000);
  const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
  const mod = url.protocol === 'https:' ? https : http;
  const body = typeof o.body === 'string' ? Buffer.from(o.body) : o.body;
  return new Promise((resolve, reject) => {
    const req = mod.request(
      url,
      {
        method: o.method ?? 'GET',
        headers: { ...(o.headers ?? {}), ...(body ? { 'content-length': String(body.length) } : {}) },
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) {
            res.destroy(Object.assign(new Error('answer larger than 4 MiB'), { code: 'ANSWER_TOO_LARGE' }));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', (err) => {
      if (signal.aborted && signal.reason instanceof Error) {
        reject(Object.assign(signal.reason, { cause: err }));
        return;
      }
      reject(err);
    });
    req.end(body);
  });
}

/** The stable part of a network error for messages: ECONNREFUSED, TimeoutError, … */
export function netErrorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return typeof e?.name === 'string' ? e.name : 'ERROR';
}
