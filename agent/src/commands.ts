import { type ErrorCode, HatangError, isHatangError } from '@hatang/shared';
import { Command, Option } from 'commander';
import type { LoadedConfig } from './central.js';
import { VERSION } from './version.js';

/**
 * The `hatang-agent` commands (docs/agent.md "Commands"). Modules load per command, so the daemon
 * (`run`) never loads the probes, undici or the status code: its idle memory stays small.
 */

/** Documented exit codes (docs/agent.md "Exit codes"). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  testFailed: 4,
  collector: 5,
  enrollRefused: 6,
  attention: 7,
} as const;

const EXIT_FOR: Partial<Record<ErrorCode, number>> = {
  HATANG_ERR_CONFIG: EXIT.config,
  HATANG_ERR_CONFIG_NOT_FOUND: EXIT.config,
  HATANG_ERR_NETWORK: EXIT.collector,
  HATANG_ERR_COLLECTOR: EXIT.collector,
  HATANG_ERR_UNAUTHORIZED: EXIT.collector,
  HATANG_ERR_ENROLL_CODE: EXIT.enrollRefused,
};

const DEFAULT_CONFIG = '/etc/hatang/agent.yaml';
const wantsJson = process.argv.includes('--json');

const configOpt = () =>
  new Option('-c, --config <file>', 'agent YAML config').env('HATANG_CONFIG').default(DEFAULT_CONFIG);

/** Load the config, then (as root) become the owner of the state directory before touching it. */
async function load(file: string): Promise<LoadedConfig> {
  const [{ loadAgentConfig }, { becomeStateOwner }] = await Promise.all([
    import('./central.js'),
    import('./privileges.js'),
  ]);
  const loaded = loadAgentConfig({ file });
  becomeStateOwner(loaded.config.stateDir);
  return loaded;
}

/** The probe registry's kinds (loads the probes: not for `run`). */
async function registryKinds(): Promise<string[]> {
  const { probes, probeFor } = await import('./probes/registry.js');
  return Object.keys(probes).filter((k) => probeFor(k));
}

function quietLevel(level: string, json: boolean | undefined): string {
  if (json) return 'silent';
  return level === 'info' || level === 'debug' || level === 'trace' ? 'warn' : level;
}

const program = new Command('hatang-agent')
  .description('hatang measurement agent: scheduled speed, latency and IPv6 tests, pushed to the provincial collector')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));

program
  .command('run')
  .description('run as a daemon: scheduled tests, durable outbox, uplink, central config (SIGTERM stops cleanly)')
  .addOption(configOpt())
  .action(async (o: { config: string }) => {
    const [{ loadAgentConfig }, { Daemon }, { createLogger }, { systemDaemonClock }] = await Promise.all([
      import('./central.js'),
      import('./daemon.js'),
      import('./log.js'),
      import('./clock.js'),
    ]);
    const first = await load(o.config);
    const log = createLogger(first.config.log.level);
    let loadedOnce = false;
    const daemon = await Daemon.create({
      load: (central) => {
        if (!loadedOnce && central === undefined) {
          loadedOnce = true;
          return first;
        }
        return loadAgentConfig({ file: o.config, ...(central !== undefined ? { central } : {}) });
      },
      log,
      clock: systemDaemonClock(),
    });
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        process.exit(EXIT.failure);
      }
      stopping = true;
      log.info({ signal }, 'stopping: aborting the running test, closing the database');
      try {
        await daemon.stop();
        process.exit(EXIT.ok);
      } catch (err) {
        log.error({ err }, 'stop failed');
        process.exit(EXIT.failure);
      }
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGHUP', () => {
      log.info('SIGHUP: reloading config');
      try {
        daemon.reload();
      } catch {
        /* logged; the running config stays */
      }
    });
    await daemon.start();
  });

program
  .command('status')
  .description(
    'identity, collector, last results, outbox, dead letters, next runs, budget; exit 7 when something needs attention',
  )
  .addOption(configOpt())
  .option('--json', 'print the status as JSON')
  .option('--offline', 'do not contact the collector')
  .action(async (o: { config: string; json?: boolean; offline?: boolean }) => {
    const loaded = await load(o.config);
    const { formatStatus, gatherStatus } = await import('./status.js');
    const report = await gatherStatus(loaded, { live: !o.offline, kinds: await registryKinds() });
    console.log(o.json ? JSON.stringify(report, null, 2) : formatStatus(report, loaded.config.schedule.timezone));
    process.exitCode = report.attention.length > 0 ? EXIT.attention : EXIT.ok;
  });

