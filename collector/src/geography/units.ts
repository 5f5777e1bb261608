import { HatangError, MAX_UNIT_NAME_LENGTH } from '@hatang/shared';
import { parseCsv } from '../csv.js';
import type { Db } from '../storage/db.js';
import { createUnitsRepo, UNIT_LEVELS, type UnitLevel, type UnitRow, type UnitsRepo } from '../storage/units.js';

/**
 * Geography operations: import a unit list, rename, merge, retire, groups. Every change keeps the
 * earlier state in unit_history, so reports for past periods show units as they were.
 */

/** GSO codes are digits with leading zeros ("03646"); group codes are chosen by the province. */
export const UNIT_CODE_RE = /^[A-Za-z0-9._-]{1,32}$/;

/** Which levels a unit's parent may have. */
const PARENT_LEVELS: Record<UnitLevel, readonly (UnitLevel | null)[]> = {
  province: [null],
  district: ['province'],
  commune: ['district', 'province'],
  group: [null, 'province', 'district'],
};

export interface UnitInput {
  code: string;
  name: string;
  type: string | null;
  level: UnitLevel;
  parentCode: string | null;
  /** Members of a group (codes). */
  members?: string[];
  /** Code of the unit this one was merged into (it then ceases to exist). */
  mergedInto?: string | null;
  /** CSV line, for messages. */
  line?: number;
}

export interface ImportSummary {
  added: number;
  changed: number;
  unchanged: number;
  merged: number;
  total: number;
}

const MAX_ERRORS = 20;

function cleanName(raw: string): string | undefined {
  const n = raw.trim().normalize('NFC');
  if (n.length === 0 || n.length > MAX_UNIT_NAME_LENGTH) return undefined;
  if (/[\u0000-\u001f\u007f]/.test(n)) return undefined;
  return n;
}

/** Check one unit's own fields; returns a problem or undefined. */
export function checkUnitFields(u: {
  code: unknown;
  name: unknown;
  level: unknown;
  type?: unknown;
}): string | undefined {
  if (typeof u.code !== 'string' || !UNIT_CODE_RE.test(u.code)) {
    return `code ${JSON.stringify(String(u.code).slice(0, 40))} must be 1–32 characters of A–Z a–z 0–9 . _ -`;
  }
  if (typeof u.name !== 'string' || cleanName(u.name) === undefined) {
    return `name of ${u.code} must be 1–${MAX_UNIT_NAME_LENGTH} characters without control characters`;
  }
  if (typeof u.level !== 'string' || !(UNIT_LEVELS as readonly string[]).includes(u.level)) {
    return `level of ${u.code} must be one of ${UNIT_LEVELS.join(', ')}`;
  }
  if (u.type !== undefined && u.type !== null && (typeof u.type !== 'string' || u.type.length > 64)) {
    return `type of ${u.code} must be text of at most 64 characters`;
  }
  return undefined;
}

/**
 * Read a units CSV: header `code,name,type,level,parent_code` (the GSO list's shape), optionally
 * also `merged_into` and `members` (group members separated by `;`). Columns are found by name.
 * All problems are reported at once (up to 20), each with its line.
 */
export function readUnitsCsv(text: string): UnitInput[] {
  const rows = parseCsv(text);
  const header = rows.shift();
  if (!header) throw new HatangError('HATANG_ERR_VALIDATION', 'units CSV is empty; expected a header line');
  const cols = header.fields.map((h) => h.trim().toLowerCase());
  const idx = (name: string) => cols.indexOf(name);
  for (const need of ['code', 'name', 'level']) {
    if (idx(need) < 0) {
      throw new HatangError(
        'HATANG_ERR_VALIDATION',
        `units CSV header has no "${need}" column; expected code,name,type,level,parent_code`,
      );
    }
  }
  const errors: string[] = [];
  const out: UnitInput[] = [];
  for (const r of rows) {
    const get = (name: string) => {
      const i = idx(name);
      const v = i < 0 ? undefined : r.fields[i]?.trim();
      return v === undefined || v === '' ? null : v;
    };
    const u = { code: get('code') ?? '', name: get('name') ?? '', level: get('level') ?? '', type: get('type') };
    const problem = checkUnitFields(u);
    if (problem) {
      errors.push(`line ${r.line}: ${problem}`);
      if (errors.length >= MAX_ERRORS) break;
      continue;
    }
    const members = get('members');
    out.push({
      code: u.code,
      name: cleanName(u.name) as string,
      type: u.type,
      level: u.level as UnitLevel,
      parentCode: get('parent_code'),
      mergedInto: get('merged_into'),
      ...(members ? { members: members.split(';').map((m) => m.trim()) } : {}),
      line: r.line,
    });
  }
  if (errors.length) throw importError(errors);
  return out;
}

