import type { GroupMemberRow, UnitHistoryRow, UnitLevel, UnitRow } from '../storage/units.js';

/**
 * The unit hierarchy in memory (a province has a few hundred units), as it stood at any instant:
 * a unit's state at time t is the history row whose [valid_from, valid_to) holds t, else its
 * current row. Pure: built from rows, no I/O.
 */

export interface UnitState {
  code: string;
  name: string;
  type: string | null;
  level: UnitLevel;
  parentCode: string | null;
}

/** A reader's scope: everything, or the subtrees of some units. */
export type Scope = 'all' | { units: readonly string[] };

export interface Span {
  startMs: number;
  endMs: number;
}

const MAX_DEPTH = 16;

export class UnitTree {
  readonly #units = new Map<string, UnitRow>();
  readonly #history = new Map<string, UnitHistoryRow[]>();
  /** group → members */
  readonly #members = new Map<string, Set<string>>();
  /** unit → groups it is a member of */
  readonly #groupsOf = new Map<string, string[]>();

  constructor(units: readonly UnitRow[], history: readonly UnitHistoryRow[], members: readonly GroupMemberRow[]) {
    for (const u of units) this.#units.set(u.code, u);
    for (const h of history) {
      const list = this.#history.get(h.code);
      if (list) list.push(h);
      else this.#history.set(h.code, [h]);
    }
    for (const m of members) {
      let set = this.#members.get(m.group_code);
      if (!set) {
        set = new Set();
        this.#members.set(m.group_code, set);
      }
      set.add(m.unit_code);
      const g = this.#groupsOf.get(m.unit_code);
      if (g) g.push(m.group_code);
      else this.#groupsOf.set(m.unit_code, [m.group_code]);
    }
  }

  get size(): number {
    return this.#units.size;
  }

  get(code: string): UnitRow | undefined {
    return this.#units.get(code);
  }

  all(): UnitRow[] {
    return [...this.#units.values()];
  }

  members(group: string): string[] {
    return [...(this.#members.get(group) ?? [])].sort();
  }

  /** State of a unit at `at` (ms); the current state when `at` is undefined or after every change. */
  stateAt(code: string, at?: number): UnitState | undefined {
    const u = this.#units.get(code);
    if (!u) return undefined;
    if (at !== undefined) {
      for (const h of this.#history.get(code) ?? []) {
        if ((h.valid_from === null || h.valid_from <= at) && at < h.valid_to) {
          return { code, name: h.name, type: h.type, level: h.level, parentCode: h.parent_code };
        }
      }
    }
    return { code, name: u.name, type: u.type, level: u.level, parentCode: u.parent_code };
  }

  /** First instant the unit existed (null: always). */
  #bornAt(code: string): number | null {
    const u = this.#units.get(code);
    if (!u) return null;
    let born = u.valid_from;
    for (const h of this.#history.get(code) ?? []) {
      if (h.valid_from === null) return null;
      if (born === null || h.valid_from < born) born = h.valid_from;
    }
    return born;
  }

  /** The unit existed at some time inside the span. */
  existsDuring(code: string, span: Span): boolean {
    const u = this.#units.get(code);
    if (!u) return false;
    const born = this.#bornAt(code);
    return (born === null || born < span.endMs) && (u.valid_to === null || u.valid_to > span.startMs);
  }

  /**
   * Where an agent registered to `code` counts at `at`: the unit itself while it existed, else the
   * unit it was merged into (followed through several merges).
   */
  successorAt(code: string, at: number): string {
    let c = code;
    for (let i = 0; i < MAX_DEPTH; i++) {
      const u = this.#units.get(c);
      if (!u || u.valid_to === null || u.valid_to > at || !u.merged_into) return c;
      c = u.merged_into;
    }
    return c;
  }

  /** Ancestors of a unit at `at`, nearest first (not including the unit). */
  ancestors(code: string, at?: number): string[] {
    const out: string[] = [];
    let p = this.stateAt(code, at)?.parentCode ?? null;
    while (p !== null && out.length < MAX_DEPTH && !out.includes(p)) {
      out.push(p);
      p = this.stateAt(p, at)?.parentCode ?? null;
    }
    return out;
  }

  /**
   * Every unit whose figures an agent registered to commune `code` feeds at `at`: the (successor)
   * commune, its ancestors at that time, and the groups containing any of them.
   */
  countsToward(code: string, at: number): string[] {
    const c = this.successorAt(code, at);
    const chain = [c, ...this.ancestors(c, at)];
    const out = new Set(chain);
    for (const u of chain) for (const g of this.#groupsOf.get(u) ?? []) out.add(g);
    return [...out];
  }

  /** `code` is `ancestor` or lies under it (now, or at `at`), or is a member of the group `ancestor`. */
  isWithin(code: string, ancestor: string, at?: number): boolean {
    if (code === ancestor) return true;
    const chain = [code, ...this.ancestors(code, at)];
    if (chain.includes(ancestor)) return true;
    const members = this.#members.get(ancestor);
    return members !== undefined && chain.some((c) => members.has(c));
  }

  /** A reader with `scope` may read unit `code`. A group is readable when its parent (or itself) is. */
  canRead(scope: Scope | undefined, code: string): boolean {
    if (scope === undefined) return false;
    if (scope === 'all') return true;
    const u = this.#units.get(code);
    if (!u) return false;
    if (scope.units.some((s) => this.isWithin(code, s))) return true;
    // Past states: a commune that has since moved still belongs to the district it was in.
    for (const h of this.#history.get(code) ?? []) {
      const at = h.valid_to - 1;
      if (scope.units.some((s) => this.isWithin(code, s, at))) return true;
    }
    return false;
  }

  /**
   * Units of `level` that existed during `span` and lie under `parent` at the span's start (or
   * are members of the group `parent`); all units of that level when `parent` is null.
   */
  unitsAt(level: UnitLevel, parent: string | null, span: Span): UnitRow[] {
    const at = span.startMs;
    const out: UnitRow[] = [];
    for (const u of this.#units.values()) {
      const st = this.stateAt(u.code, at);
      if (!st || st.level !== level || !this.existsDuring(u.code, span)) continue;
      if (parent !== null && u.code !== parent && !this.isWithin(u.code, parent, at)) continue;
      out.push(u);
    }
    return out.sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  }
}
