// Shared pieces of the speed benchmarks: run hatang, iperf3 and curl, and print tables.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const agentCli = join(root, 'agent/dist/cli.js');
export const collectorCli = join(root, 'collector/dist/cli.js');

/** Parse `--key value` and `--flag` arguments. */
export function args(argv = process.argv.slice(2)) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) continue;
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) out[key] = true;
    else {
      out[key] = next;
      i++;
    }
  }
  return out;
}

export const mbps = (bps) => (bps / 1e6).toFixed(2);
export const ratio = (v) => (Number.isFinite(v) ? v.toFixed(3) : '—');

/** Machine load, to print with every figure (the bench machine is shared). */
export function machineLoad() {
  const [l1, l5] = loadavg();
  return `load average ${l1.toFixed(2)} (1 min), ${l5.toFixed(2)} (5 min) on ${cpus().length} CPUs`;
}

/** A fixed-width table. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map(String));
  const w = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  return [line(all[0]), w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** curl's own figure for a download of `bytes` (or as much as arrives in `maxS` seconds), bits/s. */
export function curlDown(run, url, bytes, maxS) {
  const out = run([
    'curl',
    '-s',
    '-o',
    '/dev/null',
    '--max-time',
    String(maxS),
    '-w',
    '%{speed_download} %{size_download} %{time_total}',
    `${url}/speed/down?bytes=${bytes}`,
  ]);
  const [speed, size, time] = out.trim().split(/\s+/).map(Number);
  return { bps: speed * 8, bytes: size, seconds: time };
}

/** curl's own figure for an upload of `bytes` from a file, bits/s; plus what the server says it received. */
export function curlUp(run, url, file, maxS) {
  const out = run([
    'curl',
    '-s',
    '--max-time',
    String(maxS),
    '-H',
    'content-type: application/octet-stream',
    '--data-binary',
    `@${file}`,
    '-w',
    '\n%{speed_upload} %{size_upload} %{time_total}',
    `${url}/speed/up`,
  ]);
  const lines = out.trim().split('\n');
  const [speed, size, time] = (lines.at(-1) ?? '').split(/\s+/).map(Number);
  let server;
  try {
    const a = JSON.parse(lines.slice(0, -1).join('\n'));
    server = a.durationMs > 0 ? (a.bytes * 8 * 1000) / a.durationMs : undefined;
  } catch {}
  return { bps: speed * 8, bytes: size, seconds: time, serverBps: server };
}

/** iperf3 goodput (receiver side, after omitting the first 2 s), bits/s. */
export function iperf3(run, host, port, { reverse, streams, seconds }) {
  const out = run([
    'iperf3',
    '-c',
    host,
    '-p',
    String(port),
    '-t',
    String(seconds),
    '-O',
    '2',
    '-P',
    String(streams),
    '--json',
    ...(reverse ? ['-R'] : []),
  ]);
  const j = JSON.parse(out);
  return { bps: j.end.sum_received.bits_per_second, retransmits: j.end.sum_sent.retransmits };
}

/** hatang's own result (`hatang-agent test speed --json`). */
export function hatang(run, configFile) {
  const out = run(['node', agentCli, 'test', 'speed', '--json', '--no-push', '-c', configFile]);
  // `hatang-agent test --json` prints { result, push? }.
  return JSON.parse(out).result;
}

export function sh(argv, opts = {}) {
  return execFileSync(argv[0], argv.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
    ...opts,
  });
}
