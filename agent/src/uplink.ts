import { gzipSync } from 'node:zlib';
import {
  type AgentStatus,
  API_PREFIX,
  HatangError,
  type IngestEnvelope,
  type IngestResponse,
  MAX_BATCH_RESULTS,
  UPLINK_MAX_BACKOFF_MS,
  UPLINK_MAX_RETRY_AFTER_MS,
  UPLINK_MIN_BACKOFF_MS,
  WIRE_SCHEMA_VERSION,
} from '@hatang/shared';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import { httpRequest, netErrorCode } from './net/lite-http.js';
import type { Outbox } from './outbox/outbox.js';

export interface UplinkOptions {
  collectorUrl: string;
  token: string;
  outbox: Outbox;
  clock: Clock;
  log: Logger;
  batchSize?: number;
  timeoutMs?: number;
  /** Backoff bounds, ms. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
  /** Bytes each push moved over the line (request + answer), for the data budget. */
  onBytes?: (bytes: number) => void;
}

export type PushOutcome =
  | { kind: 'empty' }
  | { kind: 'sent'; accepted: number; duplicate: number; rejected: number }
  | { kind: 'retry'; afterMs: number; reason: string }
  | { kind: 'fatal'; reason: string; code: string };

/** What `status` shows about pushing; persisted in the outbox's kv table. */
export interface UplinkState {
  lastAttemptAt?: number;
  lastSuccessAt?: number;
  lastError?: string;
  /** No push before this wall time (backoff or Retry-After). */
  notBefore?: number;
  failures: number;
}

/** Parse Retry-After (seconds or HTTP date) into ms; undefined when absent or invalid. */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const d = Date.parse(v);
  return Number.isNaN(d) ? undefined : Math.max(0, d - now);
}

/** Rough bytes of HTTP/1.1 headers both ways, for the data budget. */
const HTTP_OVERHEAD_BYTES = 600;

/**
 * Pushes the outbox to the collector in batches (docs/agent.md "Uplink"). A result leaves the
 * outbox only when the collector acknowledged it (accepted or duplicate); rejected ones become
 * dead letters. Failures back off exponentially with jitter; 429/503 wait as the collector says
 * (Retry-After, capped at UPLINK_MAX_RETRY_AFTER_MS); 413 halves the batch, and a single result
 * still too large becomes a dead letter.
 */
export class Uplink {
  readonly #o: Required<Omit<UplinkOptions, 'onBytes'>> & Pick<UplinkOptions, 'onBytes'>;
  #failures = 0;
  #batchSize: number;
  /** Wall-clock time before which no push is attempted. */
  notBefore = 0;
  /** The wait asked for when notBefore was set, ms (bounds it when the wall clock steps back). */
  #waitMs = 0;
  lastError: string | undefined;
  lastSuccessAt: number | undefined;
  lastAttemptAt: number | undefined;

