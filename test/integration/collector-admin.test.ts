import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  ingestEnvelope,
  openDb,
  parseCsv,
  pruneRawResults,
  type SpeedSeed,
  speedResult,
  startCollector,
  type TestCollector,
} from '@hatang/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const M = 1e6;
const hanoi = (local: string) => Date.parse(`${local.replace(' ', 'T')}:00+07:00`);
const NOW = hanoi('2026-12-15 12:00');

let c: TestCollector;
let admin: string;
let dir: string;

async function call(
  method: string,
  path: string,
  body?: unknown,
  token: string | null = admin,
  type = 'application/json',
) {
  const res = await fetch(`${c.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': type } : {}),
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers };
}

async function push(token: string, seeds: SpeedSeed[]) {
  const r = await fetch(`${c.url}/api/v1/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(ingestEnvelope(seeds.map(speedResult))),
  });
  expect(r.status).toBe(200);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hatang-admin-'));
  c = await startCollector({ now: () => NOW, dir });
  admin = c.adminToken();
  c.app.addReaderResolver((req) =>
    req.headers['x-test-viewer'] === '116'
      ? { kind: 'test', id: 'v', name: 'viewer', admin: false, scope: { units: ['116'] } }
      : undefined,
  );
});
afterAll(async () => {
  await c.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('admin API', () => {
  it('needs an admin credential: 401 without, 403 for a viewer', async () => {
    expect((await call('GET', '/api/v1/admin/agents', undefined, null)).status).toBe(401);
    const v = await fetch(`${c.url}/api/v1/admin/agents`, { headers: { 'x-test-viewer': '116' } });
    expect(v.status).toBe(403);
  });

  it('registers, changes and revokes agents; refuses unknown fields and bad communes', async () => {
    const made = await call('POST', '/api/v1/admin/agents', {
      name: 'UBND xã Chiềng Lề',
      access: 'fixed',
      communeCode: '03646',
      isp: '  VNPT  ',
      planMbps: 100,
      latitude: 21.327,
      longitude: 103.914,
      location: 'Phòng văn hóa',
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body.token).toMatch(/^hat1_/);
    expect(made.body.agent).toMatchObject({ commune_code: '03646', isp: 'VNPT', plan_mbps: 100, latitude: 21.327 });
    expect(made.body.agent).not.toHaveProperty('token_hash');
    const id = made.body.agent.id;
    const unknown = await call('POST', '/api/v1/admin/agents', { name: 'x', access: 'fixed', owner: 'me' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/\/owner is not allowed/);
    const district = await call('POST', '/api/v1/admin/agents', { name: 'x', access: 'fixed', communeCode: '116' });
    expect(district.status).toBe(400);
    expect(district.body.error.message).toMatch(/116 is a district, not a commune/);
    const half = await call('PATCH', `/api/v1/admin/agents/${id}`, { latitude: 1 });
    expect(half.body.error.message).toMatch(/latitude and longitude go together/);
    const moved = await call('PATCH', `/api/v1/admin/agents/${id}`, { communeCode: '03649', isp: null });
    expect(moved.body.agent).toMatchObject({ commune_code: '03649', isp: null, plan_mbps: 100 });
    expect(
      (await call('PATCH', '/api/v1/admin/agents/00000000-0000-7000-8000-000000000000', { name: 'x' })).status,
    ).toBe(404);
    const list = await call('GET', '/api/v1/admin/agents');
    expect(list.body.agents.map((a: any) => a.id)).toContain(id);
    expect((await call('POST', `/api/v1/admin/agents/${id}/revoke`)).status).toBe(200);
    const again = await push(made.body.token, []).catch((e) => e);
    expect(again).toBeInstanceOf(Error); // 401 now
  });

  it('imports units as CSV, renames with history, and stats follow a merge', async () => {
    const agent = c.addAgent('to-hieu', 'fixed', { communeCode: '03649' });
    await push(agent.token, [
      { at: hanoi('2026-11-10 09:00'), downMbps: 50 }, // before the merge: Tô Hiệu
      { at: hanoi('2026-11-24 09:00'), downMbps: 60 }, // after: counted in Chiềng Lề
    ]);
    const bad = await call(
      'POST',
      '/api/v1/admin/units/import',
      'code,name,type,level,parent_code\n9,X,,commune,nope',
      admin,
      'text/csv',
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/line 2: parent_code nope of 9 is not a known unit/);
    const imp = await call(
      'POST',
      '/api/v1/admin/units/import?effective=2026-11-16',
      'code,name,type,level,parent_code,merged_into\n03649,Phường Tô Hiệu,Phường,commune,116,03646\n',
      admin,
      'text/csv',
    );
    expect(imp.status, JSON.stringify(imp.body)).toBe(200);
    expect(imp.body).toMatchObject({ merged: 1, unchanged: 1 });
    const ren = await call('POST', '/api/v1/admin/units/03646/rename', {
      name: 'Phường Chiềng Lề (mới)',
      effective: '2026-11-16',
    });
    expect(ren.status).toBe(200);
    const w46 = await call('GET', '/api/v1/stats/units?at=2026-W46&level=commune&parent=116&access=fixed');
    const w48 = await call('GET', '/api/v1/stats/units?at=2026-W48&level=commune&parent=116&access=fixed');
    const row = (r: any, code: string) => r.body.rows.find((x: any) => x.unit.code === code);
    expect(row(w46, '03649')).toMatchObject({ samples: 1, download: { median: 50 * M } });
    expect(row(w46, '03646').unit.name).toBe('Phường Chiềng Lề');
    expect(row(w48, '03649')).toBeUndefined(); // merged away
    expect(row(w48, '03646')).toMatchObject({ samples: 1, download: { median: 60 * M } });
    expect(row(w48, '03646').unit.name).toBe('Phường Chiềng Lề (mới)');
    const all = await call('GET', '/api/v1/admin/units');
    expect(all.body.history.map((h: any) => [h.code, h.change])).toEqual(expect.arrayContaining([['03646', 'rename']]));
  });

  it('makes groups that statistics and the units list know', async () => {
    const g = await call('PUT', '/api/v1/admin/groups/G-BIEN-GIOI', {
      name: 'Xã biên giới',
      parentCode: '14',
      members: ['03682', '03646'],
    });
    expect(g.status, JSON.stringify(g.body)).toBe(200);
    expect(g.body.members).toEqual(['03646', '03682']);
    const list = await call('GET', '/api/v1/units?level=group');
    expect(list.body.units).toEqual([
      {
        code: 'G-BIEN-GIOI',
        name: 'Xã biên giới',
        type: 'Nhóm',
        level: 'group',
        parentCode: '14',
        members: ['03646', '03682'],
      },
    ]);
    const s = await call('GET', '/api/v1/stats/units?at=2026-W48&level=group&access=fixed');
    expect(s.body.rows[0]).toMatchObject({ unit: { code: 'G-BIEN-GIOI' }, samples: 1 });
    const viewer = await fetch(`${c.url}/api/v1/units?level=commune`, { headers: { 'x-test-viewer': '116' } });
    const vu = ((await viewer.json()) as any).units;
    expect(vu.length).toBeGreaterThan(0);
    expect(vu.every((u: any) => u.parentCode === '116')).toBe(true);
  });
});

describe('CSV export', () => {
  it('the statistics table matches the JSON, in Mbit/s, Vietnamese headers by default', async () => {
    const json = await call('GET', '/api/v1/stats/units?at=2026-W48&level=commune&parent=116&access=fixed');
    const res = await fetch(`${c.url}/api/v1/export/stats.csv?at=2026-W48&level=commune&parent=116&access=fixed`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="hatang-commune-2026-W48-116.csv"');
    const rows = parseCsv(Buffer.from(await res.arrayBuffer()).toString('utf8'));
    const header = rows[0]?.fields ?? [];
    expect(header.slice(0, 3)).toEqual(['Kỳ', 'Mã đơn vị', 'Tên đơn vị']);
    expect(rows).toHaveLength(json.body.rows.length + 1);
    const i = header.indexOf('Trung vị tải xuống (Mbit/s)');
    const chiengLe = rows.find((r) => r.fields[1] === '03646')?.fields ?? [];
    expect(Number(chiengLe[i])).toBe(json.body.rows.find((x: any) => x.unit.code === '03646').download.median / M);
    expect(chiengLe[header.indexOf('Loại truy cập')]).toBe('cố định');
    const en = await fetch(`${c.url}/api/v1/export/stats.csv?at=2026-W48&level=district&lang=en`, {
      headers: { authorization: `Bearer ${admin}` },
    });
    expect((await en.text()).split('\r\n')[0]).toMatch(/^period,unit_code,unit_name,level/);
  });

  it('raw results carry commune and district codes and names, limited to the reader scope', async () => {
    const a = c.addAgent('quynh-nhai', 'mobile', { communeCode: '03682' });
    await push(a.token, [{ at: hanoi('2026-11-25 10:00'), downMbps: 33, access: 'mobile' }]);
    const get = async (q: string, headers: Record<string, string>) => {
      const r = await fetch(`${c.url}/api/v1/export/results.csv?${q}`, { headers });
      return { status: r.status, rows: r.status === 200 ? parseCsv(await r.text()) : [] };
    };
    const all = await get('from=2026-11-01&to=2026-11-30&lang=en', { authorization: `Bearer ${admin}` });
    expect(all.status).toBe(200);
    const h = all.rows[0]?.fields ?? [];
    const qn = all.rows.find((r) => r.fields[h.indexOf('commune_code')] === '03682')?.fields ?? [];
    expect(qn[h.indexOf('district_code')]).toBe('118');
    expect(qn[h.indexOf('district_name')]).toBe('Huyện Quỳnh Nhai');
    expect(qn[h.indexOf('download_mbps')]).toBe('33');
    expect(qn[h.indexOf('started_at')]).toBe('2026-11-25T10:00:00+07:00');
    const viewer = await get('from=2026-11-01&to=2026-11-30&lang=en', { 'x-test-viewer': '116' });
    expect(viewer.rows.length).toBeGreaterThan(1);
    expect(viewer.rows.slice(1).every((r) => r.fields[h.indexOf('district_code')] === '116')).toBe(true);
    expect((await get('unit=118', { 'x-test-viewer': '116' })).status).toBe(403);
    expect((await get('from=2026-11-30&to=2026-11-01', { authorization: `Bearer ${admin}` })).status).toBe(400);
  });
});

describe('OpenAPI', () => {
  it('describes the routes at /docs/json and serves the UI at /docs', async () => {
    const spec = (await (await fetch(`${c.url}/docs/json`)).json()) as any;
    expect(spec.openapi).toMatch(/^3\./);
    for (const p of [
      '/api/v1/stats/units',
      '/api/v1/stats/trend',
      '/api/v1/export/results.csv',
      '/api/v1/admin/agents',
      '/api/v1/units',
    ]) {
      expect(Object.keys(spec.paths)).toContain(p);
    }
    expect(spec.paths['/api/v1/stats/units'].get.parameters.map((x: any) => x.name)).toEqual(
      expect.arrayContaining(['period', 'at', 'level', 'parent', 'access', 'isp', 'perAgent']),
    );
    const ui = await fetch(`${c.url}/docs/`);
    expect(ui.status).toBe(200);
    expect(await ui.text()).toMatch(/swagger/i);
  });
});

describe('retention', () => {
  it('prunes raw results and keeps every statistic', async () => {
    const before = await call('GET', '/api/v1/stats/trend?unit=14&weeks=8&at=2026-W49');
    const deleted = await pruneRawResults(c.app.db, hanoi('2026-12-01 00:00'));
    expect(deleted).toBeGreaterThan(0);
    expect(c.app.db.prepare('SELECT count(*) AS n FROM results').get()).toEqual({ n: 0 });
    c.app.stats.invalidate();
    const after = await call('GET', '/api/v1/stats/trend?unit=14&weeks=8&at=2026-W49');
    expect(after.body).toEqual(before.body);
  });
});

describe('CLI', () => {
  const cli = resolve(import.meta.dirname, '../../collector/dist/cli.js');
  const run = (args: string[]) => promisify(execFile)(process.execPath, [cli, ...args], { timeout: 30_000 });

  it('imports units, registers an agent, makes an admin token, backs up online', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hatang-cli-'));
    try {
      const db = join(work, 'h.db');
      const csv = join(work, 'units.csv');
      writeFileSync(
        csv,
        'code,name,type,level,parent_code\n14,Tỉnh Sơn La,Tỉnh,province,\n03646,Phường Chiềng Lề,Phường,commune,14\n',
      );
      const dry = await run(['units', 'import', csv, '--db', db, '--dry-run']);
      expect(dry.stdout).toMatch(/dry run: .*"added":2/);
      expect((await run(['units', 'import', csv, '--db', db])).stdout).toMatch(/2 units: 2 added/);
      const list = JSON.parse((await run(['units', 'list', '--level', 'commune', '--json', '--db', db])).stdout);
      expect(list.map((u: any) => u.code)).toEqual(['03646']);
      const added = JSON.parse(
        (
          await run([
            'agents',
            'add',
            '--name',
            'box',
            '--commune',
            '03646',
            '--isp',
            'Viettel',
            '--plan-mbps',
            '150',
            '--json',
            '--db',
            db,
          ])
        ).stdout,
      );
      expect(added.token).toMatch(/^hat1_/);
      const bad = await run(['agents', 'add', '--name', 'box', '--commune', '99999', '--db', db]).catch((e) => e);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/HATANG_ERR_VALIDATION: communeCode 99999 is not a known unit/);
      await run(['agents', 'set', added.id, '--lat', '21.3', '--lon', '103.9', '--db', db]);
      const agents = JSON.parse((await run(['agents', 'list', '--json', '--db', db])).stdout);
      expect(agents[0]).toMatchObject({ commune_code: '03646', isp: 'Viettel', plan_mbps: 150, latitude: 21.3 });
      expect(agents[0]).not.toHaveProperty('token_hash');
      const tok = JSON.parse(
        (await run(['admin', 'token', 'create', '--name', 'grafana', '--json', '--db', db])).stdout,
      );
      expect(tok.token).toMatch(/^hta1_/);
      const stored = openDb({ path: db });
      expect(JSON.stringify(stored.prepare('SELECT * FROM admin_tokens').all())).not.toContain(tok.token.split('_')[2]);
      stored.close();
      const backup = join(work, 'backup.db');
      const b = await run(['backup', backup, '--db', db]);
      expect(b.stdout).toMatch(/backup written to .*backup\.db: \d+ pages/);
      expect(b.stderr).toMatch(/backup 100%/);
      const copy = openDb({ path: backup, readonly: true });
      expect(copy.prepare('SELECT count(*) AS n FROM units').get()).toEqual({ n: 2 });
      expect(copy.prepare('SELECT count(*) AS n FROM agents').get()).toEqual({ n: 1 });
      copy.close();
      const again = await run(['backup', backup, '--db', db]).catch((e) => e);
      expect(again.stderr).toMatch(/exists/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
