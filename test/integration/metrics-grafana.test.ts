// The Grafana dashboards and alert rules use only metrics the collector exports, the dashboards
// are valid JSON generated from deploy/grafana/generate.mjs, and docs/metrics.md lists every
// metric, alert rule and config key.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildApp } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS } from '@hatang/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricNames } from '../helpers/promql.js';

const ROOT = resolve(import.meta.dirname, '../..');
const GRAFANA = join(ROOT, 'deploy/grafana');
const RULES = join(ROOT, 'deploy/prometheus/rules/hatang.rules.yml');

let exported: Set<string>;
let families: Array<{ name: string; type: string }>;
const apps: Array<Awaited<ReturnType<typeof buildApp>>> = [];

beforeAll(async () => {
  families = [];
  for (const role of ['all', 'speedtest'] as const) {
    const app = await buildApp({ role, dbPath: ':memory:', config: COLLECTOR_CONFIG_DEFAULTS });
    await app.ready();
    apps.push(app);
    for (const m of await app.metrics.registry.getMetricsAsJSON())
      families.push({ name: m.name, type: String(m.type) });
  }
  exported = new Set(
    families.flatMap((f) =>
      f.type === 'histogram' ? [f.name, `${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`] : [f.name],
    ),
  );
});
afterAll(async () => {
  for (const a of apps) await a.close();
});

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; refId: string; datasource?: { uid: string } }>;
}

function loadDashboards() {
  const dir = join(GRAFANA, 'dashboards');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') }));
}

describe('Grafana dashboards', () => {
  it('are the generator’s output (run node deploy/grafana/generate.mjs after editing it)', async () => {
    const { dashboards } = await import(join(GRAFANA, 'generate.mjs'));
    const generated = dashboards() as Record<string, unknown>;
    const files = loadDashboards();
    expect(files.map((f) => f.file).sort()).toEqual(Object.keys(generated).sort());
    for (const f of files) expect(f.text, f.file).toBe(`${JSON.stringify(generated[f.file], null, 2)}\n`);
  });

  it('are valid JSON with unique uids, the provisioned datasource, and sane panels', () => {
    const ds = readFileSync(join(GRAFANA, 'provisioning/datasources/prometheus.yml'), 'utf8');
    const dsUid = /^\s+uid:\s*(\S+)/m.exec(ds)?.[1];
    expect(dsUid).toBe('hatang-prometheus');
    const provider = readFileSync(join(GRAFANA, 'provisioning/dashboards/hatang.yml'), 'utf8');
    expect(provider).toMatch(/type: file/);
    const uids = new Set<string>();
    const files = loadDashboards();
    expect(files.map((f) => f.file).sort()).toEqual(
      ['agent.json', 'district.json', 'ipv6.json', 'operations.json', 'province-overview.json'].sort(),
    );
    for (const { file, text } of files) {
      const d = JSON.parse(text) as { uid: string; title: string; panels: Panel[]; templating: { list: any[] } };
      expect(d.uid, file).toMatch(/^hatang-[a-z0-9-]+$/);
      expect(uids.has(d.uid), `${file}: uid ${d.uid} twice`).toBe(false);
      uids.add(d.uid);
      expect(d.title).toMatch(/^hatang — /);
      const ids = new Set<number>();
      for (const p of d.panels) {
        expect(ids.has(p.id), `${file}: panel id ${p.id} twice`).toBe(false);
        ids.add(p.id);
        expect(p.datasource?.uid, `${file}: ${p.title}`).toBe(dsUid);
        expect(p.gridPos.x + p.gridPos.w, `${file}: ${p.title} wider than the grid`).toBeLessThanOrEqual(24);
        expect(p.targets?.length, `${file}: ${p.title} has no query`).toBeGreaterThan(0);
        for (const t of p.targets ?? []) {
          expect(t.expr.trim(), `${file}: ${p.title}`).not.toBe('');
          if (t.datasource) expect(t.datasource.uid).toBe(dsUid);
        }
      }
      for (const v of d.templating.list) if (v.datasource) expect(v.datasource.uid).toBe(dsUid);
    }
  });

  it('use only metric names the collector exports', () => {
    const unknown: string[] = [];
    let used = 0;
    for (const { file, text } of loadDashboards()) {
      const d = JSON.parse(text) as { panels: Panel[]; templating: { list: any[] } };
      const exprs = [
        ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr] as const)),
        ...d.templating.list.map(
          (v) => [`$${v.name}`, typeof v.query === 'string' ? v.query : v.query?.query] as const,
        ),
      ];
      for (const [where, expr] of exprs) {
        for (const name of metricNames(expr ?? '')) {
          used++;
          if (!exported.has(name)) unknown.push(`${file} / ${where}: ${name}`);
        }
      }
    }
    expect(unknown).toEqual([]);
    expect(used).toBeGreaterThan(50);
  });

  it('the name check itself catches a name the collector does not export', () => {
    expect(metricNames('sum(hatang_agent_download_bits_per_second{x="y"}) * 8')).toEqual([
      'hatang_agent_download_bits_per_second',
    ]);
    expect(exported.has('hatang_agent_download_bits_per_second')).toBe(false);
    expect(exported.has('hatang_agent_download_bytes_per_second')).toBe(true);
  });
});

describe('alert rules and docs', () => {
  const rules = readFileSync(RULES, 'utf8');
  const alerts = [...rules.matchAll(/^\s+- alert: (\S+)/gm)].map((m) => m[1] as string);

  it('the rules use only exported metrics (plus Prometheus’s own up)', () => {
    const names = [...new Set(metricNames(rules))];
    expect(names.filter((n) => !exported.has(n))).toEqual([]);
    expect(names.length).toBeGreaterThan(5);
    expect(alerts).toEqual(
      expect.arrayContaining([
        'HatangAgentSilent',
        'HatangUnitBelowTarget',
        'HatangIngestRejectionsRising',
        'HatangTestServerFailing',
      ]),
    );
  });

  it('docs/metrics.md lists every exported metric, every alert rule and every metrics config key', () => {
    const doc = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
    const ours = families.map((f) => f.name).filter((n) => n.startsWith('hatang_'));
    expect(ours.filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
    expect(alerts.filter((a) => !doc.includes(`\`${a}\``))).toEqual([]);
    const keys = Object.keys(COLLECTOR_CONFIG_DEFAULTS.metrics).concat([
      'bearerToken',
      'basicUsername',
      'basicPassword',
    ]);
    expect(keys.filter((k) => !doc.includes(`\`metrics.${k}\``))).toEqual([]);
  });
});
