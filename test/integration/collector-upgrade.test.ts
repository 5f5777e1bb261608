// Upgrading the collector across schema migrations keeps all data: a database made by schema
// version 1 (the first release), filled, then opened by this version with every migration. The
// installed-release form of the same check is in deploy-install.test.ts.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { migrate, migrations, openDb } from '@hatang/collector';
import { afterEach, describe, expect, it } from 'vitest';
import { tmp } from '../helpers/deploy.js';
import { makeV1Db, rowCount, snapshot, V1 } from '../helpers/v1-db.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function v1Path(): string {
  const d = tmp('hatang-upgrade-');
  dirs.push(d);
  return join(d, 'hatang.db');
}

const latest = Math.max(...migrations.map((m) => m.version));

describe('collector schema upgrade', () => {
  it(`every row of a version-1 database survives migrations 2..${latest}`, () => {
    const path = v1Path();
    const old = makeV1Db(path);
    const before = snapshot(old);
    old.close();
    expect(Object.keys(before).sort()).toEqual(['agent_boots', 'agents', 'results']);
    expect(rowCount(before)).toBe(3 + 1500 + 5);

    const db = openDb({ path });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(latest);
      expect(snapshot(db, before)).toEqual(before);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('foreign_key_check')).toEqual([]);
    } finally {
      db.close();
    }
    console.log(
      `upgrade: schema 1 -> ${latest} (${migrations.length - V1.length} migrations), ${rowCount(before)} rows kept`,
    );
  });

  it('a later migration that rebuilds a table keeps the rows too (the mechanism, whatever ships)', () => {
    const path = v1Path();
    const old = makeV1Db(path);
    const before = snapshot(old);
    // What a typical future migration does: add a column with a default, rebuild a table, index.
    const applied = migrate(old, [
      ...migrations,
      {
        version: 9_999,
        name: 'test only: rebuild agent_boots, add a column to results',
        sql: `
          ALTER TABLE results ADD COLUMN note TEXT NOT NULL DEFAULT '';
          CREATE TABLE agent_boots_new (agent_id TEXT NOT NULL, boot_id TEXT NOT NULL, offset_ms INTEGER NOT NULL,
            seen_at INTEGER NOT NULL, PRIMARY KEY (agent_id, boot_id)) WITHOUT ROWID;
          INSERT INTO agent_boots_new SELECT agent_id, boot_id, offset_ms, seen_at FROM agent_boots;
          DROP TABLE agent_boots;
          ALTER TABLE agent_boots_new RENAME TO agent_boots;
          CREATE INDEX results_note ON results (note);
        `,
      },
    ]);
    expect(applied.at(-1)).toBe(9_999);
    expect(snapshot(old, before)).toEqual(before);
    old.close();
  });

  it('a failed migration leaves the database as it was, and the error says so', () => {
    const path = v1Path();
    const old = makeV1Db(path);
    const before = snapshot(old);
    expect(() =>
      migrate(old, [
        ...V1,
        { version: 9_998, name: 'test only: broken', sql: 'DELETE FROM results; CREATE TABLE agents (x INTEGER);' },
      ]),
    ).toThrow(/already exists/);
    expect(old.pragma('user_version', { simple: true })).toBe(1);
    expect(snapshot(old, before)).toEqual(before);
    old.close();
  });

  it('a database newer than this version is refused, not altered', () => {
    const path = v1Path();
    const old = makeV1Db(path);
    old.pragma('user_version = 999');
    old.close();
    expect(() => openDb({ path })).toThrow(/newer than this collector knows/);
    const db = openDb({ path, readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(999);
    db.close();
  });
});
