import { connect as netConnect, type Socket } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';

export type Family = 'auto' | '4' | '6';

export interface ConnectionOptions {
  /** Parallel connections per origin; 1 = one stream, one connection. */
  connections?: number;
  /** Connect and header timeout, ms. */
  timeoutMs?: number;
  /** Longest silence in a body, ms. */
  bodyTimeoutMs?: number;
  /** Called with each new socket (to learn the family actually used). */
  onSocket?: (socket: Socket) => void;
}

/**
 * An undici dispatcher with one kept-alive connection per origin (a stream = a connection) and
 * the chosen IP family: 4 or 6 forces it; auto lets the system choose (RFC 8305 happy eyeballs
 * through Node's autoSelectFamily), and `onSocket` reports which it chose.
 */
export function connectionFor(family: Family, opts: ConnectionOptions = {}): Dispatcher {
  const timeout = opts.timeoutMs ?? 10_000;
  const base = buildConnector({
    timeout,
    ...(family === 'auto' ? { autoSelectFamily: true } : { family: Number(family) as 4 | 6 }),
  });
  const connect: buildConnector.connector = (o, cb) =>
    base(o, (...args) => {
      const socket = args[1];
      if (socket && opts.onSocket) opts.onSocket(socket);
      cb(...args);
    });
  return new Agent({
    connections: opts.connections ?? 1,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: timeout,
    bodyTimeout: opts.bodyTimeoutMs ?? 15_000,
    connect,
  });
}

/** Numeric family of a socket's remote address (IPv4-mapped IPv6 counts as 4). */
export function familyOfSocket(socket: Socket): 4 | 6 | undefined {
  const a = socket.remoteAddress;
  if (!a) return undefined;
  if (a.startsWith('::ffff:') && a.includes('.')) return 4;
  return socket.remoteFamily === 'IPv6' || a.includes(':') ? 6 : 4;
}

/** Numeric family of an address string. */
export function familyOf(address: string | undefined): 4 | 6 {
  return address?.includes(':') ? 6 : 4;
}

/**
 * Total server processing time from a Server-Timing header (sum of `dur` of every metric named
 * `app`), ms; undefined when absent or unreadable. Subtracted from ping RTTs.
 */
export function serverTimingMs(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header.join(',') : header;
  let total: number | undefined;
  for (const metric of text.split(',')) {
    const [name, ...params] = metric.trim().split(';');
    if (name?.trim() !== 'app') continue;
    for (const p of params) {
      const m = /^\s*dur\s*=\s*"?([0-9.]+)"?\s*$/.exec(p);
      if (m) total = (total ?? 0) + Number(m[1]);
    }
  }
  return total !== undefined && Number.isFinite(total) ? total : undefined;
}

/** One reusable receive buffer for every fast connection: onread callbacks run synchronously. */
let sharedReadBuffer: Buffer | undefined;
const READ_BUFFER_BYTES = 1024 * 1024;

function httpStatusError(status: number): Error {
  return Object.assign(new Error(`download answered HTTP ${status}`), { code: `HTTP_${status}` });
}

/**
 * A minimal HTTP/1.1 client for one job: repeated `GET` of a body with a Content-Length on one
 * kept-alive plain-TCP connection, counting body bytes without keeping them. Node's `onread`
 * reads the socket into one reused 1 MiB buffer, so a multi-Gbit/s download costs a small share
 * of a core (a stream-based client is CPU-bound first; docs/benchmarks.md, loopback). Used for
 * `http:` speed-test downloads only; everything else goes through undici.
 */
export class CountingGetConnection {
  readonly #url: URL;
  readonly #family: Family;
  readonly #timeoutMs: number;
  #socket: Socket | undefined;
  #connecting: Promise<Socket> | undefined;
  #used: 4 | 6 | undefined;
  // State of the response in progress.
  #head = '';
  #left = -1;
  #status = 0;
  #onData: ((n: number) => void) | undefined;
  #settle: ((err?: Error) => void) | undefined;

  constructor(base: string, family: Family, timeoutMs = 15_000) {
    this.#url = new URL(base);
    if (this.#url.protocol !== 'http:') throw new Error('CountingGetConnection speaks plain http only');
    this.#family = family;
    this.#timeoutMs = timeoutMs;
  }

  /** Family of the socket, once connected. */
  family(): 4 | 6 | undefined {
    return this.#used;
  }

  #connect(): Promise<Socket> {
    if (this.#socket && !this.#socket.destroyed) return Promise.resolve(this.#socket);
    this.#connecting ??= new Promise<Socket>((resolve, reject) => {
      sharedReadBuffer ??= Buffer.allocUnsafe(READ_BUFFER_BYTES);
      const host = this.#url.hostname.replace(/^\[|\]$/g, '');
      const s = netConnect({
        host,
        port: Number(this.#url.port || 80),
        ...(this.#family === 'auto' ? { autoSelectFamily: true } : { family: Number(this.#family) as 4 | 6 }),
        noDelay: true,
        onread: { buffer: sharedReadBuffer, callback: (n: number, buf: Uint8Array) => this.#read(n, buf as Buffer) },
      });
      s.setTimeout(this.#timeoutMs, () =>
        s.destroy(Object.assign(new Error('connection idle too long'), { code: 'TIMEOUT' })),
      );
      s.once('connect', () => {
        this.#used = familyOfSocket(s);
        this.#connecting = undefined;
        resolve(s);
      });
      s.on('error', (err) => {
        this.#connecting = undefined;
        this.#settle?.(err);
        reject(err);
      });
      s.on('close', () => {
        this.#settle?.(Object.assign(new Error('connection closed mid-response'), { code: 'ECONNRESET' }));
      });
      this.#socket = s;
    });
    return this.#connecting;
  }

  #read(n: number, buf: Buffer): boolean {
    let off = 0;
    if (this.#left < 0) {
      this.#head += buf.toString('latin1', 0, n);
      const end = this.#head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.#head.length > 16 * 1024)
          this.#socket?.destroy(Object.assign(new Error('response head too long'), { code: 'BAD_RESPONSE' }));
        return true;
      }
      const head = this.#head.slice(0, end);
      off = n - (this.#head.length - (end + 4));
      this.#head = '';
      this.#status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (!len) {
        this.#socket?.destroy(Object.assign(new Error('response without Content-Length'), { code: 'BAD_RESPONSE' }));
        return true;
      }
      this.#left = Number(len[1]);
    }
    const body = Math.min(n - off, this.#left);
    this.#left -= body;
    if (this.#status === 200) this.#onData?.(body);
    if (this.#left === 0) {
      this.#left = -1;
      this.#settle?.(this.#status === 200 ? undefined : httpStatusError(this.#status));
    }
    return true;
  }

  /** GET `path` and count its body bytes through `onData`; resolves at the end of the body. */
  async get(path: string, signal: AbortSignal, onData: (n: number) => void): Promise<void> {
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    const s = await this.#connect();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => s.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      this.#onData = onData;
      this.#settle = (err) => {
        this.#settle = undefined;
        this.#onData = undefined;
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(signal.reason ?? new Error('aborted'));
        else if (err) reject(err);
        else resolve();
      };
      this.#head = '';
      this.#left = -1;
      s.write(
        `GET ${path} HTTP/1.1\r\nHost: ${this.#url.host}\r\nCache-Control: no-store\r\nUser-Agent: hatang-agent\r\n\r\n`,
      );
    });
  }

  close(): void {
    this.#socket?.destroy();
  }
}
