#!/usr/bin/env node
// Shaped-link speed benchmark (docs/benchmarks.md). Needs root.
//
// For each down/up rate pair, two network namespaces joined by veth and shaped with tc tbf
// (test/helpers/netns.mjs createLink), a hatang test point (collector --role speedtest) and an
// iperf3 server in the "server" namespace; then, from the "client" namespace, in the same run:
// the hatang speed test, iperf3 (8 streams down, 4 up, first 2 s omitted) and curl (one stream).
// Each figure is printed with its ratio to the link's TCP goodput ceiling (tbf rate × MSS / 1514),
// the MSS read with `ss -ti` inside the namespaces. A metered-profile run at 40/10 prints the
// bytes it used and its rate against the full test on the same link.
//
//   pnpm -s build && sudo node bench/speed/shaped.mjs [--rates 10/5,40/10,90/30,300/100]
//       [--runs 1] [--cc reno|bbr|default] [--no-tools] [--no-metered] [--json out.json]
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLink, netnsUnavailable, tcpCeilingBps } from '../../test/helpers/netns.mjs';
import { args, collectorCli, curlDown, curlUp, hatang, iperf3, machineLoad, mbps, ratio, sh, table } from './lib.mjs';

const a = args();
const rates = String(a.rates ?? '10/5,40/10,90/30,300/100')
  .split(',')
  .map((r) => r.split('/').map(Number));
const runs = Number(a.runs ?? 1);
const cc = String(a.cc ?? 'reno');
const tools = !a['no-tools'];
const metered = !a['no-metered'];
const TARGET = 0.03;
const mb = (b) => `${((b ?? 0) / 1e6).toFixed(1)} MB`;
const METERED_CAP = 30_000_000;

const why = netnsUnavailable();
if (why) {
  console.error(`shaped-link benchmark needs root and network namespaces: ${why}`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'hatang-bench-'));
const results = [];
const started = new Date();
console.log(`hatang shaped-link speed benchmark, ${started.toISOString()}`);
console.log(`command: node bench/speed/${process.argv.slice(1).join(' ').split('bench/speed/')[1] ?? 'shaped.mjs'}`);
console.log(`machine: ${machineLoad()} at start`);
console.log(`congestion control in both namespaces: ${cc}\n`);

/** The MSS of established TCP connections in a namespace, from `ss -ti`, during a transfer. */
function mssOf(link, ns, port) {
  const out = link.exec(ns, ['ss', '-tin', `( sport = :${port} or dport = :${port} )`]);
  const found = [...out.matchAll(/\bmss:(\d+)/g)].map((m) => Number(m[1]));
  return found.length ? Math.max(...found) : undefined;
}

function uploadFile(bytes) {
  const f = join(dir, `up-${bytes}.bin`);
  const fd = openSync(f, 'w');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 2654435761) >>> 24; // not all zeros; curl does not compress
  for (let left = bytes; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, left));
  closeSync(fd);
  return f;
}

// Ctrl-C or a kill must not leave namespaces and servers behind.
const live = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    for (const { link, procs } of live) {
      for (const p of procs) p.kill('SIGKILL');
      link.close();
    }
    process.exit(130);
  });
}

