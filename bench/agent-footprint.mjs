#!/usr/bin/env node
// Agent footprint (docs/benchmarks.md "Agent footprint"): the real daemon (node agent/dist/cli.js
// run), enrolled with a real collector on loopback, runs its tests once at start, then sits idle
// between tests. We sample its resident memory and CPU time from /proc over the idle window and
// compare with a bare Node process doing nothing (same node binary, same run) and with the target
// (idle RSS < 60 MB, about 0 CPU).
//
//   pnpm build && node bench/agent-footprint.mjs          (BENCH_IDLE_S=60 by default)
//
// Linux only (/proc). Loopback only.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const collectorBin = join(root, 'collector/dist/cli.js');
const agentBin = join(root, 'agent/dist/cli.js');
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 60);
const TARGET_RSS_MB = 60;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const PAGE = 4096;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function procStat(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields after "(comm) ": state=0 … utime=11 stime=12 … rss=21 (pages)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return {
    cpuTicks: Number(f[11]) + Number(f[12]),
    rssBytes: kb('VmRSS') * 1024 || Number(f[21]) * PAGE,
    hwmBytes: kb('VmHWM') * 1024,
  };
}

/** Sample a process for `seconds`: RSS every second, CPU ticks at both ends. */
async function sample(pid, seconds) {
  const first = procStat(pid);
  const t0 = performance.now();
  const rss = [];
  for (let i = 0; i < seconds; i++) {
    await sleep(1000);
    rss.push(procStat(pid).rssBytes);
  }
  const last = procStat(pid);
  const wallS = (performance.now() - t0) / 1000;
  // Resident memory split: code pages of the node binary are shared with every Node process
  // (Shared_Clean); what this process alone holds is its anonymous memory.
  const roll = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const rollKb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(roll)?.[1] ?? 0);
  rss.sort((a, b) => a - b);
  return {
    rssMedianMB: rss[Math.floor(rss.length / 2)] / 1e6,
    rssMaxMB: rss.at(-1) / 1e6,
    cpuPct: ((last.cpuTicks - first.cpuTicks) / CLK_TCK / wallS) * 100,
    cpuMs: ((last.cpuTicks - first.cpuTicks) / CLK_TCK) * 1000,
    hwmMB: last.hwmBytes / 1e6,
    pssMB: (rollKb('Pss') * 1024) / 1e6,
    anonMB: (rollKb('Anonymous') * 1024) / 1e6,
    sharedMB: (rollKb('Shared_Clean') * 1024) / 1e6,
    wallS,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'hatang-footprint-'));
