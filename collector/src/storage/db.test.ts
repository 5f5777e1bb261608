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