function importError(errors: string[]): HatangError {
  return new HatangError(
    'HATANG_ERR_VALIDATION',
    `units not imported (${errors.length}${errors.length >= MAX_ERRORS ? '+' : ''} problem(s)): ${errors.join('; ')}`,
    { hint: 'Fix the lines named and import again; nothing was changed.', details: { errors } },
  );
}

function sameState(a: UnitRow, b: UnitInput): boolean {
  return a.name === b.name && a.type === b.type && a.level === b.level && a.parent_code === b.parentCode;
}

function changeKind(a: UnitRow, b: { name: string; type: string | null; level: string; parentCode: string | null }) {
  if (a.parent_code !== b.parentCode) return 'reparent';
  if (a.level !== b.level) return 'relevel';
  if (a.name !== b.name) return 'rename';
  return 'retype';
}

export interface ApplyOptions {
  /** When the new state holds from, ms since epoch. */
  effectiveAt: number;
  /** Recorded in unit_history: the file name, 'api' or 'cli'. */
  source: string;
  /** Clock for updated_at. */
  now: number;
}

/**
 * Validate a whole list against itself and the database, then apply it in one transaction:
 * new units are added, changed units keep their old state in history, `merged_into` retires a
 * unit. Nothing is changed when any row is wrong.
 */
export function importUnits(db: Db, inputs: readonly UnitInput[], opts: ApplyOptions): ImportSummary {
  const repo = createUnitsRepo(db);
  return repo.transaction(() => {
    const existing = new Map(repo.all().map((u) => [u.code, u]));
    const incoming = new Map<string, UnitInput>();
    const errors: string[] = [];
    const where = (u: UnitInput) => (u.line ? `line ${u.line}: ` : '');
    for (const u of inputs) {
      if (incoming.has(u.code)) errors.push(`${where(u)}code ${u.code} appears twice`);
      incoming.set(u.code, u);
    }
    const levelOf = (code: string) => incoming.get(code)?.level ?? existing.get(code)?.level;
    const parentOf = (code: string) =>
      incoming.has(code) ? incoming.get(code)?.parentCode : existing.get(code)?.parent_code;
    for (const u of inputs) {
      if (errors.length >= MAX_ERRORS) break;
      const allowed = PARENT_LEVELS[u.level];
      if (u.parentCode === null) {
        if (!allowed.includes(null)) errors.push(`${where(u)}${u.level} ${u.code} needs a parent_code`);
      } else {
        const pl = levelOf(u.parentCode);
        if (pl === undefined) errors.push(`${where(u)}parent_code ${u.parentCode} of ${u.code} is not a known unit`);
        else if (!allowed.includes(pl)) {
          errors.push(
            `${where(u)}a ${u.level} cannot sit under a ${pl} (${u.code} → ${u.parentCode}); allowed: ${allowed.filter(Boolean).join(' or ') || 'no parent'}`,
          );
        }
      }
      // Cycles (a → b → a) through the merged parent map.
      const seen = new Set([u.code]);
      let p = u.parentCode;
      while (p !== null && p !== undefined) {
        if (seen.has(p)) {
          errors.push(`${where(u)}parent chain of ${u.code} loops back to ${p}`);
          break;
        }
        seen.add(p);
        p = parentOf(p) ?? null;
      }
      if (u.mergedInto) {
        const target = levelOf(u.mergedInto);
        if (target === undefined)
          errors.push(`${where(u)}merged_into ${u.mergedInto} of ${u.code} is not a known unit`);
        else if (target !== u.level) errors.push(`${where(u)}${u.code} can only merge into a unit of the same level`);
        else if (u.mergedInto === u.code) errors.push(`${where(u)}${u.code} cannot merge into itself`);
      }
      if (u.members) {
        if (u.level !== 'group') errors.push(`${where(u)}only groups have members (${u.code} is a ${u.level})`);
        for (const m of u.members) {
          const ml = levelOf(m);
          if (ml === undefined) errors.push(`${where(u)}member ${m} of group ${u.code} is not a known unit`);
          else if (ml === 'group') errors.push(`${where(u)}group ${u.code} cannot contain group ${m}`);
        }
      }
    }
    if (errors.length) throw importError(errors.slice(0, MAX_ERRORS));

    const summary: ImportSummary = { added: 0, changed: 0, unchanged: 0, merged: 0, total: inputs.length };
    for (const u of inputs) {
      const old = existing.get(u.code);
      if (!old) {
        repo.insert({
          code: u.code,
          name: u.name,
          type: u.type,
          level: u.level,
          parent_code: u.parentCode,
          // The first list loaded, and groups (a way to look at history), hold for all time.
          valid_from: existing.size === 0 || u.level === 'group' ? null : opts.effectiveAt,
          valid_to: null,
          merged_into: null,
          updated_at: opts.now,
        });
        summary.added++;
      } else if (!sameState(old, u) || old.valid_to !== null) {
        repo.addHistory({
          code: old.code,
          name: old.name,
          type: old.type,
          level: old.level,
          parent_code: old.parent_code,
          valid_from: old.valid_from,
          valid_to: opts.effectiveAt,
          change: old.valid_to !== null && sameState(old, u) ? 'restore' : changeKind(old, u),
          source: opts.source,
        });
        repo.update({
          ...old,
          name: u.name,
          type: u.type,
          level: u.level,
          parent_code: u.parentCode,
          valid_from: opts.effectiveAt,
          valid_to: null,
          merged_into: null,
          updated_at: opts.now,
        });
        summary.changed++;
      } else summary.unchanged++;
      if (u.members) repo.setMembers(u.code, u.members);
    }
    for (const u of inputs) {
      if (!u.mergedInto) continue;
      const cur = repo.get(u.code) as UnitRow;
      if (cur.merged_into === u.mergedInto) continue;
      repo.update({ ...cur, valid_to: opts.effectiveAt, merged_into: u.mergedInto, updated_at: opts.now });
      summary.merged++;
    }
    return summary;
  });
}

