import type { Db } from './db.js';

/** Prepared statements for administrative units, their history and groups. No logic here. */

export const UNIT_LEVELS = ['province', 'district', 'commune', 'group'] as const;
export type UnitLevel = (typeof UNIT_LEVELS)[number];

export interface UnitRow {
  code: string;
  name: string;
  type: string | null;
  level: UnitLevel;
  parent_code: string | null;
  valid_from: number | null;
  valid_to: number | null;
  merged_into: string | null;
  updated_at: number;
}

export interface UnitHistoryRow {
  seq: number;
  code: string;
  name: string;
  type: string | null;
  level: UnitLevel;
  parent_code: string | null;
  valid_from: number | null;
  valid_to: number;
  change: string;
  source: string | null;
}

export interface GroupMemberRow {
  group_code: string;
  unit_code: string;
}

export function createUnitsRepo(db: Db) {
  const s = {
    all: db.prepare('SELECT * FROM units ORDER BY code'),
    get: db.prepare('SELECT * FROM units WHERE code = ?'),
    count: db.prepare('SELECT count(*) AS n FROM units'),
    insert: db.prepare(
      `INSERT INTO units (code, name, type, level, parent_code, valid_from, valid_to, merged_into, updated_at)
       VALUES (@code, @name, @type, @level, @parent_code, @valid_from, @valid_to, @merged_into, @updated_at)`,
    ),
    update: db.prepare(
      `UPDATE units SET name = @name, type = @type, level = @level, parent_code = @parent_code,
         valid_from = @valid_from, valid_to = @valid_to, merged_into = @merged_into, updated_at = @updated_at
       WHERE code = @code`,
    ),
    history: db.prepare('SELECT * FROM unit_history ORDER BY code, valid_to'),
    historyOf: db.prepare('SELECT * FROM unit_history WHERE code = ? ORDER BY valid_to'),
    addHistory: db.prepare(
      `INSERT INTO unit_history (code, name, type, level, parent_code, valid_from, valid_to, change, source)
       VALUES (@code, @name, @type, @level, @parent_code, @valid_from, @valid_to, @change, @source)`,
    ),
    members: db.prepare('SELECT * FROM unit_group_members ORDER BY group_code, unit_code'),
    membersOf: db.prepare('SELECT unit_code FROM unit_group_members WHERE group_code = ? ORDER BY unit_code'),
    addMember: db.prepare('INSERT OR IGNORE INTO unit_group_members (group_code, unit_code) VALUES (?, ?)'),
    clearMembers: db.prepare('DELETE FROM unit_group_members WHERE group_code = ?'),
  };
  return {
    all: () => s.all.all() as UnitRow[],
    get: (code: string) => s.get.get(code) as UnitRow | undefined,
    count: () => (s.count.get() as { n: number }).n,
    insert: (u: UnitRow) => void s.insert.run(u),
    update: (u: UnitRow) => void s.update.run(u),
    history: () => s.history.all() as UnitHistoryRow[],
    historyOf: (code: string) => s.historyOf.all(code) as UnitHistoryRow[],
    addHistory: (h: Omit<UnitHistoryRow, 'seq'>) => void s.addHistory.run(h),
    members: () => s.members.all() as GroupMemberRow[],
    membersOf: (group: string) => (s.membersOf.all(group) as { unit_code: string }[]).map((r) => r.unit_code),
    setMembers(group: string, codes: readonly string[]) {
      s.clearMembers.run(group);
      for (const c of codes) s.addMember.run(group, c);
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(fn)();
    },
  };
}

export type UnitsRepo = ReturnType<typeof createUnitsRepo>;