  constructor(o: UplinkOptions) {
    this.#o = {
      batchSize: MAX_BATCH_RESULTS,
      timeoutMs: 30_000,
      minBackoffMs: UPLINK_MIN_BACKOFF_MS,
      maxBackoffMs: UPLINK_MAX_BACKOFF_MS,
      random: Math.random,
      ...o,
    };
    this.#batchSize = Math.min(this.#o.batchSize, MAX_BATCH_RESULTS);
    const saved = o.outbox.getJson<UplinkState>('uplink.state');
    if (saved) {
      this.lastSuccessAt = saved.lastSuccessAt;
      this.lastAttemptAt = saved.lastAttemptAt;
      this.lastError = saved.lastError;
    }
  }

  /** Exponential backoff with jitter: a uniform draw in [½, 1] of min(max, min·2^failures). */
  backoffMs(): number {
    const step = Math.min(this.#o.maxBackoffMs, this.#o.minBackoffMs * 2 ** Math.min(this.#failures, 20));
    return Math.round(step * (0.5 + 0.5 * this.#o.random()));
  }

  state(): UplinkState {
    return {
      failures: this.#failures,
      ...(this.lastAttemptAt !== undefined ? { lastAttemptAt: this.lastAttemptAt } : {}),
      ...(this.lastSuccessAt !== undefined ? { lastSuccessAt: this.lastSuccessAt } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      ...(this.notBefore > 0 ? { notBefore: this.notBefore } : {}),
    };
  }

  #save(): void {
    try {
      this.#o.outbox.setJson('uplink.state', this.state());
    } catch (err) {
      this.#o.log.warn({ err }, 'could not save uplink state');
    }
  }

  #retry(reason: string, afterMs?: number): PushOutcome {
    this.#failures++;
    const wait = afterMs ?? this.backoffMs();
    this.#waitMs = wait;
    this.notBefore = this.#o.clock.now() + wait;
    this.lastError = reason;
    this.#save();
    this.#o.log.warn({ reason, retryInMs: wait }, 'push failed; will retry');
    return { kind: 'retry', afterMs: wait, reason };
  }

  /**
   * The outbox status block sent with each batch (docs/protocol.md §1.1). It only informs the
   * dashboard, so a failure to read it never holds delivery up: the batch goes without it.
   */
  #status(inBatch: number): AgentStatus | undefined {
    try {
      return this.#o.outbox.status(inBatch);
    } catch (err) {
      this.#o.log.warn({ err }, 'could not read the outbox status; sending the batch without it');
      return undefined;
    }
  }

  /** Send one batch. */
  async pushOnce(signal?: AbortSignal): Promise<PushOutcome> {
    const batch = this.#o.outbox.peek(this.#batchSize);
    if (batch.length === 0) return { kind: 'empty' };
    this.lastAttemptAt = this.#o.clock.now();
    const env: IngestEnvelope = {
      schema: WIRE_SCHEMA_VERSION,
      sentAt: new Date(this.#o.clock.now()).toISOString(),
      clock: this.#o.clock.stamp(),
      results: batch as unknown as IngestEnvelope['results'],
    };
    const agentStatus = this.#status(batch.length);
    if (agentStatus) env.agentStatus = agentStatus;
    const body = gzipSync(JSON.stringify(env));
    let status: number;
    let text: string;
    let headers: Record<string, string | string[] | undefined>;
    try {
      const res = await httpRequest(new URL(`${API_PREFIX}/results`, this.#o.collectorUrl), {
        method: 'POST',
        body,
        headers: {
          authorization: `Bearer ${this.#o.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        signal,
        timeoutMs: this.#o.timeoutMs,
      });
      status = res.status;
      headers = res.headers;
      text = res.text;
    } catch (err) {
      this.#o.onBytes?.(body.length + HTTP_OVERHEAD_BYTES);
      if (signal?.aborted) return { kind: 'retry', afterMs: 0, reason: 'push aborted: the agent is stopping' };
      const e = err as Error;
      return this.#retry(`collector unreachable: ${netErrorCode(err)}${e.message ? ` (${e.message})` : ''}`);
    }
    this.#o.onBytes?.(body.length + Buffer.byteLength(text) + HTTP_OVERHEAD_BYTES);
    const now = this.#o.clock.now();
    if (status === 200) {
      let ack: IngestResponse;
      try {
        ack = JSON.parse(text) as IngestResponse;
        if (!Array.isArray(ack.accepted) || !Array.isArray(ack.duplicate) || !Array.isArray(ack.rejected))
          throw new Error('not an ingest answer');
      } catch {
        return this.#retry(`collector answered 200 with something that is not an ingest answer: ${text.slice(0, 120)}`);
      }
      // Only ids of this batch are settled, whatever the answer lists.
      const ids = new Set(batch.map((r) => r.id));
      const acked = [...ack.accepted, ...ack.duplicate].filter((id) => ids.has(id));
      const rejected = ack.rejected.filter((r) => r.id !== null && ids.has(r.id));
      const settled = this.#o.outbox.settle(acked, rejected, now);
      if (settled.deleted + settled.dead === 0) {
        return this.#retry('collector acknowledged none of the batch');
      }
      this.#failures = 0;
      this.notBefore = 0;
      this.lastError = undefined;
      this.lastSuccessAt = now;
      this.#save();
      if (rejected.length)
        this.#o.log.warn({ rejected }, 'collector rejected results; kept as dead letters (hatang-agent status)');
      this.#batchSize = Math.min(this.#o.batchSize, this.#batchSize * 2);
      return {
        kind: 'sent',
        accepted: ack.accepted.filter((id) => ids.has(id)).length,
        duplicate: ack.duplicate.filter((id) => ids.has(id)).length,
        rejected: rejected.length,
      };
    }
    if (status === 413) {
      if (batch.length > 1) {
        this.#batchSize = Math.max(1, Math.floor(batch.length / 2));
        this.#o.log.warn({ batch: batch.length, next: this.#batchSize }, 'batch too large; halving');
        return { kind: 'retry', afterMs: 0, reason: `batch too large; retrying with ${this.#batchSize}` };
      }
      const only = batch[0]!;
      this.#o.outbox.settle(
        [],
        [
          {
            id: only.id,
            code: 'HATANG_ERR_PAYLOAD_TOO_LARGE',
            message: 'this one result is larger than the collector accepts',
          },
        ],
        now,
      );
      this.#o.log.error({ id: only.id }, 'a single result is too large for the collector; kept as a dead letter');
      return { kind: 'sent', accepted: 0, duplicate: 0, rejected: 1 };
    }
    if (status === 429 || status === 503) {
      const asked = parseRetryAfter(headers['retry-after'], now);
      const after = asked === undefined ? undefined : Math.min(asked, UPLINK_MAX_RETRY_AFTER_MS);
      return this.#retry(
        `collector busy (HTTP ${status}${asked !== undefined ? `, Retry-After ${Math.round(asked / 1000)} s` : ''})`,
        after,
      );
    }
    if (status === 401 || status === 403) {
      const out = this.#retry(`collector refused the agent token (HTTP ${status}): enrol again`);
      return { kind: 'fatal', reason: (out as { reason: string }).reason, code: 'HATANG_ERR_UNAUTHORIZED' };
    }
    return this.#retry(`collector answered HTTP ${status}: ${text.slice(0, 200)}`);
  }

  /** Push until the outbox is empty or a push fails. Returns the totals. */
  async drain(
    signal?: AbortSignal,
  ): Promise<{ accepted: number; duplicate: number; rejected: number; last: PushOutcome }> {
    const total = { accepted: 0, duplicate: 0, rejected: 0 };
    for (;;) {
      if (signal?.aborted) return { ...total, last: { kind: 'retry', afterMs: 0, reason: 'stopping' } };
      // notBefore is wall time: after the wall clock stepped back (NTP correcting a clock that ran
      // ahead) it can lie months away. A wait is never longer than the one asked for, so it is
      // cut to that instead of stalling delivery until the wall clock catches up.
      if (this.notBefore - this.#o.clock.now() > this.#waitMs) this.notBefore = this.#o.clock.now() + this.#waitMs;
      if (this.#o.clock.now() < this.notBefore)
        return {
          ...total,
          last: {
            kind: 'retry',
            afterMs: this.notBefore - this.#o.clock.now(),
            reason: this.lastError ?? 'backing off',
          },
        };
      const out = await this.pushOnce(signal);
      if (out.kind === 'sent') {
        total.accepted += out.accepted;
        total.duplicate += out.duplicate;
        total.rejected += out.rejected;
        continue;
      }
      if (out.kind === 'retry' && out.afterMs === 0 && !signal?.aborted) continue;
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