program
  .command('test')
  .description('run one test now and show its progress, then queue and push the result')
  .argument('<kind>', 'test kind: speed, latency, … (hatang-agent config check lists them)')
  .addOption(configOpt())
  .option('--json', 'print the result as JSON')
  .option('--no-push', 'do not queue or push the result')
  .option('--in-process', 'run the probe in this process instead of a child process')
  .addOption(
    new Option('--lang <lang>', 'language of the printed checklist (ipv6)').choices(['vi', 'en']).default('vi'),
  )
  .action(
    async (
      kind: string,
      o: { config: string; json?: boolean; push: boolean; inProcess?: boolean; lang: 'vi' | 'en' },
    ) => {
      const kinds = await registryKinds();
      if (!kinds.includes(kind)) {
        throw new HatangError('HATANG_ERR_CONFIG', `no "${kind}" test in this agent; it knows ${kinds.join(', ')}`);
      }
      const { config } = await load(o.config);
      const [
        { Budget },
        { systemClock },
        { describeResult, formatProgress, summarise },
        { createLogger },
        { Outbox },
        { Uplink },
        { childProcessRunner, inProcessRunner },
        { probes },
      ] = await Promise.all([
        import('./budget.js'),
        import('./clock.js'),
        import('./format.js'),
        import('./log.js'),
        import('./outbox/outbox.js'),
        import('./uplink.js'),
        import('./runner.js'),
        import('./probes/registry.js'),
      ]);
      const log = createLogger(quietLevel(config.log.level, o.json));
      const clock = systemClock();
      const outbox = o.push ? Outbox.inDir(config.stateDir) : undefined;
      const budget = outbox ? new Budget(outbox, config.budget, config.schedule.timezone) : undefined;
      const ac = new AbortController();
      const onSignal = (sig: string) => {
        process.stderr.write(`\n${sig}: aborting the test; the partial result is kept\n`);
        ac.abort(new DOMException(`${sig}: the test was stopped`, 'AbortError'));
      };
      process.once('SIGINT', () => onSignal('SIGINT'));
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      try {
        if (budget?.isHeavy(kind)) {
          const s = budget.state(clock.now());
          if (s.level === 'paused' || s.level === 'halved')
            process.stderr.write(
              `note: data budget ${s.percent.toFixed(0)} % used; scheduled ${kind} tests are ${s.level === 'paused' ? 'paused' : 'halved'}. Running this one because you asked.\n`,
            );
        }
        const tty = process.stderr.isTTY && !o.json;
        let lastPhase = '';
        const startedAt = clock.now();
        const runner = o.inProcess
          ? inProcessRunner(probes as Record<string, import('./probes/probe.js').Probe | undefined>)
          : childProcessRunner({ log });
        const r = await runner.run(kind, {
          config,
          clock,
          log,
          signal: ac.signal,
          timeoutMs: (config.schedule.tests[kind]?.timeoutSeconds ?? 180) * 1000,
          onProgress: (p) => {
            if (o.json) return;
            // A terminal gets one live line; a log or pipe gets one line per phase.
            if (tty) process.stderr.write(`\r\x1b[K${formatProgress(p)}`);
            else if (p.phase !== lastPhase) {
              process.stderr.write(
                `${formatProgress({ phase: p.phase, ...(p.message ? { message: p.message } : {}) })}\n`,
              );
            }
            lastPhase = p.phase;
          },
        });
        if (tty) process.stderr.write('\r\x1b[K');
        let pushed: string | undefined;
        if (outbox && budget) {
          outbox.enqueue(r, clock.now());
          budget.record(kind, r.bytesUsed, clock.now());
          outbox.recordRun({
            kind,
            reason: 'manual',
            planned_at: startedAt,
            started_at: startedAt,
            ended_at: clock.now(),
            outcome: 'done',
            detail: null,
            result_id: r.id,
            status: r.status,
            summary: summarise(r),
            bytes: r.bytesUsed,
          });
          if (config.collector.token) {
            const up = new Uplink({
              collectorUrl: config.collector.url,
              token: config.collector.token,
              outbox,
              clock,
              log,
              onBytes: (b) => budget.record('uplink', b, clock.now(), 0),
            });
            const d = await up.drain();
            pushed =
              d.last.kind === 'empty'
                ? 'pushed to the collector'
                : `queued; push pending: ${'reason' in d.last ? d.last.reason : ''}`;
          } else {
            pushed = 'queued; not enrolled, so not pushed (hatang-agent enroll)';
          }
        }
        if (o.json) console.log(JSON.stringify(pushed ? { result: r, push: pushed } : { result: r }));
        else console.log(`${describeResult(r, { lang: o.lang })}${pushed ? `\n${pushed}` : ''}`);
        process.exitCode = r.status === 'error' ? EXIT.testFailed : EXIT.ok;
      } finally {
        outbox?.close();
      }
    },
  );

