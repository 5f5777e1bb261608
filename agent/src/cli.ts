#!/usr/bin/env node
import { HatangError, RESULT_KINDS, type ResultKind } from '@hatang/shared';
import { Argument, Command, Option } from 'commander';
import { systemClock } from './clock.js';
import { loadConfig } from './config.js';
import { Daemon } from './daemon.js';
import { describeResult, formatProgress } from './format.js';
import { createLogger } from './log.js';
import { Outbox } from './outbox/outbox.js';
import { probeFor } from './probes/registry.js';
import { runProbe } from './result.js';
import { requireToken, Uplink } from './uplink.js';
import { VERSION } from './version.js';

/** Documented exit codes (docs/agent.md). */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, testFailed: 4, collector: 5 } as const;

const configOpt = () =>
  new Option('-c, --config <file>', 'agent YAML config').env('HATANG_CONFIG').default('/etc/hatang/agent.yaml');

const program = new Command('hatang-agent')
  .description('hatang measurement agent: scheduled speed, latency and IPv6 tests, pushed to the provincial collector')
  .version(VERSION)
  .showHelpAfterError()
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));

program
  .command('test')
  .description('run one test now and show its progress, then queue and push the result')
  .addArgument(new Argument('<kind>', 'test kind').choices([...RESULT_KINDS]))
  .addOption(configOpt())
  .option('--json', 'print the result as JSON')
  .option('--no-push', 'do not queue or push the result')
  .action(async (kind: ResultKind, o: { config: string; json?: boolean; push: boolean }) => {
    const config = loadConfig({ file: o.config });
    const log = createLogger(o.json ? 'silent' : config.log.level === 'info' ? 'warn' : config.log.level);
    const probe = probeFor(kind);
    if (!probe) throw new HatangError('HATANG_ERR_CONFIG', `test kind ${kind} is not available in this agent version`);
    const clock = systemClock();
    const tty = process.stderr.isTTY && !o.json;
    let lastPhase = '';
    const r = await runProbe(probe, {
      config,
      clock,
      log,
      timeoutMs: 120_000,
      onProgress: (p) => {
        if (o.json) return;
        // A terminal gets one live line; a log or pipe gets one line per phase.
        if (tty) process.stderr.write(`\r\x1b[K${formatProgress(p)}`);
        else if (p.phase !== lastPhase)
          process.stderr.write(`${formatProgress({ phase: p.phase, ...(p.message ? { message: p.message } : {}) })}\n`);
        lastPhase = p.phase;
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    console.log(o.json ? JSON.stringify(r) : describeResult(r));
    if (o.push) {
      const outbox = Outbox.inDir(config.stateDir);
      try {
        outbox.enqueue(r, clock.now());
        if (config.collector.token) {
          const up = new Uplink({
            collectorUrl: config.collector.url,
            token: config.collector.token,
            outbox,
            clock,
            log,
          });
          const d = await up.drain();
          if (!o.json)
            console.log(
              d.last.kind === 'empty'
                ? 'pushed to the collector'
                : `queued; push pending: ${'reason' in d.last ? d.last.reason : ''}`,
            );
        }
      } finally {
        outbox.close();
      }
    }
    process.exitCode = r.status === 'error' ? EXIT.testFailed : EXIT.ok;
  });

program
  .command('run')
  .description('run as a daemon: scheduled tests, durable outbox, uplink')
  .addOption(configOpt())
  .addOption(new Option('--every <seconds>', 'seconds between test cycles').default('3600'))
  .option('--tests <kinds>', 'comma-separated kinds per cycle', 'latency,speed')
  .option('--now', 'run a cycle at start')
  .action(async (o: { config: string; every: string; tests: string; now?: boolean }) => {
    const config = loadConfig({ file: o.config });
    const log = createLogger(config.log.level);
    const clock = systemClock();
    const outbox = Outbox.inDir(config.stateDir);
    const uplink = new Uplink({
      collectorUrl: config.collector.url,
      token: requireToken(config.collector.token),
      outbox,
      clock,
      log,
      batchSize: config.uplink.batchSize,
      timeoutMs: config.uplink.timeoutMs,
    });
    const kinds = o.tests.split(',').map((s) => s.trim()) as ResultKind[];
    const daemon = new Daemon({
      config,
      clock,
      log,
      outbox,
      uplink,
      kinds,
      everyMs: Number(o.every) * 1000,
      runAtStart: o.now ?? false,
      onResult: (r) => log.info({ id: r.id, kind: r.kind, status: r.status }, 'result queued'),
    });
    log.info({ version: VERSION, collector: config.collector.url }, 'agent started');
    daemon.start();
    const stop = async (signal: string) => {
      log.info({ signal }, 'stopping');
      await daemon.stop();
      outbox.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });

program
  .command('push')
  .description('push queued results to the collector now')
  .addOption(configOpt())
  .action(async (o: { config: string }) => {
    const config = loadConfig({ file: o.config });
    const log = createLogger(config.log.level);
    const outbox = Outbox.inDir(config.stateDir);
    try {
      const up = new Uplink({
        collectorUrl: config.collector.url,
        token: requireToken(config.collector.token),
        outbox,
        clock: systemClock(),
        log,
      });
      const d = await up.drain();
      console.log(
        `accepted ${d.accepted}, duplicate ${d.duplicate}, rejected ${d.rejected}; outbox ${outbox.depth().count} left`,
      );
      if (d.last.kind !== 'empty') process.exitCode = EXIT.collector;
    } finally {
      outbox.close();
    }
  });

const configCmd = program.command('config').description('configuration');
configCmd
  .command('check')
  .description('validate the config file and environment, and print the result')
  .addOption(configOpt())
  .option('--json', 'print the effective config as JSON')
  .action((o: { config: string; json?: boolean }) => {
    const config = loadConfig({ file: o.config });
    const shown = {
      ...config,
      collector: { ...config.collector, token: config.collector.token ? '(set)' : undefined },
    };
    console.log(o.json ? JSON.stringify(shown, null, 2) : `config ok: ${o.config}`);
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof HatangError) {
    console.error(`error ${err.code}: ${err.message}${err.hint ? `\n  ${err.hint}` : ''}`);
    process.exit(
      err.code === 'HATANG_ERR_CONFIG' || err.code === 'HATANG_ERR_CONFIG_NOT_FOUND' ? EXIT.config : EXIT.failure,
    );
  }
  console.error(err);
  process.exit(EXIT.failure);
}
