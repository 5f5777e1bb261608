// hatang's ndt7 client and probe against the collector's ndt7 server: results through the normal
// outbox as kind "ndt7", M-Lab mode against a local stand-in for locate v2, and the CLI.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createLogger,
  loadConfig,
  Ndt7ClientError,
  ndt7Probe,
  Outbox,
  runNdt7Subtest,
  runProbe,
  systemClock,
  Uplink,
} from '@hatang/agent';
import { startCollector, type TestCollector } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig, type Ndt7Result } from '@hatang/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

let c: TestCollector | undefined;
let dir: string;
const others: Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-ndt7-agent-'));
});
afterEach(async () => {
  await c?.close();
  c = undefined;
  await Promise.all(others.splice(0).map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

async function start(ndt7: Partial<CollectorConfig['ndt7']>, host = '127.0.0.1') {
  c = await startCollector({
    host,
    config: { ...COLLECTOR_CONFIG_DEFAULTS, ndt7: { ...COLLECTOR_CONFIG_DEFAULTS.ndt7, ...ndt7 } },
  });
  return c;
}

async function v6Unavailable(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createTcpServer();
    s.once('error', (err) => resolve(`cannot listen on [::1]: ${(err as Error).message}`));
    s.listen(0, '::1', () => s.close(() => resolve(undefined)));
  });
}
const v6Reason = await v6Unavailable();
if (v6Reason) {
  if (process.env.CI) throw new Error(`IPv6 loopback is required in CI: ${v6Reason}`);
  console.warn(`SKIP ndt7 agent over IPv6: ${v6Reason}`);
}

describe('ndt7 probe against the collector', () => {
  it('measures both directions with an agent token, reports progress, and the result flows through the outbox as kind ndt7', async () => {
    const col = await start({ requireToken: true, durationMs: 2000 });
    const { id, token } = col.addAgent('commune-ndt7');
    const config = loadConfig({
      env: {
        HATANG_COLLECTOR_URL: col.url,
        HATANG_COLLECTOR_TOKEN: token,
        HATANG_STATE_DIR: dir,
        // On a quiet loopback the 250 MB default cap ends the upload before the server's first
        // measurement message, and the upload headline is the server's figure: run the full 2 s.
        HATANG_SPEED_CAP_BYTES: '100000000000',
      },
    });
    const clock = systemClock();
    const log = createLogger('silent');
    const phases = new Map<string, number>();
    const r = (await runProbe(ndt7Probe, {
      config,
      clock,
      log,
      timeoutMs: 40_000,
      onProgress: (p) => {
        phases.set(p.phase, (phases.get(p.phase) ?? 0) + 1);
      },
    })) as Ndt7Result;
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.kind).toBe('ndt7');
    expect(r.network.family).toBe(4);
    expect(r.server).toEqual({ id: 'collector', url: col.url });
    const b = r.ndt7!;
    expect(b.mlab).toBe(false);
    expect(b.download!.bps).toBeGreaterThan(0);
    expect(b.upload!.bps).toBeGreaterThan(0);
    // Download headline is the client's figure; upload headline is the server's.
    expect(b.download!.bps).toBe(b.download!.clientBps);
    expect(b.upload!.bps).toBe(b.upload!.serverBps);
    expect(r.bytesUsed).toBe(b.download!.bytes + b.upload!.bytes);
    // Progress is reported for both phases (how many rate updates depends on the machine: on a quiet
    // loopback early_exit=250 ends a download in a fraction of a second).
    expect(phases.get('download')).toBeGreaterThan(0);
    expect(phases.get('upload')).toBeGreaterThan(0);

    await col.app.ndt7.idle();
    // The server's own record: the same test, opened by this agent, with our client metadata.
    const rec = col.app.db.prepare('SELECT * FROM ndt7_tests WHERE uuid = ?').get(b.serverUuid) as any;
    expect(rec).toMatchObject({ test: 'download', agent_id: id });
    // On loopback 250 MB (early_exit) may come before the 2 s are up.
    expect(['duration', 'early-exit']).toContain(rec.end_reason);
    expect(rec.user_agent).toMatch(/^hatang-agent\/\d/);
    expect(JSON.parse(rec.metadata)).toMatchObject({ client_name: 'hatang-agent' });
    // Client and server agree on the download within 10 % (same test, two ends).
    const ratio = b.download!.bps / rec.server_bps;
    expect(ratio).toBeGreaterThan(0.9);
    expect(ratio).toBeLessThan(1.1);
    if (b.download!.minRttMs !== undefined) expect(b.download!.minRttMs).toBeGreaterThanOrEqual(0);

    const outbox = Outbox.inDir(dir);
    outbox.enqueue(r, clock.now());
    const d = await new Uplink({ collectorUrl: col.url, token, outbox, clock, log }).drain();
    outbox.close();
    expect(d).toMatchObject({ accepted: 1, rejected: 0 });
    const row = col.app.db
      .prepare("SELECT agent_id, kind, download_bps, upload_bps FROM results WHERE kind = 'ndt7'")
      .get() as any;
    expect(row).toEqual({ agent_id: id, kind: 'ndt7', download_bps: b.download!.bps, upload_bps: b.upload!.bps });
  });

  it.skipIf(!!v6Reason)('runs over IPv6 loopback and records family 6', async () => {
    const col = await start({ durationMs: 1000 }, '::1');
    const config = loadConfig({
      env: { HATANG_COLLECTOR_URL: col.url, HATANG_STATE_DIR: dir, HATANG_NDT7_FAMILY: '6' },
    });
    const r = (await runProbe(ndt7Probe, { config, clock: systemClock(), log: createLogger('silent') })) as Ndt7Result;
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(r.network.family).toBe(6);
    await col.app.ndt7.idle();
    expect(col.app.db.prepare('SELECT DISTINCT family FROM ndt7_tests').all()).toEqual([{ family: 6 }]);
  });

  it('keeps to the per-direction byte cap and asks the server for early_exit=250', async () => {
    const col = await start({ durationMs: 5000 });
    const config = loadConfig({
      env: { HATANG_COLLECTOR_URL: col.url, HATANG_STATE_DIR: dir, HATANG_SPEED_CAP_BYTES: '2000000' },
    });
    const r = (await runProbe(ndt7Probe, { config, clock: systemClock(), log: createLogger('silent') })) as Ndt7Result;
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    const b = r.ndt7!;
    // The client closed at the cap instead of running 5 s; what was already in flight still arrives.
    expect(b.download!.bytes).toBeGreaterThanOrEqual(2_000_000);
    expect(b.download!.durationMs).toBeLessThan(4000);
    expect(b.upload!.bytes).toBeGreaterThanOrEqual(2_000_000);
    expect(b.upload!.bytes).toBeLessThan(2_000_000 + 4 * 1024 * 1024);
    expect(b.upload!.durationMs).toBeLessThan(4000);
    await col.app.ndt7.idle();
    const meta = col.app.db.prepare("SELECT test, metadata FROM ndt7_tests WHERE test = 'download'").get() as any;
    expect(JSON.parse(meta.metadata)).toMatchObject({ early_exit: '250' });
  });

  it('reports a refusal as data: wrong token → error HTTP_401 in phase download', async () => {
    const col = await start({ requireToken: true });
    const config = loadConfig({
      env: { HATANG_COLLECTOR_URL: col.url, HATANG_STATE_DIR: dir, HATANG_NDT7_TOKEN: 'not-a-valid-token' },
    });
    const r = await runProbe(ndt7Probe, { config, clock: systemClock(), log: createLogger('silent') });
    expect(r.status).toBe('error');
    expect(r.error).toMatchObject({ code: 'HTTP_401', phase: 'download' });
    expect(r.error!.message).toContain('unknown or revoked ndt7 token');
  });
});

