#!/usr/bin/env node
// `pnpm demo`: a collector on loopback with its SQLite file under ./data, a demo agent credential,
// the agent measuring against the collector's own speed endpoints, results pushed and printed.
// Works offline (loopback only). Ctrl-C stops both cleanly.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const data = join(root, 'data');
const port = process.env.HATANG_DEMO_PORT ?? '8080';
const url = `http://127.0.0.1:${port}`;
const collectorBin = join(root, 'collector/dist/cli.js');
const agentBin = join(root, 'agent/dist/cli.js');
mkdirSync(join(data, 'agent'), { recursive: true });

const say = (m) => console.log(`\x1b[1m[demo]\x1b[0m ${m}`);

const collector = spawn(
  process.execPath,
  [collectorBin, 'serve', '--host', '127.0.0.1', '--port', port, '--data', data, '--log-level', 'warn'],
  {
    stdio: ['ignore', 'inherit', 'inherit'],
  },
);

async function waitHealthy() {
  for (let i = 0; i < 100; i++) {
    if (collector.exitCode !== null)
      throw new Error(`collector exited with ${collector.exitCode} (is port ${port} in use? set HATANG_DEMO_PORT)`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('collector did not become healthy in 10 s');
}

let agent;
function stop(code = 0) {
  say('stopping…');
  agent?.kill('SIGTERM');
  collector.kill('SIGTERM');
  const t = setTimeout(() => process.exit(code), 5000);
  t.unref();
  collector.once('exit', () => process.exit(code));
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

try {
  await waitHealthy();
  say(`collector listening on ${url}  (database ${join(data, 'hatang.db')})`);
  const add = spawnSync(
    process.execPath,
    [
      collectorBin,
      'agents',
      'add',
      '--name',
      'demo-agent',
      '--commune',
      '03646',
      '--isp',
      'demo',
      '--data',
      data,
      '--json',
    ],
    { encoding: 'utf8' },
  );
  if (add.status !== 0) throw new Error(add.stderr);
  const { id, token } = JSON.parse(add.stdout);
  const cfgPath = join(data, 'demo-agent.yaml');
  writeFileSync(
    cfgPath,
    `# written by pnpm demo\ncollector:\n  url: ${url}\n  token: ${token}\nagent:\n  access: fixed\n  isp: demo\nstateDir: ${join(data, 'agent')}\nspeed:\n  windowMs: 5000\nschedule:\n  splayMinutes: 0\n  tests:\n    latency: { cron: '*/10 * * * *' }\n    speed: { cron: '*/10 * * * *' }\nlog:\n  level: warn\n`,
    { mode: 0o600 },
  );
  say(`demo agent ${id} registered; config ${cfgPath}`);
  for (const kind of ['latency', 'speed']) {
    say(`running the agent's ${kind} test against the collector…`);
    const r = spawnSync(process.execPath, [agentBin, 'test', kind, '-c', cfgPath], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`agent ${kind} test failed (exit ${r.status})`);
  }
  const list = spawnSync(process.execPath, [collectorBin, 'agents', 'list', '--data', data], { encoding: 'utf8' });
  process.stdout.write(list.stdout);
  say(`results stored in ${join(data, 'hatang.db')}`);
  // A dashboard account for the demo: a fresh random password each run, shown once.
  const password = randomBytes(9).toString('base64url');
  const users = (args) =>
    spawnSync(process.execPath, [collectorBin, 'users', ...args, '--data', data, '--password-stdin'], {
      input: `${password}\n`,
      encoding: 'utf8',
    });
  let u = users(['add', 'demo', '--role', 'admin', '--full-name', 'Demo']);
  if (u.status !== 0) u = users(['passwd', 'demo']);
  if (u.status !== 0) throw new Error(`could not create the dashboard account: ${u.stderr}`);
  say(`dashboard: ${url}/   (user: demo, password: ${password})`);
  say(`collector: ${url}   health: ${url}/healthz   metrics: ${url}/metrics   API docs: ${url}/docs`);
  say('the agent keeps measuring on its schedule (latency hourly, speed every 2 h ± 30 min); Ctrl-C stops both');
  agent = spawn(process.execPath, [agentBin, 'run', '-c', cfgPath], { stdio: 'inherit' });
} catch (err) {
  console.error(`[demo] ${err.message}`);
  stop(1);
}
