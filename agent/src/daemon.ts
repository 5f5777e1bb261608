import { readFileSync } from 'node:fs';
import {
  type AgentConfig,
  type ClockStamp,
  DEFAULT_TEST_SCHEDULE,
  HatangError,
  type Result,
  type ResultKind,
} from '@hatang/shared';
import { Budget } from './budget.js';
import { type CentralCache, fetchCentral, type LoadedConfig, writeCentralCache } from './central.js';
import { type DaemonClock, systemDaemonClock } from './clock.js';
import { Cron } from './cron.js';
import { summarise } from './format.js';
import type { Logger } from './log.js';
import { Outbox } from './outbox/outbox.js';
import type { Probe } from './probes/probe.js';
import { failedResult } from './result.js';
import { childProcessRunner, inProcessRunner, type ProbeRunner } from './runner.js';
import { type JobSpec, type RunEvent, type RunReason, Scheduler } from './scheduler.js';
import { requireToken, Uplink } from './uplink.js';
import { VERSION } from './version.js';

const MIN = 60_000;

/** What the daemon reports back from one test run (recorded in the runs table). */
export interface RunValue {
  resultId: string;
  status: Result['status'];
  summary: string;
  bytes: number;
}

/**
 * The jobs to schedule: every kind in the probe registry, with the config's `schedule.tests` entry
 * laid over the built-in default of that kind (spec.ts DEFAULT_TEST_SCHEDULE). Kinds named in
 * `strictKinds` (the local file's) must exist in the registry; others (central config from a newer
 * collector) are only noted.
 */
export function scheduleJobs(
  config: AgentConfig,
  kinds: readonly string[],
  strictKinds: readonly string[] = Object.keys(config.schedule.tests),
): { jobs: JobSpec[]; notes: string[] } {
  const known = [...kinds];
  const has = (k: string) => known.includes(k);
  const notes: string[] = [];
  for (const [kind, entry] of Object.entries(config.schedule.tests)) {
    if (has(kind)) continue;
    if (entry.enabled === false) {
      notes.push(`schedule.tests.${kind}: disabled, and this agent has no such test anyway`);
      continue;
    }
    const msg = `schedule.tests.${kind}: this agent has no "${kind}" test (it knows ${known.join(', ')})`;
    if (strictKinds.includes(kind)) {
      throw new HatangError('HATANG_ERR_CONFIG', msg, {
        hint: 'Remove the entry or fix its name; newer test kinds need a newer agent.',
      });
    }
    notes.push(`${msg}; ignored`);
  }
  for (const kind of config.budget.heavyKinds) {
    if (!has(kind) && strictKinds.includes(kind)) notes.push(`budget.heavyKinds: no "${kind}" test in this agent`);
  }
  const metered = config.speed.profile === 'metered';
  const jobs: JobSpec[] = [];
  for (const kind of known) {
    const entry = config.schedule.tests[kind] ?? {};
    const def = DEFAULT_TEST_SCHEDULE[kind];
    if (entry.enabled === false) {
      notes.push(`${kind}: disabled (schedule.tests.${kind}.enabled: false)`);
      continue;
    }
    const cron = metered
      ? (entry.meteredCron ?? entry.cron ?? def?.meteredCron ?? def?.cron)
      : (entry.cron ?? def?.cron);
    if (!cron) {
      notes.push(`${kind}: no schedule; set schedule.tests.${kind}.cron to run it`);
      continue;
    }
    jobs.push({
      kind,
      cron,
      jitterMs: (entry.jitterMinutes ?? def?.jitterMinutes ?? 0) * MIN,
      timeoutMs: (entry.timeoutSeconds ?? def?.timeoutSeconds ?? 120) * 1000,
    });
  }
  return { jobs, notes };
}

/** Throws (naming the key) unless every scheduled job of `config` can be planned. */
export function checkRunnable(config: AgentConfig, kinds: readonly string[], strictKinds: readonly string[]): void {
  const { jobs } = scheduleJobs(config, kinds, strictKinds);
  for (const j of jobs) new Cron(j.cron, config.schedule.timezone, `schedule.tests.${j.kind}.cron`).destroy();
}

