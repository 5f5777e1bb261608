import { OVERRUN_GRACE_MS, SCHEDULER_MAX_SLEEP_MS } from '@hatang/shared';
import type { DaemonClock } from './clock.js';
import { Cron } from './cron.js';
import type { Logger } from './log.js';

/**
 * The test scheduler (DESIGN.md §3 "Schedule"):
 * - each test kind fires on a cron expression read in the agent's time zone (node-cron parses and
 *   matches; see cron.ts), moved by this agent's fixed splay and a fresh random jitter per run;
 * - one test at a time: a kind that falls due while another runs waits in a queue (once);
 * - a run past its time limit is aborted and recorded as `overrun`; one that ignores the abort is
 *   abandoned after a grace period and recorded as `abandoned`, so the queue never jams;
 * - runs missed while the box was off are not replayed: at start each kind runs at most once
 *   ("catch-up", spread over the splay) if its last run is older than one period;
 * - one timer, on an injectable clock, re-armed at least every minute so a wall-clock step (NTP on
 *   a Pi without RTC) is noticed; after a step the plan is rebuilt, never fired in a burst.
 */

export interface JobSpec {
  kind: string;
  /** Cron expression in `timezone`. */
  cron: string;
  /** Each run moves by a uniform random amount in ±jitterMs. */
  jitterMs: number;
  /** A run longer than this is aborted and recorded as overrun. */
  timeoutMs: number;
}

export type RunReason = 'scheduled' | 'catch-up' | 'manual';
export type RunOutcome = 'done' | 'overrun' | 'abandoned' | 'failed' | 'skipped';

/** What happened to one planned run; the daemon records these for `status`. */
export interface RunEvent {
  kind: string;
  reason: RunReason;
  /** When the run was due (wall ms). */
  plannedAt: number;
  startedAt?: number;
  endedAt?: number;
  outcome: RunOutcome;
  /** Why a run was skipped, or the error of a failed run. */
  detail?: string;
  /** What `run` returned (done/overrun). */
  value?: unknown;
}

export type GateDecision = { run: true } | { run: false; reason: string };

/** Asked before each run (the data budget): may this kind run now? */
export type Gate = (
  kind: string,
  info: { periodMs: number; lastStartedAt: number | undefined; now: number },
) => GateDecision;

export interface SchedulerOptions {
  jobs: JobSpec[];
  timezone: string;
  /** This agent's fixed offset added to every cron time, ms. */
  splayMs: number;
  /** No run starts sooner than this after start(), ms. */
  startupDelayMs: number;
  /** Run each kind once soon after start when its last run is older than one period. */
  catchUp: boolean;
  /** Wall time of the last start of each kind, from before this process (persisted). */
  lastRuns?: Record<string, number>;
  clock: DaemonClock;
  random?: () => number;
  log: Logger;
  /** Run one test; must honour `signal`. */
  run: (kind: string, signal: AbortSignal, reason: RunReason) => Promise<unknown>;
  gate?: Gate;
  onEvent?: (e: RunEvent) => void;
  /** After an overrun abort, how long to wait before abandoning the run, ms. */
  graceMs?: number;
  /** Longest single sleep, ms. */
  maxSleepMs?: number;
}

interface JobState {
  spec: JobSpec;
  cron: Cron;
  periodMs: number;
  /** Cron time the next fire derives from. */
  nextBase: number;
  /** When the next regular fire is due: base + splay + jitter. */
  nextAt: number;
  /** A one-off catch-up run planned at start, if any. */
  catchUpAt: number | undefined;
  lastStartedAt: number | undefined;
  /** Monotonic ms of the last start in this process. */
  lastStartedMono: number | undefined;
}

interface Queued {
  kind: string;
  reason: RunReason;
  plannedAt: number;
}

interface Current extends Queued {
  ac: AbortController;
  startedAt: number;
  overran: boolean;
  abandoned: boolean;
  timers: unknown[];
  done: Promise<void>;
}

export interface PlannedRun {
  kind: string;
  cron: string;
  nextAt: number;
  reason: RunReason;
  periodMs: number;
}