describe('ndt7 client time limits', () => {
  const opts = { userAgent: 'test', family: 'auto' as const };

  it('gives up a handshake that never completes (HANDSHAKE_TIMEOUT, before open)', async () => {
    const held: import('node:net').Socket[] = [];
    const silent = createTcpServer((s) => {
      held.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as any).port;
    const t0 = performance.now();
    const err = (await runNdt7Subtest(`ws://127.0.0.1:${port}/ndt/v7/download`, 'download', {
      ...opts,
      signal: new AbortController().signal,
      handshakeTimeoutMs: 300,
    }).catch((e) => e)) as Ndt7ClientError;
    expect(err).toBeInstanceOf(Ndt7ClientError);
    expect(err.code).toBe('HANDSHAKE_TIMEOUT');
    expect(err.beforeOpen).toBe(true);
    expect(performance.now() - t0).toBeLessThan(3000);
    for (const s of held) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it('drops a subtest at its own hard limit and reports it as cut', async () => {
    const col = await start({ durationMs: 15_000, maxDurationMs: 15_000 });
    const r = await runNdt7Subtest(`${col.url.replace('http', 'ws')}/ndt/v7/download`, 'download', {
      ...opts,
      signal: new AbortController().signal,
      maxDurationMs: 1000,
    });
    expect(r.cut).toBe(true);
    expect(r.closeCode).toBe(1006);
    expect(r.elapsedMs).toBeLessThan(1500);
    expect(r.bytes).toBeGreaterThan(0);
  });
});

describe('ndt7 probe in M-Lab mode (local stand-ins only)', () => {
  const GOOD = 'locate-issued-token-0123456789';

  /** A stand-in for locate v2 on 127.0.0.1:0: two results, the first refuses (bad token). */
  async function locateStandIn(base: string) {
    const requests: IncomingMessage[] = [];
    const ws = base.replace(/^http/, 'ws');
    const server = createServer((req, res) => {
      requests.push(req);
      const result = (machine: string, token: string) => ({
        machine,
        location: { city: 'Hanoi', country: 'VN' },
        urls: {
          'ws:///ndt/v7/download': `${ws}/ndt/v7/download?access_token=${token}&locate_version=v2`,
          'ws:///ndt/v7/upload': `${ws}/ndt/v7/upload?access_token=${token}&locate_version=v2`,
        },
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ results: [result('mlab1-refuses', 'expired'), result('mlab2-accepts', GOOD)] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    others.push(server);
    return { url: `http://127.0.0.1:${(server.address() as any).port}/v2/nearest/ndt/ndt7`, requests };
  }

  it('locates with its User-Agent, tries the next result when one refuses, uses the access token, and stores no token', async () => {
    const col = await start({ requireToken: true, tokens: [GOOD], durationMs: 1000 });
    const loc = await locateStandIn(col.url);
    const config = loadConfig({
      env: {
        HATANG_COLLECTOR_URL: col.url,
        HATANG_STATE_DIR: dir,
        HATANG_NDT7_MLAB: 'true',
        HATANG_NDT7_ACCEPT_MLAB_DATA_POLICY: 'true',
        HATANG_NDT7_LOCATE_URL: loc.url,
        HATANG_NDT7_USER_AGENT: 'hatang-agent/test (ndt7; commune office)',
      },
    });
    const r = (await runProbe(ndt7Probe, { config, clock: systemClock(), log: createLogger('silent') })) as Ndt7Result;
    expect(r.status, JSON.stringify(r.error)).toBe('ok');
    expect(loc.requests).toHaveLength(1);
    expect(loc.requests[0]!.headers['user-agent']).toBe('hatang-agent/test (ndt7; commune office)');
    expect(r.ndt7).toMatchObject({ mlab: true, machine: 'mlab2-accepts' });
    expect(r.server!.id).toBe('mlab2-accepts');
    expect(r.server!.url).not.toContain('access_token');
    expect(JSON.stringify(r)).not.toContain(GOOD);
    // The first server refused (401), the second ran both subtests with the token from locate.
    await col.app.ndt7.idle();
    expect(col.app.ndt7.stats.refused.auth).toBe(1);
    const rows = col.app.db.prepare('SELECT test, metadata, user_agent, agent_id FROM ndt7_tests').all() as any[];
    expect(rows.map((x) => x.test).sort()).toEqual(['download', 'upload']);
    for (const x of rows) {
      expect(x.metadata).not.toContain(GOOD);
      expect(JSON.parse(x.metadata)).toMatchObject({ locate_version: 'v2' });
      expect(x.user_agent).toBe('hatang-agent/test (ndt7; commune office)');
      // In M-Lab mode the agent never sends its collector token to the ndt7 server.
      expect(x.agent_id).toBeNull();
    }
  });

  it('refuses M-Lab mode unless the data policy is accepted explicitly', async () => {
    expect(() =>
      loadConfig({
        env: { HATANG_COLLECTOR_URL: 'http://127.0.0.1:1', HATANG_STATE_DIR: dir, HATANG_NDT7_MLAB: 'true' },
      }),
    ).toThrow(/ndt7\.mlab is true but ndt7\.acceptMlabDataPolicy is not/);
    // A config built around the check still never contacts anyone: the probe refuses first.
    const config = loadConfig({ env: { HATANG_COLLECTOR_URL: 'http://127.0.0.1:1', HATANG_STATE_DIR: dir } });
    const r = await runProbe(ndt7Probe, {
      config: { ...config, ndt7: { ...config.ndt7, mlab: true, locateUrl: 'http://127.0.0.1:1/never' } },
      clock: systemClock(),
      log: createLogger('silent'),
    });
    expect(r.status).toBe('error');
    expect(r.error).toMatchObject({ code: 'MLAB_POLICY_NOT_ACCEPTED', phase: 'config' });
  });
});

describe('hatang-agent test ndt7 (CLI)', () => {
  const cli = fileURLToPath(new URL('../../agent/dist/cli.js', import.meta.url));

  it('runs the test from the command line and prints the result', async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run pnpm build first (pnpm test does)`);
    const col = await start({ durationMs: 1000 });
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(cfg, `collector:\n  url: ${col.url}\nstateDir: ${dir}\n`);
    const run = (args: string[]) =>
      new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(process.execPath, [cli, ...args], { timeout: 30_000 }, (e, out, err) =>
          resolve({ code: e ? ((e as any).code ?? 1) : 0, out, err }),
        );
      });
    const json = await run(['test', 'ndt7', '--config', cfg, '--json', '--no-push']);
    expect(json.code, json.err).toBe(0);
    const r = (JSON.parse(json.out) as { result: Ndt7Result }).result; // `test --json` prints { result, push? }
    expect(r).toMatchObject({ kind: 'ndt7', status: 'ok' });
    const human = await run(['test', 'ndt7', '--config', cfg, '--no-push']);
    expect(human.code, human.err).toBe(0);
    expect(human.out).toMatch(/ndt7 download \d+(\.\d)? Mbit\/s/);
    expect(human.out).toMatch(/ndt7 upload +\d+(\.\d)? Mbit\/s/);
  });

  it('shows live progress on a terminal (run under a pseudo-terminal with script(1))', async () => {
    if (!existsSync(cli)) throw new Error(`${cli} is missing: run pnpm build first (pnpm test does)`);
    const col = await start({ durationMs: 1500 });
    const cfg = join(dir, 'agent.yaml');
    writeFileSync(cfg, `collector:\n  url: ${col.url}\nstateDir: ${dir}\n`);
    const cmd = [process.execPath, cli, 'test', 'ndt7', '--config', cfg, '--no-push'].map((a) => `'${a}'`).join(' ');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('script', ['-qec', cmd, '/dev/null'], { timeout: 30_000 }, (e, stdout) =>
        e ? reject(e) : resolve(stdout),
      ),
    );
    // Progress lines rewrite themselves in place: "download 40% 812.3 Mbit/s", then upload.
    expect(out).toMatch(/\r\x1b\[Kdownload\s+[█░]+\s+\d+ %\s+\d+(\.\d)? Mbit\/s/);
    expect(out).toMatch(/\r\x1b\[Kupload\s+[█░]+\s+\d+ %\s+\d+(\.\d)? Mbit\/s/);
    expect(out).toMatch(/ndt7 download \d+(\.\d)? Mbit\/s/);
  });
});
