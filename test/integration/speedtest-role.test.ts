import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The compiled CLIs, as they run on a Pi or a test point (`pnpm test` builds first).
const root = resolve(import.meta.dirname, '../..');
const collectorCli = join(root, 'collector/dist/cli.js');
const agentCli = join(root, 'agent/dist/cli.js');
const SECRET = 'province echo secret for test points';

let dir: string;
let tp: ChildProcess;
let url: string;
let udpPort: number;

function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += d;
    });
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    p.on('exit', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-tp-'));
  tp = spawn(
    process.execPath,
    [collectorCli, 'serve', '--role', 'speedtest', '--host', '127.0.0.1', '--port', '0', '--data', join(dir, 'nodb')],
    { env: { ...process.env, HATANG_UDP_SECRET: SECRET, HATANG_UDP_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((ok, ko) => {
    let buf = '';
    const timer = setTimeout(() => ko(new Error(`test point did not start: ${buf}`)), 20_000);
    tp.stdout?.on('data', (d) => {
      buf += d;
      const m = /"address":"([^"]+)".*"udpPort":(\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        url = m[1] as string;
        udpPort = Number(m[2]);
        ok();
      }
    });
    tp.on('exit', (code) => ko(new Error(`test point exited ${code}: ${buf}`)));
  });
  writeFileSync(
    join(dir, 'agent.yaml'),
    [
      'collector:',
      `  url: ${url}`,
      `stateDir: ${join(dir, 'state')}`,
      'servers:',
      `  - { id: tp-vnpt, url: "${url}" }`,
      'speed:',
      '  windowMs: 1500',
      'udp:',
      `  secret: "${SECRET}"`,
      '  packets: 20',
      '  durationMs: 400',
      '  waitMs: 500',
      '',
    ].join('\n'),
  );
});

afterAll(() => {
  tp?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

describe('hatang-collector serve --role speedtest (a stateless test point)', () => {
  it('serves only the test endpoints, with no database', async () => {
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ status: 'ok', role: 'speedtest' });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/speed/ping`)).status).toBe(204);
    const ingest = await fetch(`${url}/api/v1/results`, { method: 'POST', body: '{}' });
    expect(ingest.status).toBe(404);
    const udp = (await (await fetch(`${url}/speed/udp`)).json()) as { port: number; auth: string[] };
    expect(udp).toMatchObject({ port: udpPort, auth: ['secret'] });
  });

  it('hatang-agent test speed prints progress per phase and a readable summary', async () => {
    const r = await run([agentCli, 'test', 'speed', '--no-push', '-c', join(dir, 'agent.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^select/m);
    expect(r.stderr).toMatch(/^download/m);
    expect(r.stderr).toMatch(/^upload/m);
    expect(r.stdout).toMatch(/^speed ok .* IPv4 · server tp-vnpt/m);
    expect(r.stdout).toMatch(/^ {2}download +\d+(\.\d)? Mbit\/s {3}\(8 streams/m);
    expect(r.stdout).toMatch(/^ {2}upload +\d+(\.\d)? Mbit\/s {3}\(4 streams, .*as received by the server/m);
    expect(r.stdout).toMatch(/^ {2}latency .* idle median/m);
    expect(r.stdout).toMatch(/^ {2}under load .* downloading .* uploading .* RPM/m);
    expect(r.stdout).toMatch(/^ {2}data used \d/m);
  });

  it('--json prints one JSON result for scripts, and a UDP test uses the shared secret', async () => {
    const s = await run([agentCli, 'test', 'speed', '--json', '--no-push', '-c', join(dir, 'agent.yaml')]);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toBe('');
    const res = JSON.parse(s.stdout).result; // `test --json` prints { result, push? }
    expect(res).toMatchObject({ kind: 'speed', status: 'ok', server: { id: 'tp-vnpt' }, network: { family: 4 } });
    expect(res.speed.download.bps).toBeGreaterThan(0);
    const u = await run([agentCli, 'test', 'udp', '--json', '--no-push', '-c', join(dir, 'agent.yaml')]);
    expect(u.code, u.stderr).toBe(0);
    expect(JSON.parse(u.stdout).result).toMatchObject({ kind: 'udp', status: 'ok', udp: { sent: 20, received: 20 } });
  });
});