/** Thrown into a probe's signal when its run passes the time limit. */
export class OverrunError extends Error {
  constructor(kind: string, ms: number) {
    super(`${kind} test overran its ${Math.round(ms / 1000)} s limit`);
    this.name = 'TimeoutError';
  }
}

const WALL_STEP_TOLERANCE_MS = 60_000;

export class Scheduler {
  readonly #o: SchedulerOptions & { random: () => number; graceMs: number; maxSleepMs: number };
  readonly #jobs = new Map<string, JobState>();
  #queue: Queued[] = [];
  #current: Current | undefined;
  #timer: unknown;
  #started = false;
  #stopped = false;
  #lastWake = { wall: 0, mono: 0 };
  #idleWaiters: Array<() => void> = [];

  constructor(o: SchedulerOptions) {
    this.#o = { random: Math.random, graceMs: OVERRUN_GRACE_MS, maxSleepMs: SCHEDULER_MAX_SLEEP_MS, ...o };
    for (const spec of o.jobs) {
      if (this.#jobs.has(spec.kind)) throw new Error(`scheduler: kind ${spec.kind} given twice`);
      const cron = new Cron(spec.cron, o.timezone, `schedule.tests.${spec.kind}.cron`);
      this.#jobs.set(spec.kind, {
        spec,
        cron,
        periodMs: 0,
        nextBase: 0,
        nextAt: Number.POSITIVE_INFINITY,
        catchUpAt: undefined,
        lastStartedAt: o.lastRuns?.[spec.kind],
        lastStartedMono: undefined,
      });
    }
  }

  #mono(): number {
    return this.#o.clock.stamp().uptimeMs;
  }

  #jitter(job: JobState): number {
    return job.spec.jitterMs > 0 ? Math.round((this.#o.random() * 2 - 1) * job.spec.jitterMs) : 0;
  }

  /** Plan the next regular fire of `job` strictly after `now`, from cron time `after` on. */
  #planNext(job: JobState, now: number, floor: number): void {
    const base = job.cron.next(Math.max(job.nextBase, now - this.#o.splayMs));
    if (base === undefined) {
      job.nextAt = Number.POSITIVE_INFINITY;
      return;
    }
    job.nextBase = base;
    job.periodMs = job.cron.periodAfter(base - 1);
    job.nextAt = Math.max(base + this.#o.splayMs + this.#jitter(job), floor);
  }

  #dueAt(job: JobState): number {
    return Math.min(job.nextAt, job.catchUpAt ?? Number.POSITIVE_INFINITY);
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const now = this.#o.clock.now();
    this.#lastWake = { wall: now, mono: this.#mono() };
    const earliest = now + this.#o.startupDelayMs;
    for (const job of this.#jobs.values()) {
      job.nextBase = 0;
      this.#planNext(job, now, earliest);
      if (!this.#o.catchUp) continue;
      const gap = job.periodMs + 2 * job.spec.jitterMs;
      const last = job.lastStartedAt;
      if (last === undefined || now - last > gap || last > now + WALL_STEP_TOLERANCE_MS) {
        const at = earliest + Math.round(this.#o.random() * this.#o.splayMs);
        if (at < job.nextAt) job.catchUpAt = at;
      }
    }
    this.#o.log.info(
      { plan: this.plan().map((p) => ({ kind: p.kind, at: new Date(p.nextAt).toISOString(), reason: p.reason })) },
      'schedule planned',
    );
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const j of this.#jobs.values()) earliest = Math.min(earliest, this.#dueAt(j));
    const wait = Math.min(this.#o.maxSleepMs, Math.max(0, earliest - this.#o.clock.now()));
    this.#timer = this.#o.clock.setTimeout(() => this.#wake(), wait);
  }

  #wake(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = this.#o.clock.now();
    const mono = this.#mono();
    const expected = this.#lastWake.wall + (mono - this.#lastWake.mono);
    this.#lastWake = { wall: now, mono };
    if (Math.abs(now - expected) > WALL_STEP_TOLERANCE_MS) {
      // NTP stepped the clock: rebuild the plan from the new time; nothing missed is replayed.
      this.#o.log.warn({ stepMs: now - expected }, 'wall clock stepped; schedule re-planned');
      for (const job of this.#jobs.values()) {
        job.nextBase = 0;
        job.catchUpAt = undefined;
        this.#planNext(job, now, now);
      }
      this.#arm();
      return;
    }
    for (const job of this.#jobs.values()) {
      if (job.catchUpAt !== undefined && job.catchUpAt <= now) {
        this.#enqueue({ kind: job.spec.kind, reason: 'catch-up', plannedAt: job.catchUpAt });
        job.catchUpAt = undefined;
      }
      if (job.nextAt <= now) {
        this.#enqueue({ kind: job.spec.kind, reason: 'scheduled', plannedAt: job.nextAt });
        this.#planNext(job, now, now + 1000);
      }
    }
    this.#pump();
    this.#arm();
  }

  #emit(e: RunEvent): void {
    try {
      this.#o.onEvent?.(e);
    } catch (err) {
      this.#o.log.error({ err }, 'recording a run failed');
    }
  }

  #enqueue(q: Queued): void {
    const job = this.#jobs.get(q.kind);
    if (this.#current?.kind === q.kind || this.#queue.some((x) => x.kind === q.kind)) {
      this.#emit({ ...q, outcome: 'skipped', detail: 'the previous run of this kind has not finished' });
      return;
    }
    if (
      q.reason === 'scheduled' &&
      job?.lastStartedMono !== undefined &&
      this.#mono() - job.lastStartedMono < job.periodMs / 2
    ) {
      this.#emit({ ...q, outcome: 'skipped', detail: 'ran less than half a period ago (catch-up or manual run)' });
      return;
    }
    this.#queue.push(q);
  }

  /** Queue one run of `kind` now (outside the schedule); it still waits for a running test. */
  trigger(kind: string, reason: RunReason = 'manual'): void {
    if (!this.#jobs.has(kind)) throw new Error(`scheduler: no job for kind ${kind}`);
    this.#enqueue({ kind, reason, plannedAt: this.#o.clock.now() });
    this.#pump();
  }

  #pump(): void {
    while (!this.#current && !this.#stopped) {
      const q = this.#queue.shift();
      if (!q) break;
      const job = this.#jobs.get(q.kind)!;
      const now = this.#o.clock.now();
      const gate = this.#o.gate?.(q.kind, { periodMs: job.periodMs, lastStartedAt: job.lastStartedAt, now });
      if (gate && !gate.run) {
        this.#emit({ ...q, outcome: 'skipped', detail: gate.reason });
        continue;
      }
      this.#begin(q, job, now);
    }
    if (!this.#current && this.#queue.length === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  #begin(q: Queued, job: JobState, now: number): void {
    const ac = new AbortController();
    job.lastStartedAt = now;
    job.lastStartedMono = this.#mono();
    const cur: Current = {
      ...q,
      ac,
      startedAt: now,
      overran: false,
      abandoned: false,
      timers: [],
      done: Promise.resolve(),
    };
    this.#current = cur;
    const clock = this.#o.clock;
    cur.timers.push(
      clock.setTimeout(() => {
        if (this.#current !== cur) return;
        cur.overran = true;
        this.#o.log.warn({ kind: q.kind, timeoutMs: job.spec.timeoutMs }, 'test overran its limit; aborting');
        ac.abort(new OverrunError(q.kind, job.spec.timeoutMs));
        cur.timers.push(
          clock.setTimeout(() => {
            if (this.#current !== cur) return;
            cur.abandoned = true;
            this.#o.log.error({ kind: q.kind }, 'test ignored the abort; abandoned');
            this.#finish(cur, {
              ...q,
              startedAt: cur.startedAt,
              endedAt: clock.now(),
              outcome: 'abandoned',
              detail: `did not stop within ${Math.round(this.#o.graceMs / 1000)} s of being aborted`,
            });
          }, this.#o.graceMs),
        );
      }, job.spec.timeoutMs),
    );
    let p: Promise<unknown>;
    try {
      p = Promise.resolve(this.#o.run(q.kind, ac.signal, q.reason));
    } catch (err) {
      p = Promise.reject(err);
    }
    cur.done = p.then(
      (value) => {
        if (cur.abandoned) {
          this.#o.log.warn({ kind: q.kind }, 'an abandoned test finished late; its result is ignored');
          return;
        }
        this.#finish(cur, {
          ...q,
          startedAt: cur.startedAt,
          endedAt: clock.now(),
          outcome: cur.overran ? 'overrun' : 'done',
          value,
        });
      },
      (err: unknown) => {
        if (cur.abandoned) return;
        this.#o.log.error({ err, kind: q.kind }, 'test failed');
        this.#finish(cur, {
          ...q,
          startedAt: cur.startedAt,
          endedAt: clock.now(),
          outcome: cur.overran ? 'overrun' : 'failed',
          detail: (err as Error)?.message ?? String(err),
        });
      },
    );
  }

  #finish(cur: Current, e: RunEvent): void {
    for (const t of cur.timers) this.#o.clock.clearTimeout(t);
    if (this.#current === cur) this.#current = undefined;
    this.#emit(e);
    this.#pump();
  }

  /**
   * Replace the jobs (a config reload): the running test goes on and is recorded as usual; queued
   * runs of kinds still scheduled stay queued; every kind is planned afresh from now, no catch-up.
   */
  reconfigure(o: { jobs: JobSpec[]; timezone: string; splayMs: number }): void {
    const old = new Map(this.#jobs);
    const made = o.jobs.map((spec) => ({
      spec,
      cron: new Cron(spec.cron, o.timezone, `schedule.tests.${spec.kind}.cron`),
    }));
    for (const j of old.values()) j.cron.destroy();
    this.#jobs.clear();
    this.#o.timezone = o.timezone;
    this.#o.splayMs = o.splayMs;
    const now = this.#o.clock.now();
    for (const { spec, cron } of made) {
      const prev = old.get(spec.kind);
      const job: JobState = {
        spec,
        cron,
        periodMs: 0,
        nextBase: 0,
        nextAt: Number.POSITIVE_INFINITY,
        catchUpAt: undefined,
        lastStartedAt: prev?.lastStartedAt,
        lastStartedMono: prev?.lastStartedMono,
      };
      this.#planNext(job, now, now);
      this.#jobs.set(spec.kind, job);
    }
    this.#queue = this.#queue.filter((q) => this.#jobs.has(q.kind));
    if (this.#started) this.#arm();
  }

  /** The next run of every kind, soonest first. */
  plan(): PlannedRun[] {
    return [...this.#jobs.values()]
      .map((j) => ({
        kind: j.spec.kind,
        cron: j.spec.cron,
        nextAt: this.#dueAt(j),
        reason: (j.catchUpAt !== undefined && j.catchUpAt < j.nextAt ? 'catch-up' : 'scheduled') as RunReason,
        periodMs: j.periodMs,
      }))
      .sort((a, b) => a.nextAt - b.nextAt);
  }

  /** The running test and the queue behind it. */
  activity(): { running: { kind: string; startedAt: number } | undefined; queued: string[] } {
    return {
      running: this.#current ? { kind: this.#current.kind, startedAt: this.#current.startedAt } : undefined,
      queued: this.#queue.map((q) => q.kind),
    };
  }

  /** Resolves when no test runs and none waits. */
  idle(): Promise<void> {
    if (!this.#current && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /**
   * Stop: no new runs; the running test is aborted and given `graceMs` to be recorded. Resolves
   * when it has been, or the grace ran out.
   */
  async stop(graceMs = this.#o.graceMs): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const q of this.#queue) this.#emit({ ...q, outcome: 'skipped', detail: 'the agent is stopping' });
    this.#queue = [];
    const cur = this.#current;
    if (cur) {
      cur.ac.abort(new DOMException('the agent is stopping', 'AbortError'));
      let t: unknown;
      await Promise.race([cur.done, new Promise<void>((r) => (t = this.#o.clock.setTimeout(r, graceMs)))]);
      this.#o.clock.clearTimeout(t);
    }
    for (const j of this.#jobs.values()) j.cron.destroy();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