function mustGet(repo: UnitsRepo, code: string): UnitRow {
  const u = repo.get(code);
  if (!u) {
    throw new HatangError('HATANG_ERR_NOT_FOUND', `no unit ${code}`, {
      hint: 'List units with: hatang-collector units list',
    });
  }
  return u;
}

/** Rename a unit from `effectiveAt` on; the old name stays in history for earlier periods. */
export function renameUnit(db: Db, code: string, name: string, opts: ApplyOptions): UnitRow {
  const repo = createUnitsRepo(db);
  const clean = cleanName(name);
  if (clean === undefined) {
    throw new HatangError(
      'HATANG_ERR_VALIDATION',
      `name must be 1–${MAX_UNIT_NAME_LENGTH} characters without control characters`,
    );
  }
  return repo.transaction(() => {
    const old = mustGet(repo, code);
    if (old.name === clean) return old;
    repo.addHistory({ ...old, valid_to: opts.effectiveAt, change: 'rename', source: opts.source });
    const next = { ...old, name: clean, valid_from: opts.effectiveAt, updated_at: opts.now };
    repo.update(next);
    return next;
  });
}

/**
 * Merge units into one (e.g. communes merged by a resolution): each `from` unit ceases to exist
 * at `effectiveAt` and points at `into`. Agents registered to a merged commune count toward the
 * surviving commune for periods after the merge, and toward their old commune before it.
 */
export function mergeUnits(db: Db, from: readonly string[], into: string, opts: ApplyOptions): void {
  const repo = createUnitsRepo(db);
  repo.transaction(() => {
    const target = mustGet(repo, into);
    if (target.valid_to !== null) throw new HatangError('HATANG_ERR_VALIDATION', `unit ${into} no longer exists`);
    for (const code of from) {
      const u = mustGet(repo, code);
      if (code === into) throw new HatangError('HATANG_ERR_VALIDATION', `${code} cannot merge into itself`);
      if (u.level !== target.level) {
        throw new HatangError(
          'HATANG_ERR_VALIDATION',
          `${code} is a ${u.level}; it cannot merge into a ${target.level}`,
        );
      }
      if (u.valid_to !== null) throw new HatangError('HATANG_ERR_VALIDATION', `unit ${code} no longer exists`);
      repo.update({ ...u, valid_to: opts.effectiveAt, merged_into: into, updated_at: opts.now });
    }
  });
}

/** Create or replace a named group of units (usually communes). */
export function saveGroup(
  db: Db,
  g: { code: string; name: string; parentCode: string | null; members: readonly string[] },
  opts: ApplyOptions,
): ImportSummary {
  return importUnits(
    db,
    [{ code: g.code, name: g.name, type: 'Nhóm', level: 'group', parentCode: g.parentCode, members: [...g.members] }],
    opts,
  );
}
