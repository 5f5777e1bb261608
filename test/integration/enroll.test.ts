// Enrolment end to end: `hatang-collector enroll-code create` → `hatang-agent enroll` (the real
// agent process, as install-agent.sh runs it) → token file, config, central config with ETag.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '@hatang/agent';
import { createEnrollCodes, startCollector, type TestCollector } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS, mergeConfig, readYamlFile } from '@hatang/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runAgent } from '../helpers/agent.js';

let dir: string;
let c: TestCollector;

const collectorConfig = mergeConfig(COLLECTOR_CONFIG_DEFAULTS, {
  agents: {
    settings: {
      servers: [{ id: 'tp-vnpt', url: 'http://198.18.0.10:8080' }],
      ipv6: { targets: [{ name: 'portal', url: 'https://sonla.gov.vn' }] },
      schedule: { tests: { speed: { cron: '15 */3 * * *' } } },
    },
    mobile: { budget: { monthlyMegabytes: 4000 } },
  },
}) as typeof COLLECTOR_CONFIG_DEFAULTS;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-enroll-'));
  c = await startCollector({ config: collectorConfig });
});
afterEach(async () => {
  await c.close();
  rmSync(dir, { recursive: true, force: true });
});

function newCode(access: 'fixed' | 'mobile' = 'mobile', ttlMs?: number) {
  return createEnrollCodes(c.app.db).create(
    { name: 'UBND xã Chiềng Cơi', communeCode: '03670', access, isp: 'Viettel', ...(ttlMs ? { ttlMs } : {}) },
    Date.now(),
  ).code;
}

