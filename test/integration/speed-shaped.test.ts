import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper shared with bench/
import { createLink, requireNetns, tcpCeilingBps } from '../helpers/netns.mjs';

// The short CI form of bench/speed/shaped.mjs: one 40/10 Mbit/s tbf link, the compiled test point
// in one namespace and the compiled agent in the other (the vitest process stays in the root
// namespace), a 6 s window per direction, and the result within ±6 % of the TCP goodput ceiling.
const ns = requireNetns('shaped-link speed test');
const root = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe.skipIf(!!ns.skip)('speed test on a tbf-shaped 40/10 Mbit/s link', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hatang-shaped-'));
  const link = ns.skip ? undefined : createLink({ downMbps: 40, upMbps: 10 });
  let tp: ChildProcess | undefined;
  afterAll(async () => {
    tp?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    link?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads download and upload within ±6 % of the ceiling, and says why each direction stopped', async () => {
    // Loss-based congestion control, as on the agents' and servers' Debian systems (docs/benchmarks.md).
    for (const n of [link.client, link.server]) {
      link.exec(n, ['sh', '-c', 'echo reno > /proc/sys/net/ipv4/tcp_congestion_control']);
    }
    const url = `http://${link.addr.server4}:8080`;
    tp = link.spawn(link.server, [
      process.execPath,
      join(root, 'collector/dist/cli.js'),
      'serve',
      '--role',
      'speedtest',
      '--host',
      link.addr.server4,
      '--port',
      '8080',
      '--log-level',
      'warn',
    ]);
    for (let i = 0; ; i++) {
      try {
        link.exec(link.client, ['curl', '-s', '-f', '-o', '/dev/null', '--max-time', '1', `${url}/speed/ping`]);
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(cfg, `collector:\n  url: ${url}\nstateDir: ${join(dir, 'state')}\nspeed:\n  windowMs: 6000\n`);
    const { stdout } = await run(
      'ip',
      [
        'netns',
        'exec',
        link.client,
        process.execPath,
        join(root, 'agent/dist/cli.js'),
        'test',
        'speed',
        '--json',
        '--no-push',
        '-c',
        cfg,
      ],
      { timeout: 60_000 },
    );
    const r = JSON.parse(stdout).result; // `test --json` prints { result, push? }
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    const down = r.speed.download.bps / tcpCeilingBps(40);
    const up = r.speed.upload.bps / tcpCeilingBps(10);
    console.log(`shaped 40/10: download ${down.toFixed(3)}, upload ${up.toFixed(3)} of the ceiling`);
    expect(down).toBeGreaterThan(0.94);
    expect(down).toBeLessThan(1.06);
    expect(up).toBeGreaterThan(0.94);
    expect(up).toBeLessThan(1.06);
    expect(r.speed.download.stopReason).toBe('window');
    expect(r.speed.upload.serverMeasured).toBe(true);
    // The tbf queue (50 ms) shows up as latency under load.
    expect(r.speed.download.loaded.medianMs).toBeGreaterThan(r.speed.idle.medianMs);

    // Metered profile on the same link: the download stops once stable, well under its 30 MB cap,
    // and reads within 5 % of the full test.
    writeFileSync(cfg, `collector:\n  url: ${url}\nstateDir: ${join(dir, 'state')}\nspeed:\n  profile: metered\n`);
    const m = JSON.parse(
      (
        await run(
          'ip',
          [
            'netns',
            'exec',
            link.client,
            process.execPath,
            join(root, 'agent/dist/cli.js'),
            'test',
            'speed',
            '--json',
            '--no-push',
            '-c',
            cfg,
          ],
          { timeout: 60_000 },
        )
      ).stdout,
    ).result; // `test --json` prints { result, push? }
    expect(m.status, JSON.stringify(m.error)).toBe('ok');
    console.log(
      `metered 40/10: download ${(m.speed.download.bytes / 1e6).toFixed(1)} MB, ${(m.speed.download.bps / r.speed.download.bps).toFixed(3)} of the full test`,
    );
    expect(m.speed.download.stopReason).toBe('stable');
    expect(m.speed.download.bytes).toBeLessThanOrEqual(30_000_000);
    expect(Math.abs(m.speed.download.bps / r.speed.download.bps - 1)).toBeLessThan(0.05);
    expect(m.speed.upload.bytes).toBeLessThanOrEqual(30_000_000);
  }, 120_000);
});
