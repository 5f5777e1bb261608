#!/usr/bin/env node
// Loopback speed benchmark (docs/benchmarks.md): is hatang's own client, not the line, ever the
// limit? One hatang test point (collector --role speedtest) on 127.0.0.1; against it, in the same
// run, the hatang speed test and curl (download of /speed/down, upload of a file to /speed/up).
// Prints each figure and hatang ÷ curl per direction (target ≥ 0.8). No root needed.
//
//   pnpm -s build && node bench/speed/loopback.mjs [--runs 1] [--window-ms 10000]
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { args, collectorCli, curlDown, curlUp, hatang, machineLoad, mbps, ratio, sh, table } from './lib.mjs';

const a = args();
const runs = Number(a.runs ?? 1);
const windowMs = Number(a['window-ms'] ?? 10_000);
const TARGET = 0.8;
const dir = mkdtempSync(join(tmpdir(), 'hatang-loop-'));

console.log(`hatang loopback speed benchmark, ${new Date().toISOString()}`);
console.log(
  `command: node bench/speed/loopback.mjs${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
);
console.log(`machine: ${machineLoad()} at start\n`);

const tp = spawn(
  process.execPath,
  [collectorCli, 'serve', '--role', 'speedtest', '--host', '127.0.0.1', '--port', '0', '--log-level', 'info'],
  { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, HATANG_UDP_ENABLED: 'false' } },
);
const url = await new Promise((resolve, reject) => {
  let buf = '';
  tp.stdout.on('data', (d) => {
    buf += d;
    const m = /"address":"(http:\/\/[^"]+)"/.exec(buf);
    if (m) resolve(m[1]);
  });
  tp.on('exit', (c) => reject(new Error(`test point exited ${c}: ${buf}`)));
});
tp.stdout.resume();

const cfg = join(dir, 'agent.yaml');
writeFileSync(
  cfg,
  // No byte cap worth the name: at loopback rates 250 MB lasts a fraction of a second, and the
  // question here is whether hatang's client keeps up for a whole window.
  `collector:\n  url: ${url}\nstateDir: ${join(dir, 'state')}\nspeed:\n  windowMs: ${windowMs}\n  capBytes: 100000000000\nlog:\n  level: error\n`,
);
const local = (argv) => sh(argv);

let ok = true;
try {
  for (let r = 0; r < runs; r++) {
    const h = hatang(local, cfg);
    const hd = h.speed.download.bps;
    const hu = h.speed.upload.bps;
    // curl: one stream, sized to run a few seconds at what hatang saw (server limit 1 GiB per request).
    const downBytes = Math.min(1024 ** 3, Math.max(50e6, Math.round((hd / 8) * 5)));
    const cd = curlDown(local, url, downBytes, 20);
    const upBytes = Math.min(1024 ** 3 - 1, Math.max(50e6, Math.round((hu / 8) * 5)));
    const file = join(dir, 'up.bin');
    const fd = openSync(file, 'w');
    const chunk = Buffer.alloc(1 << 20, 0x5a);
    for (let left = upBytes; left > 0; left -= chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, left));
    closeSync(fd);
    const cu = curlUp(local, url, file, 20);
    rmSync(file);
    const rd = hd / cd.bps;
    const ru = hu / cu.bps;
    ok &&= rd >= TARGET && ru >= TARGET;
    console.log(
      table(
        ['', 'download Mbit/s', 'upload Mbit/s'],
        [
          ['hatang (8 down / 4 up streams)', mbps(hd), mbps(hu)],
          ['curl (1 stream)', mbps(cd.bps), mbps(cu.bps)],
          ['hatang ÷ curl', ratio(rd), ratio(ru)],
        ],
      ),
    );
    console.log(
      `hatang event loop busy ${h.speed.cpu?.eventLoopPct ?? '?'} %, process CPU ${h.speed.cpu?.processPct ?? '?'} %, agent-limited flag ${h.agentLimited}`,
    );
    console.log(
      `target hatang ≥ ${TARGET} × curl in both directions → ${rd >= TARGET && ru >= TARGET ? 'PASS' : 'MISS'}`,
    );
    console.log(`machine: ${machineLoad()}\n`);
  }
} finally {
  tp.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = ok ? 0 : 1;
