import { execFile } from 'node:child_process';
import type { Ndt7TcpInfo } from '@hatang/shared';

/**
 * The kernel's TCP_INFO for running ndt7 tests. Node has no getsockopt(TCP_INFO), so on Linux we
 * read it the way `ss` does (netlink sock_diag) by running `ss -tin` — one process per sampling
 * round for every running test, never one per connection. Where `ss` is missing (not Linux, no
 * iproute2) the sampler turns itself off and measurements carry AppInfo only: the ndt7 spec makes
 * TCPInfo optional.
 */

/** TCP_INFO fields read from one `ss -tin` details line, without ElapsedTime. */
export type TcpInfoFields = Omit<Ndt7TcpInfo, 'ElapsedTime'>;

/** "127.0.0.1" / "::1" / "::ffff:127.0.0.1" → one comparable form. */
export function normaliseAddr(addr: string): string {
  let a = addr.replace(/^\[|\]$/g, '').toLowerCase();
  const pct = a.indexOf('%');
  if (pct >= 0) a = a.slice(0, pct);
  if (a.startsWith('::ffff:') && a.includes('.')) a = a.slice(7);
  return a;
}

/** Key of one connection as seen from the server: local port and peer address:port. */
export function connKey(localPort: number, peerAddr: string, peerPort: number): string {
  return `${localPort} ${normaliseAddr(peerAddr)} ${peerPort}`;
}

function splitHostPort(s: string): { addr: string; port: number } | undefined {
  const i = s.lastIndexOf(':');
  if (i < 0) return undefined;
  const port = Number(s.slice(i + 1));
  return Number.isInteger(port) ? { addr: s.slice(0, i), port } : undefined;
}

const ms = (v: string | undefined) => (v === undefined ? undefined : Math.round(Number.parseFloat(v) * 1000));
const int = (v: string | undefined) => (v === undefined ? undefined : Number.parseInt(v, 10));

/** Parse the details line of one socket (`ss -i`) into ndt-server's TCPInfo names and units (µs, bytes). */
export function parseSsDetails(line: string): TcpInfoFields {
  const kv = new Map<string, string>();
  for (const tok of line.trim().split(/\s+/)) {
    const i = tok.indexOf(':');
    if (i > 0) kv.set(tok.slice(0, i), tok.slice(i + 1));
  }
  // "delivery_rate 1603907368bps" and "send …bps" are space-separated, not key:value.
  const dr = /\bdelivery_rate (\d+(?:\.\d+)?)([KMG]?)bps\b/.exec(line);
  const scale: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9 };
  const rtt = kv.get('rtt')?.split('/');
  const limited = (v: string | undefined) => (v === undefined ? undefined : ms(/^(\d+(?:\.\d+)?)ms/.exec(v)?.[1]));
  const out: TcpInfoFields = {
    BytesAcked: int(kv.get('bytes_acked')),
    BytesReceived: int(kv.get('bytes_received')),
    BytesSent: int(kv.get('bytes_sent')),
    BytesRetrans: int(kv.get('bytes_retrans')),
    MinRTT: ms(kv.get('minrtt')),
    RTT: ms(rtt?.[0]),
    RTTVar: ms(rtt?.[1]),
    BusyTime: limited(kv.get('busy')),
    RWndLimited: limited(kv.get('rwnd_limited')),
    SndBufLimited: limited(kv.get('sndbuf_limited')),
    SndCwnd: int(kv.get('cwnd')),
    SndMSS: int(kv.get('mss')),
    TotalRetrans: int(kv.get('retrans')?.split('/')[1]),
    DeliveryRate: dr ? Math.round((Number(dr[1]) * (scale[dr[2] ?? ''] ?? 1)) / 8) : undefined,
  };
  // A socket that never sent has no bytes_sent; the counters are still meaningful as zero.
  if (out.BytesAcked !== undefined || out.BytesReceived !== undefined) {
    out.BytesSent ??= 0;
    out.BytesRetrans ??= 0;
    out.BytesAcked ??= 0;
    out.BytesReceived ??= 0;
  }
  for (const k of Object.keys(out) as (keyof TcpInfoFields)[]) if (out[k] === undefined) delete out[k];
  return out;
}

