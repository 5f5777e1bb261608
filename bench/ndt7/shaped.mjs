// hatang's ndt7 client against hatang's ndt7 server across a tbf-shaped namespace link
// (test/helpers/netns.mjs): the collector runs as a stateless test point (--role speedtest) in
// the server namespace, the agent's probe in the client namespace, both from dist/.
// Shared by bench/ndt7/run.mjs (10 s subtests) and the short CI variant in test/integration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLink, tcpCeilingBps } from '../../test/helpers/netns.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Start the collector in a namespace and resolve with its port once it listens. */
function startServer(link, configFile) {
  const proc = link.spawn(link.server, [
    process.execPath,
    join(root, 'collector/dist/cli.js'),
    'serve',
    '--config',
    configFile,
  ]);
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`collector did not start in 15 s: ${err}${buf}`)), 15_000);
    proc.stderr.on('data', (d) => {
      err += d;
    });
    proc.stdout.on('data', (d) => {
      buf += d;
      for (const line of buf.split('\n')) {
        const m = /"address":"[^"]*:(\d+)"/.exec(line);
        if (m && line.includes('collector listening')) {
          clearTimeout(timer);
          resolve({ proc, port: Number(m[1]) });
          return;
        }
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code}: ${err}${buf}`));
    });
  });
}

function runClient(link, url, family) {
  return new Promise((resolve, reject) => {
    const p = link.spawn(link.client, [process.execPath, join(root, 'bench/ndt7/client.mjs'), url, String(family)]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`ndt7 client exited with ${code}: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)));
      } catch (e) {
        reject(new Error(`ndt7 client printed no result: ${out}${err}`, { cause: e }));
      }
    });
  });
}

/**
 * TCP goodput ceiling for an IP family: tcpCeilingBps() assumes IPv4 (MSS = MTU − 52 with
 * timestamps); IPv6's header is 20 bytes longer, so its MSS is 1428 instead of 1448 at MTU 1500.
 */
export function ceilingBps(mbps, family, mtu = 1500) {
  const v4 = tcpCeilingBps(mbps, { mtu });
  return family === 6 ? (v4 * (mtu - 72)) / (mtu - 52) : v4;
}

/**
 * One shaped run per IP family. Returns, per family, the measured download/upload and the TCP
 * goodput ceilings of the link they are compared with.
 */
export async function runShapedNdt7({ downMbps = 40, upMbps = 10, durationMs = 10_000, families = [4, 6] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hatang-ndt7-shaped-'));
  const link = createLink({ downMbps, upMbps });
  let server;
  try {
    const cfg = join(dir, 'collector.yaml');
    writeFileSync(
      cfg,
      [
        'server: { host: "::", port: 0 }',
        `dataDir: ${dir}`,
        'role: speedtest',
        'log: { level: info }',
        `ndt7: { durationMs: ${durationMs}, maxDurationMs: 15000 }`,
        '',
      ].join('\n'),
    );
    server = await startServer(link, cfg);
    const runs = [];
    for (const family of families) {
      const host = family === 6 ? `[${link.addr.server6}]` : link.addr.server4;
      const r = await runClient(link, `http://${host}:${server.port}`, family);
      runs.push({
        family,
        status: r.status,
        error: r.error,
        downloadBps: r.ndt7?.download?.bps,
        uploadBps: r.ndt7?.upload?.bps,
        downloadCeilingBps: ceilingBps(downMbps, family),
        uploadCeilingBps: ceilingBps(upMbps, family),
        minRttMs: r.ndt7?.download?.minRttMs,
        retransPct: r.ndt7?.download?.retransPct,
        resultFamily: r.network?.family,
      });
    }
    return runs;
  } finally {
    server?.proc.kill('SIGTERM');
    if (server) await new Promise((r) => server.proc.once('exit', r));
    link.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
