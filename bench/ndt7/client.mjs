// Runs inside the client namespace: hatang's ndt7 probe (compiled agent) against one server URL,
// printing the wire Result as one JSON line. Usage: node client.mjs <collector-url> <4|6>
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, loadConfig, ndt7Probe, runProbe, systemClock } from '../../agent/dist/index.js';

const [url, family = '4'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node client.mjs <collector-url> <4|6>');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'hatang-ndt7-bench-'));
try {
  const config = loadConfig({
    env: { HATANG_COLLECTOR_URL: url, HATANG_STATE_DIR: dir, HATANG_NDT7_FAMILY: family },
  });
  const r = await runProbe(ndt7Probe, { config, clock: systemClock(), log: createLogger('warn'), timeoutMs: 60_000 });
  process.stdout.write(`${JSON.stringify(r)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
