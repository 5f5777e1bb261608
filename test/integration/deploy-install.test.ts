// The install scripts end to end, from release tarballs built from this checkout, into isolated
// roots (HATANG_ROOT: /opt, /etc, /var/lib, /usr/local/bin and the unit directory under a scratch
// directory; no users created, systemctl skipped). Services are started the way systemd would,
// from the ExecStart= line of the unit the installer wrote; the collector listens on 127.0.0.1
// port 0. Covers: agent installed, enrolled against the collector, a result delivered; upgrade
// keeps the outbox (results queued while the collector is down are delivered by the new
// version); collector upgrade across schema migrations keeps every row and backs up first;
// failures leave the running version in place.
import { chmodSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Outbox } from '@hatang/agent';
import { migrations, openDb } from '@hatang/collector';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildRelease,
  deployBed,
  execStartOf,
  type Release,
  repack,
  requireTools,
  run,
  startService,
} from '../helpers/deploy.js';
import { makeV1Db, rowCount, snapshot, V1 } from '../helpers/v1-db.js';

const tools = requireTools(['bash', 'tar', 'setpriv', 'systemd-analyze'], 'install end-to-end tests');
const latest = Math.max(...migrations.map((m) => m.version));

const bed = deployBed();
const { newRoot, install, cli, currentOf, startCollector, collectorDb, until, envFor, track } = bed;
afterAll(() => bed.close());

