import { Agent, type Dispatcher } from 'undici';

export type Family = 'auto' | '4' | '6';

/** An undici dispatcher with one connection per origin (a stream = a connection) and the chosen IP family. */
export function connectionFor(family: Family, opts: { connections?: number; timeoutMs?: number } = {}): Dispatcher {
  return new Agent({
    connections: opts.connections ?? 1,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connectTimeout: opts.timeoutMs ?? 10_000,
    headersTimeout: opts.timeoutMs ?? 10_000,
    bodyTimeout: opts.timeoutMs ?? 15_000,
    connect: family === 'auto' ? {} : { family: Number(family) as 4 | 6 },
  });
}

/** Numeric family of a connected socket address. */
export function familyOf(address: string | undefined): 4 | 6 {
  return address?.includes(':') ? 6 : 4;
}