for (const [down, up] of rates) {
  const link = createLink({ downMbps: down, upMbps: up });
  const procs = [];
  const handle = { link, procs };
  live.add(handle);
  try {
    if (cc !== 'default') {
      for (const ns of [link.client, link.server]) {
        link.exec(ns, ['sh', '-c', `echo ${cc} > /proc/sys/net/ipv4/tcp_congestion_control`]);
      }
    }
    const host = link.addr.server4;
    const url = `http://${host}:8080`;
    const tp = link.spawn(link.server, [
      'node',
      collectorCli,
      'serve',
      '--role',
      'speedtest',
      '--host',
      host,
      '--port',
      '8080',
      '--log-level',
      'warn',
    ]);
    procs.push(tp);
    if (tools) procs.push(link.spawn(link.server, ['iperf3', '-s', '-B', host, '-p', '5201']));
    const run = (argv) => link.exec(link.client, argv);
    for (let i = 0; i < 50; i++) {
      try {
        run(['curl', '-s', '-o', '/dev/null', '--max-time', '1', `${url}/speed/ping`]);
        break;
      } catch {
        await sleep(200);
      }
    }
    const cfg = join(dir, `agent-${down}-${up}.yaml`);
    const cfgMetered = join(dir, `agent-${down}-${up}-metered.yaml`);
    const base = `collector:\n  url: ${url}\nstateDir: ${join(dir, 'state')}\nlog:\n  level: error\n`;
    sh(['sh', '-c', `printf '%s' "$0" > ${cfg}`, base]);
    sh(['sh', '-c', `printf '%s' "$0" > ${cfgMetered}`, `${base}speed:\n  profile: metered\n`]);

    const ceilDown = tcpCeilingBps(down);
    const ceilUp = tcpCeilingBps(up);
    // MSS: read from the sockets of a live transfer in each namespace (the sender's side).
    const probe = spawn('ip', [
      'netns',
      'exec',
      link.client,
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '--max-time',
      '2',
      `${url}/speed/down?bytes=1000000000`,
    ]);
    const probeDone = new Promise((r) => probe.on('exit', r));
    await sleep(800);
    const mssDown = mssOf(link, link.server, 8080);
    await probeDone;
    const upProbe = spawn('ip', [
      'netns',
      'exec',
      link.client,
      'sh',
      '-c',
      `head -c 200000000 /dev/zero | curl -s -o /dev/null --max-time 2 -X POST -T - ${url}/speed/up`,
    ]);
    const upDone = new Promise((r) => upProbe.on('exit', r));
    await sleep(800);
    const mssUp = mssOf(link, link.client, 8080);
    await upDone;
    const mssNote = `MSS ${mssDown ?? '?'} down / ${mssUp ?? '?'} up`;
    const ceilDownMss = mssDown ? down * 1e6 * (mssDown / 1514) : ceilDown;
    const ceilUpMss = mssUp ? up * 1e6 * (mssUp / 1514) : ceilUp;

    const rows = [];
    const entry = { down, up, cc, mssDown, mssUp, ceilDown: ceilDownMss, ceilUp: ceilUpMss, runs: [] };
    for (let r = 0; r < runs; r++) {
      const h = hatang(run, cfg);
      const d = h.speed?.download?.bps ?? Number.NaN;
      const u = h.speed?.upload?.bps ?? Number.NaN;
      const one = {
        hatang: {
          down: d,
          up: u,
          downBytes: h.speed?.download?.bytes,
          upBytes: h.speed?.upload?.bytes,
          status: h.status,
          agentLimited: h.agentLimited,
        },
      };
      rows.push(['hatang', mbps(d), ratio(d / ceilDownMss), mbps(u), ratio(u / ceilUpMss), h.status]);
      if (tools) {
        const ipD = iperf3(run, host, 5201, { reverse: true, streams: 8, seconds: 10 });
        const ipU = iperf3(run, host, 5201, { reverse: false, streams: 4, seconds: 10 });
        rows.push([
          'iperf3',
          mbps(ipD.bps),
          ratio(ipD.bps / ceilDownMss),
          mbps(ipU.bps),
          ratio(ipU.bps / ceilUpMss),
          '',
        ]);
        const cD = curlDown(run, url, Math.round((ceilDown / 8) * 10), 12);
        const cU = curlUp(run, url, uploadFile(Math.round((ceilUp / 8) * 10)), 12);
        rows.push(['curl', mbps(cD.bps), ratio(cD.bps / ceilDownMss), mbps(cU.bps), ratio(cU.bps / ceilUpMss), '']);
        Object.assign(one, { iperf3: { down: ipD.bps, up: ipU.bps }, curl: { down: cD.bps, up: cU.bps } });
      }
      entry.runs.push(one);
    }
    console.log(
      `link ${down}/${up} Mbit/s · tbf · MTU 1500 · ${mssNote} · ceiling ${mbps(ceilDownMss)}/${mbps(ceilUpMss)} Mbit/s`,
    );
    console.log(table(['tool', 'down Mbit/s', 'ratio', 'up Mbit/s', 'ratio', 'status'], rows));

    if (metered && down === 40 && up === 10) {
      const m = hatang(run, cfgMetered);
      const full = entry.runs[0].hatang;
      const md = m.speed.download;
      const mu = m.speed.upload;
      entry.metered = {
        down: md.bps,
        up: mu.bps,
        downBytes: md.bytes,
        upBytes: mu.bytes,
        stop: [md.stopReason, mu.stopReason],
      };
      console.log('\nmetered profile on the same link (stop when stable, 30 MB cap per direction):');
      console.log(
        table(
          ['direction', 'Mbit/s', 'vs full test', 'bytes used', 'full test used', 'stop'],
          [
            ['down', mbps(md.bps), ratio(md.bps / full.down), mb(md.bytes), mb(full.downBytes), md.stopReason],
            ['up', mbps(mu.bps), ratio(mu.bps / full.up), mb(mu.bytes), mb(full.upBytes), mu.stopReason],
          ],
        ),
      );
      entry.metered.ok =
        md.bytes <= METERED_CAP &&
        mu.bytes <= METERED_CAP &&
        Math.abs(md.bps / full.down - 1) <= 0.05 &&
        Math.abs(mu.bps / full.up - 1) <= 0.05;
    }
    results.push(entry);
    console.log(`machine: ${machineLoad()}\n`);
  } finally {
    for (const p of procs) p.kill('SIGTERM');
    await sleep(300);
    link.close();
    live.delete(handle);
  }
}

// Verdict against the targets.
console.log('targets: hatang within ±3 % of the TCP goodput ceiling at every rate, both directions');
let ok = true;
for (const e of results) {
  for (const r of e.runs) {
    const dd = r.hatang.down / e.ceilDown - 1;
    const uu = r.hatang.up / e.ceilUp - 1;
    const pass = Math.abs(dd) <= TARGET && Math.abs(uu) <= TARGET;
    ok &&= pass;
    console.log(
      `  ${e.down}/${e.up}: down ${(dd * 100).toFixed(1)} %, up ${(uu * 100).toFixed(1)} % → ${pass ? 'PASS' : 'MISS'}`,
    );
  }
  if (e.metered) {
    console.log(
      `  metered 40/10: ≤ 30 MB per direction and within 5 % of the full test → ${e.metered.ok ? 'PASS' : 'MISS'}`,
    );
    ok &&= e.metered.ok;
  }
}
console.log(`machine: ${machineLoad()} at end`);
if (a.json) sh(['sh', '-c', `printf '%s' "$0" > ${a.json}`, JSON.stringify({ started, cc, results }, null, 2)]);
rmSync(dir, { recursive: true, force: true });
process.exitCode = ok ? 0 : 1;