/**
 * Parse `ss -tinH state established …` output: a header line per socket ("Recv-Q Send-Q Local
 * Peer"), then an indented details line. Returns TCP info by connKey.
 */
export function parseSsOutput(text: string): Map<string, TcpInfoFields> {
  const out = new Map<string, TcpInfoFields>();
  let key: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (/^\s/.test(line)) {
      if (key) out.set(key, parseSsDetails(line));
      key = undefined;
      continue;
    }
    const cols = line.trim().split(/\s+/);
    // With a state filter ss leaves out the State column: Recv-Q Send-Q Local Peer [Process].
    const local = splitHostPort(cols[2] ?? '');
    const peer = splitHostPort(cols[3] ?? '');
    key = local && peer ? connKey(local.port, peer.addr, peer.port) : undefined;
  }
  return out;
}

export interface TcpInfoSampler {
  /** Follow a connection; `latest()` then returns its last sample, `sampleNow()` a fresh one. */
  track(localPort: number, peerAddr: string, peerPort: number): TrackedConn;
  /** True once `ss` proved unavailable. */
  readonly disabled: boolean;
  close(): void;
}

/** One reading: the fields and when (performance.now(), the middle of the `ss` run). */
export interface TcpInfoSample {
  fields: TcpInfoFields;
  at: number;
}

export interface TrackedConn {
  latest(): TcpInfoSample | undefined;
  /** Read TCP_INFO now (one `ss` run); resolves undefined when unavailable. */
  sampleNow(): Promise<TcpInfoSample | undefined>;
  untrack(): void;
}

export interface SamplerOptions {
  intervalMs: number;
  /** Command to run (tests may point it elsewhere); default `ss`. */
  command?: string;
  timeoutMs?: number;
}

/** One sampler per ndt7 server: one `ss` run per interval covering every running test. */
export function createTcpInfoSampler(opts: SamplerOptions): TcpInfoSampler {
  const command = opts.command ?? 'ss';
  const conns = new Map<string, { localPort: number; last: TcpInfoSample | undefined }>();
  let disabled = process.platform !== 'linux';
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  function run(): Promise<void> {
    if (disabled || conns.size === 0) return Promise.resolve();
    if (running) return running;
    const ports = [...new Set([...conns.values()].map((c) => c.localPort))];
    const filter = `( ${ports.map((p) => `sport = :${p}`).join(' or ')} )`;
    const started = performance.now();
    running = new Promise<void>((resolve) => {
      execFile(
        command,
        ['-tinH', 'state', 'established', filter],
        { timeout: opts.timeoutMs ?? 2000, maxBuffer: 8 * 1024 * 1024 },
        (err, stdout) => {
          running = undefined;
          if (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOENT') disabled = true;
            return resolve();
          }
          const parsed = parseSsOutput(stdout);
          const at = (started + performance.now()) / 2;
          for (const [key, c] of conns) {
            const v = parsed.get(key);
            if (v) c.last = { fields: v, at };
          }
          resolve();
        },
      );
    });
    return running;
  }

  function schedule() {
    if (timer || disabled) return;
    timer = setInterval(() => {
      if (conns.size === 0) {
        clearInterval(timer);
        timer = undefined;
        return;
      }
      void run();
    }, opts.intervalMs);
    timer.unref();
  }

  return {
    get disabled() {
      return disabled;
    },
    track(localPort, peerAddr, peerPort) {
      const key = connKey(localPort, peerAddr, peerPort);
      const c = { localPort, last: undefined as TcpInfoSample | undefined };
      conns.set(key, c);
      schedule();
      return {
        latest: () => c.last,
        async sampleNow() {
          // A round already running may have started before this call: wait for it, then run fresh.
          if (running) await running;
          await run();
          return c.last;
        },
        untrack: () => {
          if (conns.get(key) === c) conns.delete(key);
        },
      };
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
      conns.clear();
    },
  };
}
