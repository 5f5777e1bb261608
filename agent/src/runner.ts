import { type ChildProcess, fork } from 'node:child_process';
import { type AgentConfig, OVERRUN_GRACE_MS, type Result, type ResultKind } from '@hatang/shared';
import type { Clock } from './clock.js';
import type { Logger } from './log.js';
import type { Probe, Progress } from './probes/probe.js';
import { runProbe } from './result.js';

/**
 * Where a test runs. The daemon runs each test in a child process (`probe-worker.js`): the test's
 * buffers and the HTTP client die with it, so the daemon's own memory stays small between tests
 * (docs/benchmarks.md "Agent footprint"), a probe that hangs can be killed, and the probe runs with
 * V8's full compiler while the daemon itself runs in V8 lite mode. Tests with an injected clock
 * run probes in the same process instead.
 */
export interface ProbeRunner {
  /** Test kinds available (the probe registry). */
  kinds(): Promise<string[]>;
  run(
    kind: string,
    o: {
      config: AgentConfig;
      clock: Clock;
      log: Logger;
      signal: AbortSignal;
      timeoutMs?: number;
      onProgress?: (p: Progress) => void;
    },
  ): Promise<Result>;
}

/** Probes run in this process (tests with an injected clock; `hatang-agent test --in-process`). */
export function inProcessRunner(probes: Record<string, Probe | undefined>): ProbeRunner {
  return {
    kinds: async () => Object.keys(probes).filter((k) => probes[k]),
    run: async (kind, o) => {
      const probe = probes[kind];
      if (!probe) throw new Error(`no probe for ${kind}`);
      return runProbe(probe as Probe<ResultKind>, {
        config: o.config,
        clock: o.clock,
        log: o.log,
        signal: o.signal,
        ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      });
    },
  };
}

/** Messages between the daemon and a probe worker. */
export type ToWorker =
  | { type: 'run'; kind: string; config: AgentConfig; timeoutMs?: number; logLevel: string }
  | { type: 'abort'; reason: string };
export type FromWorker =
  | { type: 'kinds'; kinds: string[] }
  | { type: 'progress'; progress: Progress }
  | { type: 'result'; result: Result }
  | { type: 'error'; message: string };

const WORKER = new URL('./probe-worker.js', import.meta.url);

function spawnWorker(args: string[]): ChildProcess {
  // No execArgv: the probe gets Node's defaults (full JIT), not the daemon's lite-mode flags.
  return fork(WORKER, args, { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/**
 * Probes run in a child process; the result comes back over IPC. The clock is the system clock
 * in both processes (same boot id and uptime). An abort is passed on; a child still alive
 * `killAfterMs` after it was aborted is killed.
 */
export function childProcessRunner(
  o: { log: Logger; killAfterMs?: number } = { log: undefined as never },
): ProbeRunner {
  const killAfterMs = o.killAfterMs ?? OVERRUN_GRACE_MS + 5_000;
  let kinds: Promise<string[]> | undefined;
  return {
    kinds() {
      kinds ??= new Promise<string[]>((resolve, reject) => {
        const child = spawnWorker(['--kinds']);
        child.once('message', (m: FromWorker) => {
          if (m.type === 'kinds') resolve(m.kinds);
        });
        child.once('error', reject);
        child.once('exit', (code) => reject(new Error(`probe worker exited with ${code} before listing its tests`)));
      });
      return kinds;
    },
    run(kind, r) {
      return new Promise<Result>((resolve, reject) => {
        const child = spawnWorker([]);
        let settled = false;
        let killTimer: NodeJS.Timeout | undefined;
        const done = (f: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(killTimer);
          r.signal.removeEventListener('abort', onAbort);
          f();
        };
        const onAbort = () => {
          const reason = (r.signal.reason as Error | undefined)?.message ?? 'aborted';
          if (child.connected) child.send({ type: 'abort', reason } satisfies ToWorker);
          killTimer = setTimeout(() => {
            o.log?.error({ kind, pid: child.pid }, 'probe worker ignored the abort; killing it');
            child.kill('SIGKILL');
          }, killAfterMs);
        };
        if (r.signal.aborted) onAbort();
        else r.signal.addEventListener('abort', onAbort, { once: true });
        child.on('message', (m: FromWorker) => {
          if (m.type === 'progress') r.onProgress?.(m.progress);
          else if (m.type === 'result') done(() => resolve(m.result));
          else if (m.type === 'error') done(() => reject(new Error(`probe worker: ${m.message}`)));
        });
        child.once('error', (err) => done(() => reject(err)));
        child.once('exit', (code, signal) =>
          done(() => reject(new Error(`probe worker for ${kind} exited (${signal ?? code}) without a result`))),
        );
        child.send({
          type: 'run',
          kind,
          config: r.config,
          logLevel: r.log.level,
          ...(r.timeoutMs ? { timeoutMs: r.timeoutMs } : {}),
        } satisfies ToWorker);
      });
    },
  };
}
