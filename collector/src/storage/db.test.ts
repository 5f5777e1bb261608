import { describe, expect, it } from 'vitest';
import { migrate, openDb } from './db.js';
import type { Migration } from './migrations.js';

const m = (version: number): Migration => ({
  version,
  name: `m${version}`,
  sql: `CREATE TABLE t${version} (x INTEGER);`,
});

describe('migrate', () => {
  it('applies in version order and records each', () => {
    const db = openDb({ path: ':memory:', migrations: [] });
    expect(migrate(db, [m(20), m(1), m(10)])).toEqual([1, 10, 20]);
    expect(migrate(db, [m(20), m(1), m(10)])).toEqual([]);
    expect(db.pragma('user_version', { simple: true })).toBe(20);
    db.close();
  });

  it('tells a listener when each migration starts and how long it took', () => {
    const events: Array<{ version: number; phase: string; ms?: number }> = [];
    const db = openDb({
      path: ':memory:',
      migrations: [m(2), m(1)],
      onMigration: (e) => events.push({ version: e.version, phase: e.phase, ms: e.ms }),
    });
    expect(events.map((e) => `${e.version}:${e.phase}`)).toEqual(['1:start', '1:done', '2:start', '2:done']);
    expect(events.filter((e) => e.phase === 'done').every((e) => typeof e.ms === 'number' && e.ms >= 0)).toBe(true);
    // Nothing left to apply: nothing told.
    events.length = 0;
    migrate(db, [m(2), m(1)], (e) => events.push({ version: e.version, phase: e.phase }));
    expect(events).toEqual([]);
    db.close();
  });

  it('still runs a migration numbered below one already applied (areas reserve ranges)', () => {
    const db = openDb({ path: ':memory:', migrations: [] });
    migrate(db, [m(1), m(50)]);
    expect(migrate(db, [m(1), m(10), m(50)])).toEqual([10]);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 't10'").get()).toBeTruthy();
    db.close();
  });

  it('adopts a database from before schema_migrations by its user_version', () => {
    const db = openDb({ path: ':memory:', migrations: [] });
    db.exec('DROP TABLE schema_migrations; CREATE TABLE t1 (x INTEGER);');
    db.pragma('user_version = 1');
    expect(migrate(db, [m(1), m(10)])).toEqual([10]);
    db.close();
  });

  it('refuses a database written by a newer collector', () => {
    const db = openDb({ path: ':memory:', migrations: [] });
    migrate(db, [m(1), m(99)]);
    expect(() => migrate(db, [m(1)])).toThrow(
      'database schema is newer than this collector knows: migrations 99 are not in this version',
    );
    db.close();
  });
});

describe('shipped migrations', () => {
  it('have unique versions and apply to an empty database', async () => {
    const { migrations } = await import('./migrations.js');
    const versions = migrations.map((x) => x.version);
    expect(new Set(versions).size).toBe(versions.length);
    const db = openDb({ path: ':memory:' });
    expect((db.prepare('SELECT count(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(versions.length);
    db.close();
  });
});

describe('migration 13: rollup_downloads', () => {
  it('is filled from the rollups an existing database holds, and kept with them afterwards', async () => {
    const { migrations } = await import('./migrations.js');
    const { createRollupRepo, downloadsOf, encodeSamples } = await import('./rollups.js');
    const db = openDb({ path: ':memory:', migrations: migrations.filter((m) => m.version !== 13) });
    const week = encodeSamples([
      { at: 1, down: 5e7, up: null, lat: 3 },
      { at: 2, down: null, up: 1e6, lat: null },
      { at: 3, down: 7.25e7, up: 2e6, lat: 4 },
    ]);
    const add = db.prepare('INSERT INTO rollup_periods (kind, first_day, line, n, samples) VALUES (?, ?, ?, ?, ?)');
    add.run('week', 20000, 1, 3, week);
    add.run('month', 19990, 1, 3, week);
    expect(migrate(db, migrations)).toEqual([13]);
    const rows = db.prepare('SELECT kind, first_day, line, down FROM rollup_downloads ORDER BY kind').all() as {
      kind: string;
      down: Buffer;
    }[];
    expect(rows.map((r) => r.kind)).toEqual(['month', 'week']);
    for (const r of rows) expect(r.down.equals(downloadsOf(week))).toBe(true);
    expect([...new Float64Array(new Uint8Array(rows[0]?.down as Buffer).buffer)]).toEqual([5e7, Number.NaN, 7.25e7]);
    // Appending and deleting keep both tables together.
    const repo = createRollupRepo(db);
    repo.append('week', 20000, 1, [{ at: 4, down: 9e7, up: null, lat: null }]);
    expect(repo.downloadsByLine(1, 'week', 20000, 20000).map(([, d]) => d.length)).toEqual([32]);
    // A whole period in one row: lines in order, each one's length, the blobs concatenated as stored.
    repo.append('week', 20000, 7, [{ at: 5, down: 1.5e7, up: null, lat: null }]);
    repo.append('week', 20000, 3, [{ at: 6, down: null, up: 1, lat: 1 }]);
    const period = repo.downloadsByPeriod('week', 20000);
    expect(period.lines).toEqual([1, 3, 7]);
    expect(period.lengths).toEqual([32, 8, 8]);
    const each = db
      .prepare("SELECT down FROM rollup_downloads WHERE kind = 'week' AND first_day = 20000 ORDER BY line")
      .pluck()
      .all() as Buffer[];
    expect(period.bytes.equals(Buffer.concat(each))).toBe(true);
    repo.deletePeriods('week', 20000, 20000);
    expect(repo.downloadsByPeriod('week', 20000).lines).toEqual([]);
    db.close();
  });
});
