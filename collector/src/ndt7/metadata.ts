import { NDT7_EARLY_EXIT_MB, NDT7_MAX_QUERY_BYTES, NDT7_RESERVED_QUERY_PREFIX } from '@hatang/shared';

/** Query keys that carry credentials: read for auth, never stored. */
const SECRET_KEYS = new Set(['access_token']);

export interface Ndt7Query {
  /** Client metadata to store: first value of each key, reserved and secret keys left out. */
  metadata: Record<string, string>;
  /** `access_token` if given (M-Lab style; browsers cannot set headers on a WebSocket). */
  accessToken: string | undefined;
  /** True when the client asked for `early_exit=250`. */
  earlyExit: boolean;
}

export type QueryProblem = { ok: false; message: string };

/**
 * Parse an ndt7 upgrade's query string (ndt7 spec, "Query string parameters"): at most 4096
 * bytes, valid URL-encoded UTF-8; duplicate keys ignored (the first value wins); keys starting
 * with `server_` ignored; `early_exit` only as 250.
 */
export function parseNdt7Query(rawQuery: string): ({ ok: true } & Ndt7Query) | QueryProblem {
  const q = rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
  const bytes = Buffer.byteLength(q, 'utf8');
  if (bytes > NDT7_MAX_QUERY_BYTES) {
    return { ok: false, message: `query string is ${bytes} bytes; ndt7 allows at most ${NDT7_MAX_QUERY_BYTES}` };
  }
  const metadata: Record<string, string> = Object.create(null);
  let accessToken: string | undefined;
  let earlyExit = false;
  if (q === '') return { ok: true, metadata: {}, accessToken, earlyExit };
  for (const pair of q.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(rawKey.replaceAll('+', ' '));
      value = decodeURIComponent(rawValue.replaceAll('+', ' '));
    } catch {
      return {
        ok: false,
        message: `query parameter ${JSON.stringify(rawKey.slice(0, 64))} is not valid URL-encoded UTF-8`,
      };
    }
    if (key === '') continue;
    if (key === 'early_exit') {
      if (value !== String(NDT7_EARLY_EXIT_MB)) {
        return { ok: false, message: `early_exit must be ${NDT7_EARLY_EXIT_MB} (MB), the only value ndt7 defines` };
      }
      earlyExit = true;
    }
    if (SECRET_KEYS.has(key)) {
      accessToken ??= value;
      continue;
    }
    if (key.startsWith(NDT7_RESERVED_QUERY_PREFIX)) continue;
    if (!(key in metadata)) metadata[key] = value;
  }
  return { ok: true, metadata: { ...metadata }, accessToken, earlyExit };
}
