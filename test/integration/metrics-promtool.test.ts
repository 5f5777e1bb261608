// promtool (Debian package prometheus) lints the collector's /metrics output, the shipped
// Prometheus config and alert rules, and runs the rules' unit tests.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startCollector } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS } from '@hatang/shared';
import { describe, expect, it } from 'vitest';
import { ingest, ipv6Result, latencyResult, speedResult, udpResult } from '../helpers/results.js';
import { requireTool } from '../helpers/tools.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PROM_DIR = join(ROOT, 'deploy/prometheus');
const tool = requireTool('promtool', 'promtool checks');

function promtool(args: string[], input?: string) {
  const r = spawnSync(tool.path as string, args, { cwd: ROOT, input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!!tool.skip)('promtool', () => {
  it.each(['all', 'speedtest'] as const)(
    'check metrics passes on /metrics of the %s role, with data in it',
    async (role) => {
      const c = await startCollector({
        role,
        config: {
          ...COLLECTOR_CONFIG_DEFAULTS,
          metrics: { ...COLLECTOR_CONFIG_DEFAULTS.metrics, cacheMs: 0, unitCacheMs: 0 },
        },
      });
      try {
        if (role === 'all') {
          const a = c.app.repo.addAgent({ name: 'a', communeCode: '04045', access: 'fixed', isp: 'VNPT' }, Date.now());
          const r = await ingest(c.url, a.token, [
            speedResult({ downBps: 95e6, upBps: 30e6, serverId: 's1' }),
            latencyResult({ medianMs: 10, jitterMs: 1 }),
            udpResult({ lossPct: 1 }),
            ipv6Result({ works: true }),
            { id: 'bad' },
          ]);
          expect(r.body.rejected).toHaveLength(1);
        }
        await fetch(`${c.url}/speed/down?bytes=1000`);
        await fetch(`${c.url}/nope`);
        const text = await (await fetch(`${c.url}/metrics`)).text();
        expect(text).toContain(
          role === 'all' ? 'hatang_agent_download_bytes_per_second{' : 'hatang_speedtest_sent_bytes_total{',
        );
        const r = promtool(['check', 'metrics'], text);
        expect(r.out).toBe('');
        expect(r.code).toBe(0);
      } finally {
        await c.close();
      }
    },
  );

  it('check metrics would catch a misnamed metric (the lint is live)', () => {
    const r = promtool(
      ['check', 'metrics'],
      '# HELP x_bits_per_second x\n# TYPE x_bits_per_second gauge\nx_bits_per_second 1\n',
    );
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('use base unit "bytes" instead of "bits"');
  });

  it('check config passes on deploy/prometheus/prometheus.yml (and its rule file)', () => {
    const r = promtool(['check', 'config', join(PROM_DIR, 'prometheus.yml')]);
    expect(r.out).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  it('check rules passes with every lint', () => {
    const r = promtool(['check', 'rules', '--lint=all', '--lint-fatal', join(PROM_DIR, 'rules/hatang.rules.yml')]);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.code).toBe(0);
  });

  it('test rules passes on deploy/prometheus/tests/*.yml', () => {
    const files = readdirSync(join(PROM_DIR, 'tests'))
      .filter((f) => f.endsWith('.yml'))
      .map((f) => join(PROM_DIR, 'tests', f));
    expect(files.length).toBeGreaterThan(0);
    const r = promtool(['test', 'rules', ...files]);
    expect(r.out).toContain('SUCCESS');
    expect(r.out).not.toContain('FAILED');
    expect(r.code).toBe(0);
  });
});