/** This agent's splay: a random share of splayMinutes, drawn once and kept (docs/agent.md). */
export function splayOf(outbox: Outbox, config: AgentConfig, random: () => number = Math.random): number {
  let seed = Number(outbox.get('schedule.splaySeed'));
  if (!(seed >= 0 && seed < 1) || outbox.get('schedule.splaySeed') === undefined) {
    seed = random();
    outbox.set('schedule.splaySeed', String(seed));
  }
  return Math.floor(seed * config.schedule.splayMinutes * MIN);
}

export interface DaemonOptions {
  /**
   * Loads the effective config (file + environment + central copy); at start and on reload.
   * `central`: a copy to try instead of the one on disk; `null`: none.
   */
  load: (central?: CentralCache | null) => LoadedConfig;
  log: Logger;
  clock?: DaemonClock;
  random?: () => number;
  /** Run probes in this process (tests with an injected clock); default: one child process per test. */
  probes?: Record<string, Probe | undefined>;
  /** Where tests run; overrides `probes`. */
  runner?: ProbeRunner;
  onResult?: (r: Result) => void;
  onEvent?: (e: RunEvent) => void;
}

/**
 * `hatang-agent run`: scheduler + durable outbox + uplink + central config, one process, one test
 * at a time. SIGTERM → stop(): the running test is aborted and recorded, the push in flight is
 * abandoned (its results stay queued), the database is closed.
 */
export class Daemon {
  readonly #o: DaemonOptions;
  readonly #clock: DaemonClock;
  readonly #random: () => number;
  readonly #runner: ProbeRunner;
  readonly #kinds: readonly string[];
  loaded: LoadedConfig;
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  readonly budget: Budget;
  readonly scheduler: Scheduler;
  notes: string[] = [];
  readonly #stop = new AbortController();
  #stopping = false;
  #uplinkTimer: unknown;
  #centralTimer: unknown;
  #drain: Promise<void> | undefined;
  #central: Promise<void> | undefined;
  #inflight: { kind: string; startedWall: number; stamp: ClockStamp } | undefined;
  centralError: string | undefined;

  /** Load config, learn the test kinds from the runner, open the outbox: ready to start(). */
  static async create(o: DaemonOptions): Promise<Daemon> {
    const runner = o.runner ?? (o.probes ? inProcessRunner(o.probes) : childProcessRunner({ log: o.log }));
    const kinds = await runner.kinds();
    let loaded = o.load();
    if (loaded.central) {
      try {
        checkRunnable(loaded.config, kinds, loaded.localKinds);
      } catch (err) {
        // A central copy this agent cannot run (written by another version): start without it.
        o.log.error({ err }, 'the saved central config is unusable; starting without it');
        loaded = o.load(null);
      }
    }
    return new Daemon(o, runner, kinds, loaded);
  }

  private constructor(o: DaemonOptions, runner: ProbeRunner, kinds: readonly string[], loaded: LoadedConfig) {
    this.#o = o;
    this.#clock = o.clock ?? systemDaemonClock();
    this.#random = o.random ?? Math.random;
    this.#runner = runner;
    this.#kinds = kinds;
    this.loaded = loaded;
    const config = this.loaded.config;
    const token = requireToken(config.collector.token);
    this.outbox = Outbox.inDir(config.stateDir, this.#limits(config), {
      onDrop: (count, bytes) =>
        bytes === 0
          ? o.log.error({ count }, 'disk full and memory hold full: dropped the oldest held result')
          : o.log.error({ count, bytes }, 'outbox full: dropped the oldest undelivered results (outbox.maxMegabytes)'),
      onHold: (held, err) =>
        o.log.error(
          { held, err },
          'disk full: result held in memory until there is room (free space in stateDir); it is still pushed',
        ),
    });
    this.budget = new Budget(this.outbox, config.budget, config.schedule.timezone);
    this.uplink = new Uplink({
      collectorUrl: config.collector.url,
      token,
      outbox: this.outbox,
      clock: this.#clock,
      log: o.log.child({ part: 'uplink' }),
      batchSize: config.uplink.batchSize,
      timeoutMs: config.uplink.timeoutMs,
      random: this.#random,
      onBytes: (b) => {
        try {
          this.budget.record('uplink', b, this.#clock.now(), 0);
        } catch (err) {
          o.log.error({ err }, 'could not record data usage');
        }
      },
    });
    this.scheduler = this.#newScheduler();
  }

