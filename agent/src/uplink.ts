import { gzipSync } from 'node:zlib';
import {
  API_PREFIX,
  HatangError,
  type IngestEnvelope,
  type IngestResponse,
  MAX_BATCH_RESULTS,
  WIRE_SCHEMA_VERSION,
} from '@hatang/shared';
import { type Dispatcher, request } from 'undici';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import type { Outbox } from './outbox/outbox.js';

export interface UplinkOptions {
  collectorUrl: string;
  token: string;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  batchSize?: number;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  /** Backoff bounds, ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
}

export type PushOutcome =
  | { kind: 'empty' }
  | { kind: 'sent'; accepted: number; duplicate: number; rejected: number }
  | { kind: 'retry'; afterMs: number; reason: string }
  | { kind: 'fatal'; reason: string; code: string };

/** Parse Retry-After (seconds or HTTP date) into ms; undefined when absent or invalid. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const d = Date.parse(v);
  return Number.isNaN(d) ? undefined : Math.max(0, d - now);
}

/**
 * Pushes the outbox to the collector in batches. A result leaves the outbox only when the
 * collector acknowledged it; failures back off exponentially with jitter, and 429/503 wait as
 * the collector says (Retry-After).
 */
export class Uplink {
  readonly #o: Required<Omit<UplinkOptions, 'dispatcher'>> & { dispatcher: Dispatcher | undefined };
  #failures = 0;
  #batchSize: number;
  /** Wall-clock time before which no push is attempted. */
  notBefore = 0;
  lastError: string | undefined;
  lastSuccessAt: number | undefined;

  constructor(o: UplinkOptions) {
    this.#o = {
      batchSize: MAX_BATCH_RESULTS,
      timeoutMs: 30_000,
      minBackoffMs: 1_000,
      maxBackoffMs: 15 * 60_000,
      random: Math.random,
      ...o,
      dispatcher: o.dispatcher,
    };
    this.#batchSize = Math.min(this.#o.batchSize, MAX_BATCH_RESULTS);
  }

  /** Exponential backoff with full jitter in [½, 1] of the step. */
  backoffMs(): number {
    const step = Math.min(this.#o.maxBackoffMs, this.#o.minBackoffMs * 2 ** Math.min(this.#failures, 20));
    return Math.round(step * (0.5 + 0.5 * this.#o.random()));
  }

  #retry(reason: string, afterMs?: number): PushOutcome {
    this.#failures++;
    const wait = afterMs ?? this.backoffMs();
    this.notBefore = this.#o.clock.now() + wait;
    this.lastError = reason;
    this.#o.log.warn({ reason, retryInMs: wait }, 'push failed; will retry');
    return { kind: 'retry', afterMs: wait, reason };
  }

  /** Send one batch. */
  async pushOnce(): Promise<PushOutcome> {
    const batch = this.#o.outbox.peek(this.#batchSize);
    if (batch.length === 0) return { kind: 'empty' };
    const env: IngestEnvelope = {
      schema: WIRE_SCHEMA_VERSION,
      sentAt: new Date(this.#o.clock.now()).toISOString(),
      clock: this.#o.clock.stamp(),
      results: batch as unknown as IngestEnvelope['results'],
    };
    const body = gzipSync(JSON.stringify(env));
    let status: number;
    let text: string;
    let headers: Record<string, string | string[] | undefined>;
    try {
      const res = await request(new URL(`${API_PREFIX}/results`, this.#o.collectorUrl), {
        method: 'POST',
        body,
        headers: {
          authorization: `Bearer ${this.#o.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        ...(this.#o.dispatcher ? { dispatcher: this.#o.dispatcher } : {}),
      });
      status = res.statusCode;
      headers = res.headers;
      text = await res.body.text();
    } catch (err) {
      return this.#retry(`collector unreachable: ${(err as Error).message}`);
    }
    if (status === 200) {
      const ack = JSON.parse(text) as IngestResponse;
      const now = this.#o.clock.now();
      this.#o.outbox.settle([...ack.accepted, ...ack.duplicate], ack.rejected, now);
      this.#failures = 0;
      this.notBefore = 0;
      this.lastError = undefined;
      this.lastSuccessAt = now;
      if (ack.rejected.length)
        this.#o.log.warn({ rejected: ack.rejected }, 'collector rejected results; kept as dead letters');
      this.#batchSize = Math.min(this.#o.batchSize, this.#batchSize * 2);
      return {
        kind: 'sent',
        accepted: ack.accepted.length,
        duplicate: ack.duplicate.length,
        rejected: ack.rejected.length,
      };
    }
    if (status === 413 && this.#batchSize > 1) {
      this.#batchSize = Math.max(1, Math.floor(this.#batchSize / 2));
      return { kind: 'retry', afterMs: 0, reason: `batch too large; retrying with ${this.#batchSize}` };
    }
    if (status === 429 || status === 503) {
      const after = parseRetryAfter(headers['retry-after'], this.#o.clock.now());
      return this.#retry(`collector busy (HTTP ${status})`, after);
    }
    if (status === 401 || status === 403) {
      this.lastError = `collector refused the agent token (HTTP ${status})`;
      this.#failures++;
      this.notBefore = this.#o.clock.now() + this.backoffMs();
      return { kind: 'fatal', reason: this.lastError, code: 'HATANG_ERR_UNAUTHORIZED' };
    }
    return this.#retry(`collector answered HTTP ${status}: ${text.slice(0, 200)}`);
  }

  /** Push until the outbox is empty or a push fails. Returns the totals. */
  async drain(): Promise<{ accepted: number; duplicate: number; rejected: number; last: PushOutcome }> {
    const total = { accepted: 0, duplicate: 0, rejected: 0 };
    for (;;) {
      if (this.#o.clock.now() < this.notBefore)
        return {
          ...total,
          last: {
            kind: 'retry',
            afterMs: this.notBefore - this.#o.clock.now(),
            reason: this.lastError ?? 'backing off',
          },
        };
      const out = await this.pushOnce();
      if (out.kind === 'sent') {
        total.accepted += out.accepted;
        total.duplicate += out.duplicate;
        total.rejected += out.rejected;
        continue;
      }
      if (out.kind === 'retry' && out.afterMs === 0) continue;
      return { ...total, last: out };
    }
  }
}

export function requireToken(token: string | undefined): string {
  if (!token) {
    throw new HatangError('HATANG_ERR_CONFIG', 'no agent token: set collector.token or collector.tokenFile', {
      hint: 'Enrol first: hatang-agent enroll --collector URL --code CODE',
    });
  }
  return token;
}
