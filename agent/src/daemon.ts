import type { AgentConfig, ResultKind } from '@hatang/shared';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import type { Outbox } from './outbox/outbox.js';
import { probeFor } from './probes/registry.js';
import { runProbe } from './result.js';
import type { Uplink } from './uplink.js';

export interface DaemonOptions {
  config: AgentConfig;
  clock: Clock;
  log: Logger;
  outbox: Outbox;
  uplink: Uplink;
  /** Kinds to run each cycle. */
  kinds: ResultKind[];
  /** Time between test cycles, ms. */
  everyMs: number;
  /** Run a cycle at start. */
  runAtStart?: boolean;
  onResult?: (r: import('@hatang/shared').Result) => void;
}

/** A minimal daemon: one test at a time on an interval; the uplink drains after each test and on its own timer. */
export class Daemon {
  readonly #o: DaemonOptions;
  readonly #stop = new AbortController();
  #timers: NodeJS.Timeout[] = [];
  #running: Promise<void> | undefined;

  constructor(o: DaemonOptions) {
    this.#o = o;
  }

  async cycle(): Promise<void> {
    if (this.#running) return; // single flight
    this.#running = (async () => {
      for (const kind of this.#o.kinds) {
        if (this.#stop.signal.aborted) return;
        const probe = probeFor(kind);
        if (!probe) continue;
        const r = await runProbe(probe, {
          config: this.#o.config,
          clock: this.#o.clock,
          log: this.#o.log,
          signal: this.#stop.signal,
          timeoutMs: 120_000,
        });
        this.#o.outbox.enqueue(r, this.#o.clock.now());
        this.#o.onResult?.(r);
        await this.#o.uplink.drain();
      }
    })().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  start(): void {
    if (this.#o.runAtStart) void this.cycle();
    this.#timers.push(setInterval(() => void this.cycle(), this.#o.everyMs));
    this.#timers.push(setInterval(() => void this.#o.uplink.drain(), this.#o.config.uplink.intervalMs));
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    this.#stop.abort();
    await this.#running;
  }
}