describe.skipIf(!!tools.skip)('install scripts end to end (isolated root)', () => {
  let rel: Release;
  beforeAll(() => {
    const t0 = Date.now();
    rel = buildRelease();
    bed.cleanup.push(rel.dir);
    console.log(`release tarballs built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${readdirSync(rel.dir)}`);
  }, 300_000);

  it('the release tarballs hold dist, production dependencies, units and installer only', () => {
    for (const [product, file] of [
      ['agent', rel.agent],
      ['collector', rel.collector],
    ] as const) {
      const list = run('tar', ['-tzf', file]).stdout.split('\n');
      const top = `hatang-${product}-${rel.version}/`;
      for (const f of [
        'RELEASE.json',
        'package.json',
        'dist/cli.js',
        `bin/hatang-${product}`,
        `deploy/hatang-${product}.service`,
        `deploy/install-${product}.sh`,
        'deploy/lib/common.sh',
        'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
        'node_modules/@hatang/shared/dist/index.js',
      ])
        expect(list, f).toContain(top + f);
      // Production only: no TypeScript, test runner, linter or type declarations.
      for (const dev of ['typescript', 'vitest', '@biomejs', '@types']) {
        expect(
          list.some((f) => f.startsWith(`${top}node_modules/${dev}/`)),
          dev,
        ).toBe(false);
      }
      const ours = list.filter((f) => f.startsWith(`${top}dist/`) || f.startsWith(`${top}node_modules/@hatang/`));
      expect(
        ours.filter((f) => f.endsWith('.ts')),
        'TypeScript sources or declarations',
      ).toEqual([]);
      // Dependencies' tests and docs are pruned; better-sqlite3 keeps its sources for a rebuild.
      expect(list.filter((f) => /\/node_modules\/[^/]+\/test\//.test(f))).toEqual([]);
      expect(list).toContain(`${top}node_modules/better-sqlite3/deps/sqlite3/sqlite3.c`);
    }
    expect(readFileSync(join(rel.dir, 'SHA256SUMS'), 'utf8')).toMatch(/^[0-9a-f]{64} {2}hatang-agent-/m);
  });

  it('collector: a version-1 database survives an upgrade across every later migration, backed up first', async () => {
    const root = newRoot('collector');
    let r = install('collector', root, ['--tarball', rel.collector, '--port', '0']);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`installing hatang-collector ${rel.version}`);

    // Replace the fresh database by one the first schema wrote, full of data.
    const dbPath = join(root, 'var/lib/hatang-collector/hatang.db');
    for (const f of ['', '-wal', '-shm']) rmSync(dbPath + f, { force: true });
    const old = makeV1Db(dbPath);
    const before = snapshot(old);
    old.close();

    const next = `${rel.version}-next`;
    r = install('collector', root, ['--tarball', repack(rel.collector, 'collector', next)]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`upgrading hatang-collector ${rel.version} -> ${next}`);
    expect(r.out).toContain(latest > 1 ? `database schema 1 -> ${latest}` : 'database schema 1 (unchanged)');
    expect(currentOf(root, 'collector')).toBe(`releases/${next}`);

    const db = collectorDb(root);
    expect(db.pragma('user_version', { simple: true })).toBe(latest);
    expect(snapshot(db, before)).toEqual(before);
    db.close();

    // The copy taken before the upgrade: schema 1, every row, restorable as is.
    const backups = readdirSync(join(root, 'var/backups/hatang-collector'));
    const pre = backups.find((f) => f.startsWith(`pre-upgrade-${rel.version}-to-${next}-`));
    expect(pre, backups.join(', ')).toBeDefined();
    const copy = join(newRoot('backup-copy'), 'hatang.db');
    cpSync(join(root, 'var/backups/hatang-collector', pre!), copy);
    const bdb = openDb({ path: copy, migrations: V1 });
    expect(bdb.pragma('user_version', { simple: true })).toBe(1);
    expect(snapshot(bdb, before)).toEqual(before);
    bdb.close();
    console.log(`collector upgrade: schema 1 -> ${latest}, ${rowCount(before)} rows kept, backup ${pre}`);

    // The upgraded service starts from its unit and serves the old data.
    const { service, url } = await startCollector(root);
    const health = (await (await fetch(`${url}/healthz`)).json()) as { version: string };
    expect(health.version).toBe(next);
    const list = cli('collector', root, ['agents', 'list', '--json']);
    expect(list.status, list.out).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((a) => a.name)).toContain('UBND phường Chiềng Lề');
    expect(await service.stop()).toBe(0);

    // The daily backup tool (as the timer runs it) makes a checked copy and rotates.
    for (let i = 0; i < 2; i++) {
      const b = run(join(root, 'opt/hatang/collector/current/bin/hatang-collector-backup'), [
        '--keep',
        '1',
        '--name',
        `hatang-2025010${i}-000000`,
      ]);
      expect(b.status, b.out).toBe(0);
    }
    const daily = readdirSync(join(root, 'var/backups/hatang-collector')).filter((f) => /^hatang-\d{8}/.test(f));
    expect(daily).toEqual(['hatang-20250101-000000.db']);

    // A database from a newer version than the release: refused, nothing changed, old one stays.
    const w = openDb({ path: dbPath });
    w.pragma('user_version = 999');
    w.close();
    r = install('collector', root, ['--tarball', repack(rel.collector, 'collector', `${rel.version}-third`)]);
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('newer than this collector knows');
    expect(r.out).toContain(`${next} is back in place`);
    expect(currentOf(root, 'collector')).toBe(`releases/${next}`);
    const after = collectorDb(root);
    expect(after.pragma('user_version', { simple: true })).toBe(999);
    expect(snapshot(after, before)).toEqual(before);
    after.close();
  });

  it('agent: installed, enrolled against a loopback collector, a result delivered; an upgrade keeps the outbox', async () => {
    // The collector the agent enrols with, installed the same way.
    const croot = newRoot('c');
    let r = install('collector', croot, ['--tarball', rel.collector, '--port', '0']);
    expect(r.status, r.out).toBe(0);
    const first = await startCollector(croot);
    const port = new URL(first.url).port;
    const code = cli('collector', croot, [
      'enroll-code',
      'create',
      '--name',
      'UBND xã Chiềng Cọ',
      '--commune',
      '03658',
      '--access',
      'fixed',
      '--isp',
      'VNPT',
      '--expires',
      '1h',
      '--json',
    ]);
    expect(code.status, code.out).toBe(0);
    const enrolment = JSON.parse(code.stdout) as { code: string };

    // Install and enrol as the technician does: unpack, run the installer inside, one command.
    const root = newRoot('agent');
    const unpacked = newRoot('unpacked');
    expect(run('tar', ['-xzf', rel.agent, '-C', unpacked]).status).toBe(0);
    r = run(
      join(unpacked, `hatang-agent-${rel.version}/deploy/install-agent.sh`),
      ['--collector', first.url, '--code', enrolment.code, '--isp', 'VNPT'],
      { env: envFor(root) },
    );
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`installing hatang-agent ${rel.version}`);
    expect(r.out).toContain(`enrolling with ${first.url}`);
    const state = join(root, 'var/lib/hatang-agent');
    const tokenFile = join(state, 'token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8');
    const configFile = join(root, 'etc/hatang/agent.yaml');
    expect(statSync(configFile).mode & 0o777).toBe(0o640);
    const config = readFileSync(configFile, 'utf8');
    expect(config).toContain(`tokenFile: ${tokenFile}`);
    expect(config).not.toContain(enrolment.code);

    // systemd would now start the service: run its ExecStart= as it would.
    const agentArgv = execStartOf(join(root, 'etc/systemd/system/hatang-agent.service'));
    let agent = startService(agentArgv);
    track(agent);
    await agent.waitFor((l) => l?.msg === 'agent started');

    // What the technician checks before leaving: status, and a test result at the collector.
    const st = cli('agent', root, ['status', '--json']);
    expect(st.status, st.out).toBe(0);
    const status = JSON.parse(st.stdout) as any;
    expect(status.identity.name).toBe('UBND xã Chiềng Cọ');
    expect(status.daemon.running).toBe(true);
    expect(status.collector).toMatchObject({ url: first.url, reachable: true, tokenAccepted: true });
    const t = cli('agent', root, ['test', 'latency']);
    expect(t.status, t.out).toBe(0);
    const db = collectorDb(croot);
    const agentRow = db.prepare('SELECT id FROM agents WHERE id = ?').get(status.identity.agentId) as { id: string };
    expect(agentRow).toBeDefined();
    const countOf = () => {
      const d = collectorDb(croot);
      try {
        return (d.prepare('SELECT count(*) AS n FROM results WHERE agent_id = ?').get(agentRow.id) as { n: number }).n;
      } finally {
        d.close();
      }
    };
    const deliveredFirst = countOf();
    expect(deliveredFirst).toBeGreaterThanOrEqual(1);
    db.close();

    // The service stops (SIGTERM, as systemctl stop sends), the collector goes away, and results
    // measured meanwhile wait in the outbox.
    expect(await agent.stop()).toBe(0);
    expect(await first.service.stop()).toBe(0);
    for (let i = 0; i < 2; i++) cli('agent', root, ['test', 'latency']);
    let outbox = Outbox.inDir(state);
    const queued = (outbox.db.prepare('SELECT id FROM outbox ORDER BY seq').all() as { id: string }[]).map((x) => x.id);
    outbox.close();
    expect(queued).toHaveLength(2);

    // Upgrade in place while results are queued.
    const next = `${rel.version}-next`;
    r = install('agent', root, ['--tarball', repack(rel.agent, 'agent', next)]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain(`upgrading hatang-agent ${rel.version} -> ${next}`);
    expect(currentOf(root, 'agent')).toBe(`releases/${next}`);
    expect(readFileSync(tokenFile, 'utf8')).toBe(token);
    expect(readFileSync(configFile, 'utf8')).toBe(config);
    outbox = Outbox.inDir(state);
    expect(
      (outbox.db.prepare('SELECT id FROM outbox ORDER BY seq').all() as { id: string }[]).map((x) => x.id),
    ).toEqual(queued);
    outbox.close();
    expect(cli('agent', root, ['--version']).stdout.trim()).toBe(next);

    // The unit as installed (its paths moved under the root) is valid, and its program exists.
    const v = run('systemd-analyze', ['verify', join(root, 'etc/systemd/system/hatang-agent.service')]);
    expect(v.status, v.out).toBe(0);
    expect(v.out.trim()).toBe('');

    // The collector is back (same address); the new version, started from its unit, delivers.
    const second = await startCollector(croot, { HATANG_SERVER_PORT: port });
    expect(second.url).toBe(first.url);
    agent = startService(agentArgv);
    track(agent);
    const started = await agent.waitFor((l) => l?.msg === 'agent started');
    expect(started).toMatchObject({ version: next, outbox: 2 });
    await until('queued results delivered', () => {
      const d = collectorDb(croot);
      try {
        const n = d
          .prepare(`SELECT count(*) AS n FROM results WHERE id IN (${queued.map(() => '?').join(',')})`)
          .get(...queued) as { n: number };
        return n.n === queued.length ? true : undefined;
      } finally {
        d.close();
      }
    });
    const after = JSON.parse(cli('agent', root, ['status', '--json']).stdout) as any;
    expect(after.version).toBe(next);
    expect(after.outbox.count).toBe(0);
    expect(await agent.stop()).toBe(0);
    expect(countOf()).toBe(deliveredFirst + queued.length);
    await second.service.stop();
  });

  it('a release whose native module does not load is refused, and the installed version stays', () => {
    const root = newRoot('native');
    let r = install('collector', root, ['--tarball', rel.collector, '--port', '0']);
    expect(r.status, r.out).toBe(0);
    const broken = repack(rel.collector, 'collector', `${rel.version}-broken`, (dir) => {
      const so = join(dir, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
      writeFileSync(so, 'not an ELF file');
      chmodSync(so, 0o755);
    });
    r = install('collector', root, ['--tarball', broken], { HATANG_NO_REBUILD: '1' });
    expect(r.status).not.toBe(0);
    expect(r.out).toContain('npm rebuild better-sqlite3');
    expect(r.out).toContain(`${rel.version} stays in place`);
    expect(currentOf(root, 'collector')).toBe(`releases/${rel.version}`);
    expect(readdirSync(join(root, 'opt/hatang/collector/releases'))).toEqual([rel.version]);
  });

  it('explains what is missing instead of half-installing', () => {
    const root = newRoot('args');
    let r = install('agent', root, ['--tarball', rel.agent]);
    expect(r.status).toBe(1);
    expect(r.out).toContain('first install on this box: give --collector URL and --code CODE');
    expect(existsSync(join(root, 'opt/hatang/agent/current'))).toBe(false);
    r = install('agent', root, ['--tarball', rel.agent, '--collector', 'hatang.example.vn']);
    expect(r.status).toBe(1);
    expect(r.out).toContain('--collector must start with https://');
    r = install('agent', root, ['--tarball', rel.agent, '--access', 'satellite']);
    expect(r.out).toContain('--access must be fixed or mobile');
    r = install('agent', root, ['--tarball', join(root, 'nope.tar.gz'), '--collector', 'http://127.0.0.1:1']);
    expect(r.out).toContain('cannot be read');
    r = install('collector', root, ['--tarball', rel.agent]);
    expect(r.status).toBe(1);
    expect(r.out).toContain('is not a hatang-collector release');
  });
});