const procs = [];
function start(args, opts = {}) {
  const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  procs.push(p);
  let out = '';
  p.stdout.on('data', (c) => (out += c));
  p.stderr.on('data', (c) => (out += c));
  return { p, out: () => out };
}
process.on('exit', () => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

console.log(`agent footprint: node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`);
console.log(`idle window ${IDLE_S} s; shared machine: figures are noisy, compare the ratios of this run`);
if (process.env.BENCH_AGENT_NODE_ARGS) console.log(`agent node args: ${process.env.BENCH_AGENT_NODE_ARGS}`);
console.log('');

// A collector on loopback, an enrolment code, the agent enrolled through the real CLI.
const col = start([
  collectorBin,
  'serve',
  '--host',
  '127.0.0.1',
  '--port',
  '0',
  '--data',
  join(dir, 'collector'),
  '--log-level',
  'info',
]);
let url;
for (let i = 0; i < 200 && !url; i++) {
  await sleep(50);
  url = /"address":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(col.out())?.[1];
}
if (!url) throw new Error(`collector did not start:\n${col.out()}`);
const code = JSON.parse(
  spawnSync(
    process.execPath,
    [
      collectorBin,
      'enroll-code',
      'create',
      '--name',
      'bench',
      '--commune',
      '00000',
      '--access',
      'fixed',
      '--data',
      join(dir, 'collector'),
      '--json',
    ],
    {
      encoding: 'utf8',
    },
  ).stdout,
).code;
const cfg = join(dir, 'agent.yaml');
writeFileSync(
  cfg,
  JSON.stringify({
    schedule: {
      splayMinutes: 0,
      startupDelaySeconds: 0,
      catchUp: true,
      // Latency and speed run once at start (catch-up), then not for hours: the idle window.
      tests: {
        latency: { cron: '0 0 1 1 *' },
        speed: { cron: '0 0 1 1 *' },
        udp: { enabled: false },
        ipv6: { enabled: false },
        ndt7: { enabled: false },
      },
    },
    speed: { windowMs: 5000 },
    log: { level: 'info' },
  }),
);
const en = spawnSync(
  process.execPath,
  [
    agentBin,
    'enroll',
    '--collector',
    url,
    '--code',
    code,
    '--config',
    cfg,
    '--state-dir',
    join(dir, 'state'),
    '--json',
  ],
  {
    encoding: 'utf8',
  },
);
if (en.status !== 0) throw new Error(`enrol failed: ${en.stderr}`);

const nodeArgs = (process.env.BENCH_AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
const agent = start([...nodeArgs, agentBin, 'run', '-c', cfg]);
// Wait for both start-up tests to be pushed.
for (let i = 0; i < 1200; i++) {
  if ((agent.out().match(/"msg":"result queued"/g) ?? []).length >= 2 && /"msg":"pushed results"/.test(agent.out()))
    break;
  if (agent.p.exitCode !== null) throw new Error(`agent exited:\n${agent.out()}`);
  await sleep(100);
}
const afterTests = procStat(agent.p.pid);
await sleep(3000); // let the last push and GC settle
const baseline = start(['-e', 'setInterval(() => {}, 60_000)']);
await sleep(1000);

const [a, b] = await Promise.all([sample(agent.p.pid, IDLE_S), sample(baseline.p.pid, IDLE_S)]);

const f1 = (v, w = 8) => v.toFixed(1).padStart(w);
const row = (name, s) =>
  `| ${name.padEnd(30)} | ${f1(s.rssMedianMB, 10)} | ${f1(s.rssMaxMB, 10)} | ${f1(s.sharedMB, 11)} | ${f1(s.anonMB, 10)} | ${f1(s.pssMB, 6)} | ${s.cpuPct.toFixed(3).padStart(7)} | ${s.cpuMs.toFixed(0).padStart(6)} |`;
console.log(
  `| process                        | RSS MB med | RSS MB max | shared code | private MB | PSS MB | CPU %   | CPU ms |`,
);
console.log(
  `|--------------------------------|-----------:|-----------:|------------:|-----------:|-------:|--------:|-------:|`,
);
console.log(row('hatang-agent run (idle)', a));
console.log(row('bare node (setInterval, idle)', b));
console.log('');
console.log(`agent peak RSS during its start-up tests (VmHWM): ${(afterTests.hwmBytes / 1e6).toFixed(1)} MB`);
console.log(
  `ratio agent / bare node, idle RSS: ${(a.rssMedianMB / b.rssMedianMB).toFixed(2)}; private memory: ${(a.anonMB / b.anonMB).toFixed(2)}`,
);
console.log(
  `ratio agent idle RSS / target ${TARGET_RSS_MB} MB: ${(a.rssMedianMB / TARGET_RSS_MB).toFixed(2)} → ${a.rssMedianMB < TARGET_RSS_MB ? 'within target' : 'OVER target'}`,
);
console.log(
  `agent idle CPU: ${a.cpuPct.toFixed(3)} % of one core over ${a.wallS.toFixed(0)} s (${(a.cpuMs / a.wallS).toFixed(2)} ms per second)`,
);

agent.p.kill('SIGTERM');
await new Promise((r) => agent.p.once('exit', r));
process.exit(0);
