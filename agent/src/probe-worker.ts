import { systemClock } from './clock.js';
import { createLogger } from './log.js';
import { probeFor, probes } from './probes/registry.js';
import { runProbe } from './result.js';
import type { FromWorker, ToWorker } from './runner.js';

/**
 * Child process that runs one test for the daemon (runner.ts) and exits: `--kinds` lists the probe
 * registry; otherwise it waits for one `run` message, answers with the result, and exits. It dies
 * with its parent (IPC disconnect).
 */

function send(m: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

process.on('disconnect', () => process.exit(1));

if (process.argv.includes('--kinds')) {
  await send({ type: 'kinds', kinds: Object.keys(probes).filter((k) => probeFor(k)) });
  process.exit(0);
}

const ac = new AbortController();
process.on('message', async (m: ToWorker) => {
  if (m.type === 'abort') {
    ac.abort(new DOMException(m.reason, m.reason.includes('overran') ? 'TimeoutError' : 'AbortError'));
    return;
  }
  if (m.type !== 'run') return;
  const probe = probeFor(m.kind);
  if (!probe) {
    await send({ type: 'error', message: `no probe for ${m.kind}` });
    process.exit(1);
  }
  try {
    const result = await runProbe(probe, {
      config: m.config,
      clock: systemClock(),
      log: createLogger(m.logLevel),
      signal: ac.signal,
      ...(m.timeoutMs ? { timeoutMs: m.timeoutMs } : {}),
      onProgress: (progress) => void send({ type: 'progress', progress }),
    });
    await send({ type: 'result', result });
    process.exit(0);
  } catch (err) {
    await send({ type: 'error', message: (err as Error)?.stack ?? String(err) });
    process.exit(1);
  }
});
