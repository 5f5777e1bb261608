import { mlabBackoffMs, standardNormal } from '@hatang/shared';

/**
 * M-Lab locate v2 client (m-lab/locate USAGE.md): `GET /v2/nearest/ndt/ndt7` answers up to four
 * servers, nearest first, each with ready-made ndt7 URLs that carry a short-lived access token.
 * 204 (or an empty list) means M-Lab has no capacity now: back off 60 → 960 s (± 5 %) as the
 * ndt7 spec asks. 429 means our IP or User-Agent is over its limit: give up until the next run.
 */

export interface LocateTarget {
  /** Machine name, e.g. mlab1-sin01.mlab-oti.measurement-lab.org. */
  machine: string;
  /** Full download URL including access_token. */
  downloadUrl: string;
  uploadUrl: string;
  city?: string | undefined;
  country?: string | undefined;
}

export interface LocateOptions {
  /** Locate v2 URL for ndt7. */
  url: string;
  userAgent: string;
  signal: AbortSignal;
  /** Back-off waits to try after "no capacity" (0–5). */
  retries: number;
  /** Added to the query (M-Lab counts clients by name). */
  clientName?: string;
  clientVersion?: string;
  /** Injectable wait (tests); default a real timer that honours the signal. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Uniform [0, 1) source (tests); default Math.random. */
  random?: () => number;
  /** Told before each back-off wait (progress for the CLI). */
  onWait?: (ms: number, attempt: number) => void;
}

export class LocateError extends Error {
  readonly code: string;
  readonly retryAfterS: number | undefined;
  constructor(code: string, message: string, retryAfterS?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'LocateError';
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new LocateError('ABORTED', 'locate back-off aborted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new LocateError('ABORTED', 'locate back-off aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface RawResult {
  machine?: unknown;
  location?: { city?: unknown; country?: unknown };
  urls?: Record<string, unknown>;
}

/** Turn a locate v2 body into targets, preferring wss:// URLs and keeping locate's order. */
export function parseLocateBody(body: unknown): LocateTarget[] {
  const results = (body as { results?: unknown })?.results;
  if (!Array.isArray(results)) return [];
  const out: LocateTarget[] = [];
  for (const r of results as RawResult[]) {
    const urls = r?.urls ?? {};
    const pick = (path: string) => {
      for (const scheme of ['wss', 'ws']) {
        const u = urls[`${scheme}://${path}`];
        if (typeof u === 'string' && /^wss?:\/\//.test(u)) return u;
      }
      return undefined;
    };
    const downloadUrl = pick('/ndt/v7/download');
    const uploadUrl = pick('/ndt/v7/upload');
    if (!downloadUrl || !uploadUrl) continue;
    out.push({
      machine: typeof r.machine === 'string' ? r.machine : new URL(downloadUrl).hostname,
      downloadUrl,
      uploadUrl,
      city: typeof r.location?.city === 'string' ? r.location.city : undefined,
      country: typeof r.location?.country === 'string' ? r.location.country : undefined,
    });
  }
  return out;
}

/** Ask locate v2 for ndt7 servers; backs off on 204 or an empty list; throws LocateError. */
export async function locateNdt7(o: LocateOptions): Promise<LocateTarget[]> {
  const url = new URL(o.url);
  if (o.clientName) url.searchParams.set('client_name', o.clientName);
  if (o.clientVersion) url.searchParams.set('client_version', o.clientVersion);
  const sleep = o.sleep ?? defaultSleep;
  const random = o.random ?? Math.random;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { 'user-agent': o.userAgent, accept: 'application/json' },
        redirect: 'follow',
        signal: o.signal,
      });
    } catch (cause) {
      if (o.signal.aborted) throw new LocateError('ABORTED', 'locate aborted', undefined, cause);
      throw new LocateError(
        'LOCATE_UNREACHABLE',
        `cannot reach the locate service: ${(cause as Error).message}`,
        undefined,
        cause,
      );
    }
    let noCapacity = false;
    if (res.status === 200) {
      let body: unknown;
      try {
        body = await res.json();
      } catch (cause) {
        throw new LocateError(
          'LOCATE_BAD_ANSWER',
          'the locate service answered something that is not JSON',
          undefined,
          cause,
        );
      }
      const targets = parseLocateBody(body);
      if (targets.length > 0) return targets;
      noCapacity = true;
    } else if (res.status === 204) {
      await res.body?.cancel();
      noCapacity = true;
    } else if (res.status === 429) {
      await res.body?.cancel();
      const ra = Number(res.headers.get('retry-after'));
      throw new LocateError(
        'RATE_LIMITED',
        'the locate service says this address ran too many tests; the next scheduled run will try again',
        Number.isFinite(ra) && ra > 0 ? ra : undefined,
      );
    } else {
      await res.body?.cancel();
      throw new LocateError(`HTTP_${res.status}`, `the locate service answered HTTP ${res.status}`);
    }
    if (noCapacity) {
      const wait = attempt < o.retries ? mlabBackoffMs(attempt, standardNormal(random(), random())) : undefined;
      if (wait === undefined) {
        throw new LocateError('NO_CAPACITY', 'M-Lab has no capacity now; the next scheduled run will try again');
      }
      o.onWait?.(wait, attempt);
      await sleep(wait, o.signal);
    }
  }
}

/** The URL without its query (access tokens never leave the agent in results or logs). */
export function withoutQuery(u: string): string {
  const url = new URL(u);
  url.search = '';
  url.hash = '';
  return url.toString();
}