program
  .command('enroll')
  .description(
    'trade a one-time enrolment code for an agent id and token; write the config and fetch the central config',
  )
  .requiredOption('--collector <url>', 'base URL of the provincial collector')
  .requiredOption('--code <code>', 'one-time enrolment code from the province, e.g. 7KQ2-M9XD-4TRB')
  .addOption(configOpt())
  .option(
    '--state-dir <dir>',
    'state directory (token, outbox); default: the config file’s stateDir or /var/lib/hatang-agent',
  )
  .option('--json', 'print the outcome as JSON')
  .action(async (o: { collector: string; code: string; config: string; stateDir?: string; json?: boolean }) => {
    const { enroll } = await import('./enroll.js');
    const r = await enroll({ collectorUrl: o.collector, code: o.code, configFile: o.config, stateDir: o.stateDir });
    if (o.json) {
      console.log(JSON.stringify(r));
      return;
    }
    console.log(
      [
        `enrolled as agent ${r.agentId}`,
        `  name      ${r.name}`,
        `  commune   ${r.commune ?? '—'} · ${r.access}${r.isp ? ` · ${r.isp}` : ''}`,
        `  config    ${r.configFile}`,
        `  token     ${r.tokenFile} (mode 0600)`,
        `  central   ${r.central === 'fetched' ? 'config fetched' : `not fetched yet (${r.central}); the daemon retries`}`,
        ...(r.replaced ? [`  replaced  the previous enrolment as agent ${r.replaced}`] : []),
        'next: systemctl restart hatang-agent, then hatang-agent status',
      ].join('\n'),
    );
  });

program
  .command('push')
  .description('push queued results to the collector now')
  .addOption(configOpt())
  .option('--json', 'print the outcome as JSON')
  .action(async (o: { config: string; json?: boolean }) => {
    const { config } = await load(o.config);
    const [{ Budget }, { systemClock }, { createLogger }, { Outbox }, { requireToken, Uplink }] = await Promise.all([
      import('./budget.js'),
      import('./clock.js'),
      import('./log.js'),
      import('./outbox/outbox.js'),
      import('./uplink.js'),
    ]);
    const log = createLogger(quietLevel(config.log.level, o.json));
    const outbox = Outbox.inDir(config.stateDir);
    try {
      const clock = systemClock();
      const budget = new Budget(outbox, config.budget, config.schedule.timezone);
      const up = new Uplink({
        collectorUrl: config.collector.url,
        token: requireToken(config.collector.token),
        outbox,
        clock,
        log,
        batchSize: config.uplink.batchSize,
        timeoutMs: config.uplink.timeoutMs,
        onBytes: (b) => budget.record('uplink', b, clock.now(), 0),
      });
      const d = await up.drain();
      const left = outbox.depth().count;
      if (o.json) console.log(JSON.stringify({ ...d, left }));
      else
        console.log(
          `accepted ${d.accepted}, duplicate ${d.duplicate}, rejected ${d.rejected}; ${left} left in the outbox${d.last.kind === 'retry' || d.last.kind === 'fatal' ? ` (${d.last.reason})` : ''}`,
        );
      if (d.last.kind !== 'empty') process.exitCode = EXIT.collector;
    } finally {
      outbox.close();
    }
  });