  get config(): AgentConfig {
    return this.loaded.config;
  }

  #limits(c: AgentConfig) {
    return {
      maxBytes: c.outbox.maxMegabytes * 1_000_000,
      maxDeadLetters: c.outbox.maxDeadLetters,
      keepRuns: c.outbox.keepRuns,
    };
  }

  #newScheduler(): Scheduler {
    const c = this.config;
    const { jobs, notes } = scheduleJobs(c, this.#kinds, this.loaded.localKinds);
    this.#setNotes(notes);
    return new Scheduler({
      jobs,
      timezone: c.schedule.timezone,
      splayMs: splayOf(this.outbox, c, this.#random),
      startupDelayMs: c.schedule.startupDelaySeconds * 1000,
      catchUp: c.schedule.catchUp,
      lastRuns: this.outbox.lastStarts(),
      clock: this.#clock,
      random: this.#random,
      log: this.#o.log.child({ part: 'scheduler' }),
      run: (kind, signal, reason) => this.#run(kind, signal, reason),
      gate: (kind, info) => this.budget.gate(kind, info),
      onEvent: (e) => this.#record(e),
    });
  }

  #setNotes(notes: string[]): void {
    this.notes = [
      ...notes,
      ...this.loaded.ignoredLocal.map((k) => `${k}: set by the province; the local value is ignored`),
    ];
    for (const n of this.notes) this.#o.log.info(n);
  }

  async #run(kind: string, signal: AbortSignal, reason: RunReason): Promise<RunValue> {
    this.#inflight = { kind, startedWall: this.#clock.now(), stamp: this.#clock.stamp() };
    const log = this.#o.log.child({ kind, reason });
    log.debug('test starting');
    const r = await this.#runner.run(kind, { config: this.config, clock: this.#clock, log, signal });
    this.#inflight = undefined;
    this.outbox.enqueue(r, this.#clock.now());
    try {
      this.budget.record(kind, r.bytesUsed, this.#clock.now());
    } catch (err) {
      // A full disk must not turn a measured result into a failed run (and a second result).
      log.error({ err }, 'could not record data usage');
    }
    log.info({ id: r.id, status: r.status, error: r.error?.code }, 'result queued');
    this.#o.onResult?.(r);
    this.kickUplink();
    return { resultId: r.id, status: r.status, summary: summarise(r), bytes: r.bytesUsed };
  }

  #record(e: RunEvent): void {
    this.#o.onEvent?.(e);
    let value = e.value as RunValue | undefined;
    if (e.outcome === 'abandoned' || e.outcome === 'failed') {
      // The test produced no result of its own: record one, so the gap is visible centrally.
      const inflight = this.#inflight?.kind === e.kind ? this.#inflight : undefined;
      this.#inflight = undefined;
      if (!this.#stopping || e.outcome === 'abandoned') {
        try {
          const r = failedResult(e.kind as ResultKind, {
            config: this.config,
            startedWall: inflight?.startedWall ?? e.startedAt ?? this.#clock.now(),
            stamp: inflight?.stamp ?? this.#clock.stamp(),
            durationMs: (e.endedAt ?? this.#clock.now()) - (e.startedAt ?? this.#clock.now()),
            error: {
              code: e.outcome === 'abandoned' ? 'OVERRUN' : 'AGENT_ERROR',
              phase: e.outcome === 'abandoned' ? 'overrun' : 'agent',
              message: (e.detail ?? e.outcome).slice(0, 500),
            },
          });
          this.outbox.enqueue(r, this.#clock.now());
          value = { resultId: r.id, status: r.status, summary: `${e.outcome}: ${e.detail ?? ''}`, bytes: 0 };
          this.kickUplink();
        } catch (err) {
          this.#o.log.error({ err }, 'could not record the failed run');
        }
      }
    }
    if (e.outcome === 'skipped') this.#o.log.info({ kind: e.kind, why: e.detail }, 'run skipped');
    try {
      this.outbox.recordRun({
        kind: e.kind,
        reason: e.reason,
        planned_at: e.plannedAt,
        started_at: e.startedAt ?? null,
        ended_at: e.endedAt ?? null,
        outcome: e.outcome,
        detail: e.detail ?? null,
        result_id: value?.resultId ?? null,
        status: value?.status ?? null,
        summary: value?.summary ?? null,
        bytes: value?.bytes ?? null,
      });
      this.#savePlan();
    } catch (err) {
      this.#o.log.error({ err }, 'could not record the run');
    }
  }

  #savePlan(): void {
    this.outbox.setJson(
      'scheduler.plan',
      this.scheduler.plan().map((p) => ({ kind: p.kind, at: p.nextAt, reason: p.reason, cron: p.cron })),
    );
  }

  /** Push now unless a push runs or the uplink is backing off; then re-arm the push timer. */
  kickUplink(): void {
    if (this.#drain || this.#stopping) return;
    if (this.#uplinkTimer !== undefined) this.#clock.clearTimeout(this.#uplinkTimer);
    this.#uplinkTimer = undefined;
    let next = this.config.uplink.intervalMs;
    this.#drain = this.uplink
      .drain(this.#stop.signal)
      .then((d) => {
        if (d.accepted + d.duplicate + d.rejected > 0)
          this.#o.log.info(
            { accepted: d.accepted, duplicate: d.duplicate, rejected: d.rejected, left: this.outbox.depth().count },
            'pushed results',
          );
        if (d.last.kind === 'retry') next = Math.max(1, d.last.afterMs);
        else if (d.last.kind === 'fatal') next = Math.max(1, this.uplink.notBefore - this.#clock.now());
      })
      .catch((err: unknown) => this.#o.log.error({ err }, 'push failed unexpectedly'))
      .finally(() => {
        this.#drain = undefined;
        if (!this.#stopping) this.#uplinkTimer = this.#clock.setTimeout(() => this.kickUplink(), next);
      });
  }

  /** Pull central config now; on a new document apply it. */
  pullCentral(): Promise<void> {
    if (this.#central) return this.#central;
    if (this.#centralTimer !== undefined) this.#clock.clearTimeout(this.#centralTimer);
    this.#centralTimer = undefined;
    this.#central = (async () => {
      const c = this.config;
      const res = await fetchCentral({
        collectorUrl: c.collector.url,
        token: requireToken(c.collector.token),
        etag: this.loaded.central?.etag,
        timeoutMs: c.uplink.timeoutMs,
        signal: this.#stop.signal,
      });
      if (res.kind !== 'unchanged') this.budget.record('config', res.bytes, this.#clock.now(), 0);
      this.outbox.setJson('central.checked', {
        at: this.#clock.now(),
        outcome: res.kind,
        error: res.kind === 'error' ? res.reason : undefined,
      });
      if (res.kind === 'error') {
        this.centralError = res.reason;
        if (!this.#stopping)
          this.#o.log.warn({ reason: res.reason }, 'central config not fetched; keeping the last good copy');
        return;
      }
      this.centralError = undefined;
      if (res.kind === 'unchanged') return;
      for (const i of res.ignored)
        this.#o.log.warn({ key: i }, 'central config section unknown to this agent; ignored');
      const copy: CentralCache = { etag: res.etag, fetchedAt: this.#clock.now(), doc: res.doc };
      // Try it before keeping it: a copy the agent cannot run must never become the last good one.
      let next: LoadedConfig;
      try {
        next = this.#o.load(copy);
        checkRunnable(next.config, this.#kinds, next.localKinds);
      } catch (err) {
        this.centralError = `central config refused: ${(err as Error).message}`;
        this.outbox.setJson('central.checked', { at: this.#clock.now(), outcome: 'refused', error: this.centralError });
        this.#o.log.error({ err }, 'central config refused; keeping the last good copy');
        return;
      }
      writeCentralCache(c.stateDir, copy);
      this.#o.log.info({ etag: res.etag }, 'central config changed; applying');
      this.#apply(next);
    })()
      .catch((err: unknown) => {
        this.centralError = (err as Error).message;
        this.#o.log.error({ err }, 'applying the central config failed; keeping the previous config');
      })
      .finally(() => {
        this.#central = undefined;
        if (!this.#stopping)
          this.#centralTimer = this.#clock.setTimeout(
            () => void this.pullCentral(),
            this.config.central.pollMinutes * MIN,
          );
      });
    return this.#central;
  }

  /**
   * Re-read config (file, environment, central copy) and apply it: schedule, budget, outbox limits
   * and every probe setting. A bad config is refused and the running one kept.
   */
  reload(): void {
    let next: LoadedConfig;
    try {
      next = this.#o.load();
      checkRunnable(next.config, this.#kinds, next.localKinds);
    } catch (err) {
      this.#o.log.error({ err }, 'new config refused; keeping the running one');
      throw err;
    }
    this.#apply(next);
  }

  #apply(next: LoadedConfig): void {
    if (next.config.collector.url !== this.config.collector.url || next.config.stateDir !== this.config.stateDir) {
      this.#o.log.warn('collector.url and stateDir change only on restart');
    }
    this.loaded = next;
    this.outbox.limits = this.#limits(next.config);
    this.budget.configure(next.config.budget, next.config.schedule.timezone);
    const { jobs, notes } = scheduleJobs(next.config, this.#kinds, next.localKinds);
    this.#setNotes(notes);
    this.scheduler.reconfigure({
      jobs,
      timezone: next.config.schedule.timezone,
      splayMs: splayOf(this.outbox, next.config, this.#random),
    });
    this.#savePlan();
  }

  /** Refuse to run twice on one state directory (two daemons would double every test). */
  #claim(): void {
    const pid = Number(this.outbox.get('daemon.pid'));
    const bootId = this.outbox.get('daemon.bootId');
    if (!(pid > 0) || pid === process.pid || bootId !== this.#clock.stamp().bootId) return;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      return; // not running (or not Linux: the pid is then not trusted either)
    }
    if (!/\brun\b/.test(cmdline) || !/node/.test(cmdline)) return;
    throw new HatangError('HATANG_ERR_STORAGE', `another hatang-agent run (pid ${pid}) uses ${this.config.stateDir}`, {
      hint: 'Stop it first (systemctl stop hatang-agent), or give this one another stateDir.',
    });
  }

  async start(): Promise<void> {
    this.#claim();
    const now = this.#clock.now();
    this.outbox.set('daemon.pid', String(process.pid));
    this.outbox.set('daemon.bootId', this.#clock.stamp().bootId);
    this.outbox.set('daemon.startedAt', String(now));
    this.outbox.set('daemon.version', VERSION);
    this.outbox.delete('daemon.stoppedAt');
    this.scheduler.start();
    this.#savePlan();
    this.#o.log.info(
      {
        version: VERSION,
        collector: this.config.collector.url,
        kinds: this.scheduler.plan().map((p) => p.kind),
        outbox: this.outbox.depth().count,
      },
      'agent started',
    );
    this.kickUplink();
    if (this.config.central.enabled) void this.pullCentral();
  }

  /** Resolves when no test runs or waits and no push or config pull is in flight. */
  async idle(): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await this.scheduler.idle();
      if (this.#drain) await this.#drain;
      if (this.#central) await this.#central;
      if (!this.#drain && !this.#central && this.scheduler.activity().running === undefined) return;
    }
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    const grace = this.config.schedule.stopGraceSeconds * 1000;
    if (this.#uplinkTimer !== undefined) this.#clock.clearTimeout(this.#uplinkTimer);
    if (this.#centralTimer !== undefined) this.#clock.clearTimeout(this.#centralTimer);
    await this.scheduler.stop(grace);
    this.#stop.abort(new DOMException('the agent is stopping', 'AbortError'));
    await Promise.allSettled([this.#drain, this.#central].filter(Boolean));
    try {
      this.outbox.set('daemon.stoppedAt', String(this.#clock.now()));
      this.outbox.delete('daemon.pid');
    } catch {
      /* closing anyway */
    }
    this.outbox.close();
    this.#o.log.info('agent stopped');
  }
}