describe('enrolment', () => {
  it('hatang-agent enroll trades the code for a token (0600), writes the config and fetches central config', async () => {
    const code = newCode();
    const cfg = join(dir, 'etc', 'agent.yaml');
    const r = await runAgent([
      'enroll',
      '--collector',
      `${c.url}/`,
      '--code',
      code.toLowerCase(),
      '--config',
      cfg,
      '--state-dir',
      join(dir, 'state'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      name: 'UBND xã Chiềng Cơi',
      commune: '03670',
      access: 'mobile',
      isp: 'Viettel',
      collectorUrl: c.url,
      central: 'fetched',
      replaced: null,
    });
    const tokenFile = join(dir, 'state', 'token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    expect(token).toMatch(/^hat1_[0-9a-f]{16}_/);
    expect(c.app.repo.agentById(out.agentId)).toMatchObject({ commune_code: '03670', access: 'mobile' });

    const yaml = readYamlFile(cfg, '');
    expect(yaml).toEqual({
      collector: { url: c.url, tokenFile },
      agent: { access: 'mobile', isp: 'Viettel' },
      stateDir: join(dir, 'state'),
    });
    expect(readFileSync(cfg, 'utf8')).not.toContain(token);

    // The effective config: central settings (mobile overlay included) under the local file.
    const loaded = loadAgentConfig({ file: cfg, env: {} });
    expect(loaded.config.collector.token).toBe(token);
    expect(loaded.config.servers).toEqual([{ id: 'tp-vnpt', url: 'http://198.18.0.10:8080' }]);
    expect(loaded.config.budget.monthlyMegabytes).toBe(4000);
    expect(loaded.config.speed.profile).toBe('metered');
    expect(loaded.config.schedule.tests.speed?.cron).toBe('15 */3 * * *');
    expect(loaded.config.ipv6.targets).toEqual([{ name: 'portal', url: 'https://sonla.gov.vn' }]);

    const check = await runAgent(['config', 'check', '-c', cfg, '--json']);
    expect(check.code, check.stderr).toBe(0);
    const checked = JSON.parse(check.stdout);
    expect(checked.config.collector.token).toBe('(set)');
    expect(checked.schedule.find((s: { kind: string }) => s.kind === 'speed')).toMatchObject({ cron: '15 */3 * * *' });

    // The code was single use.
    const again = await runAgent(['enroll', '--collector', c.url, '--code', code, '--config', cfg]);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(
      /error HATANG_ERR_ENROLL_CODE: the collector refused the code: enrolment code already used on/,
    );
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);

    // A second code re-enrols the box; the previous identity is reported.
    const second = await runAgent([
      'enroll',
      '--collector',
      c.url,
      '--code',
      newCode('fixed'),
      '--config',
      cfg,
      '--json',
    ]);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      replaced: out.agentId,
      access: 'fixed',
      stateDir: join(dir, 'state'),
    });
    expect(readYamlFile(cfg, '').agent.access).toBe('fixed');
  });

  it('refuses expired and malformed codes, and says when the collector cannot be reached (exit codes 6 and 5)', async () => {
    const expired = newCode('fixed', 1);
    await new Promise((r) => setTimeout(r, 5));
    const cfg = join(dir, 'agent.yaml');
    const e = await runAgent([
      'enroll',
      '--collector',
      c.url,
      '--code',
      expired,
      '--config',
      cfg,
      '--state-dir',
      dir,
      '--json',
    ]);
    expect(e.code).toBe(6);
    expect(JSON.parse(e.stdout).error).toMatchObject({
      code: 'HATANG_ERR_ENROLL_CODE',
      message: expect.stringMatching(/enrolment code expired on/),
    });
    const m = await runAgent([
      'enroll',
      '--collector',
      c.url,
      '--code',
      'ABCD-EFGH-IJKU',
      '--config',
      cfg,
      '--state-dir',
      dir,
    ]);
    expect(m.code).toBe(6);
    expect(m.stderr).toMatch(/malformed: expected 12 letters and digits/);

    // A port nothing listens on: bind one, note it, close it.
    const srv = createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    const u = await runAgent([
      'enroll',
      '--collector',
      `http://127.0.0.1:${port}`,
      '--code',
      newCode(),
      '--config',
      cfg,
      '--state-dir',
      dir,
    ]);
    expect(u.code).toBe(5);
    expect(u.stderr).toMatch(/cannot reach the collector at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(u.stderr).toMatch(/the code has not been used/);
  });

  it('GET /api/v1/agent/config: per agent, ETag and 304, refused without a valid token', async () => {
    const fixed = c.addAgent('f', 'fixed');
    const mobile = c.addAgent('m', 'mobile');
    const get = (token: string | undefined, etag?: string) =>
      fetch(`${c.url}/api/v1/agent/config`, {
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(etag ? { 'if-none-match': etag } : {}) },
      });
    const r1 = await get(fixed.token);
    expect(r1.status).toBe(200);
    const etag = r1.headers.get('etag')!;
    const doc = await r1.json();
    expect(doc).toMatchObject({
      schema: 1,
      agent: { id: fixed.id, access: 'fixed' },
      allowLocalOverride: ['budget.monthlyMegabytes', 'budget.resetDay'],
    });
    expect(doc.settings.budget).toBeUndefined();
    expect((await get(fixed.token, etag)).status).toBe(304);
    expect((await get(fixed.token, `"other", W/${etag}`)).status).toBe(304);
    const rm = await get(mobile.token, etag);
    expect(rm.status).toBe(200);
    expect((await rm.json()).settings).toMatchObject({
      budget: { monthlyMegabytes: 4000 },
      speed: { profile: 'metered' },
    });
    expect((await get(undefined)).status).toBe(401);
    c.app.repo.revokeAgent(fixed.id, Date.now());
    expect((await get(fixed.token, etag)).status).toBe(401);
  });

  it('POST /api/v1/enroll validates its body', async () => {
    const post = (body: unknown) =>
      fetch(`${c.url}/api/v1/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const r = await post({ code: 'x' });
    expect(r.status).toBe(400);
    expect((await r.json()).error.message).toBe('body /code must be at least 12 characters');
    const ok = await post({ code: newCode(), hostname: 'pi-7', agentVersion: '0.1.0' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('no-store');
  });
});