const configCmd = program.command('config').description('configuration');
configCmd
  .command('check')
  .description('validate the config file, environment and central config; print the effective config and schedule')
  .addOption(configOpt())
  .option('--json', 'print the effective config and schedule as JSON')
  .option('--env', 'list every environment variable the agent reads')
  .action(async (o: { config: string; json?: boolean; env?: boolean }) => {
    if (o.env) {
      const { envNames } = await import('./config.js');
      console.log(o.json ? JSON.stringify(envNames()) : envNames().join('\n'));
      return;
    }
    const loaded = await load(o.config);
    const [{ Cron }, { scheduleJobs, splayOf }, { Outbox }] = await Promise.all([
      import('./cron.js'),
      import('./daemon.js'),
      import('./outbox/outbox.js'),
    ]);
    const c = loaded.config;
    const { jobs, notes } = scheduleJobs(c, await registryKinds(), loaded.localKinds);
    const now = Date.now();
    let splayMs = 0;
    try {
      const ob = new Outbox(`${c.stateDir}/outbox.db`);
      try {
        splayMs = splayOf(ob, c);
      } finally {
        ob.close();
      }
    } catch {
      /* state dir not writable here: show the schedule without splay */
    }
    const schedule = jobs.map((j) => {
      const cron = new Cron(j.cron, c.schedule.timezone);
      const base = cron.next(now - splayMs);
      cron.destroy();
      return {
        kind: j.kind,
        cron: j.cron,
        jitterMinutes: j.jitterMs / 60_000,
        timeoutSeconds: j.timeoutMs / 1000,
        next: base === undefined ? null : new Date(base + splayMs).toISOString(),
      };
    });
    const shown = { ...c, collector: { ...c.collector, token: c.collector.token ? '(set)' : undefined } };
    const out = {
      file: o.config,
      config: shown,
      schedule,
      splayMinutes: Math.round(splayMs / 6000) / 10,
      central: loaded.central
        ? { fetchedAt: new Date(loaded.central.fetchedAt).toISOString(), etag: loaded.central.etag }
        : null,
      ignoredLocal: loaded.ignoredLocal,
      notes,
    };
    if (o.json) {
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    const tz = c.schedule.timezone;
    console.log(
      [
        `config ok: ${o.config}${loaded.central ? ' + central config from the collector' : ''}`,
        `collector ${c.collector.url} · token ${c.collector.token ? 'set' : 'NOT SET (enrol first)'} · state ${c.stateDir}`,
        `schedule (${tz}, this agent's splay ${out.splayMinutes} min):`,
        ...schedule.map(
          (s) =>
            `  ${s.kind.padEnd(8)} ${s.cron.padEnd(18)} ±${s.jitterMinutes} min, limit ${s.timeoutSeconds} s, next ${s.next ? new Date(s.next).toLocaleString('sv-SE', { timeZone: tz }).slice(0, 16) : '—'}`,
        ),
        `budget ${c.budget.monthlyMegabytes ? `${c.budget.monthlyMegabytes} MB/month from day ${c.budget.resetDay}; ${c.budget.heavyKinds.join('/')} halve at ${c.budget.halveAtPercent} %, pause at ${c.budget.pauseAtPercent} %` : 'no limit'}`,
        ...loaded.ignoredLocal.map((k) => `ignored local key ${k}: the province sets it (allowLocalOverride)`),
        ...notes.map((n) => `note: ${n}`),
      ].join('\n'),
    );
  });

export async function main(): Promise<void> {
  try {
    await program.parseAsync();
  } catch (err) {
    fail(err);
  }
}

function fail(err: unknown): never {
  const code = isHatangError(err) ? (err as HatangError).code : undefined;
  const exit = code ? (EXIT_FOR[code] ?? EXIT.failure) : EXIT.failure;
  if (wantsJson) {
    const e = err as HatangError;
    console.log(
      JSON.stringify({
        error: { code: code ?? 'HATANG_ERR_INTERNAL', message: e.message, ...(e.hint ? { hint: e.hint } : {}) },
      }),
    );
  } else if (code) {
    const e = err as HatangError;
    console.error(`error ${e.code}: ${e.message}${e.hint ? `\n  ${e.hint}` : ''}`);
  } else {
    console.error(err);
  }
  process.exit(exit);
}
