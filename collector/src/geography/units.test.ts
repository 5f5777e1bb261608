import { describe, expect, it } from 'vitest';
import { parseCsv, toCsv } from '../csv.js';
import { openDb } from '../storage/db.js';
import { createUnitsRepo } from '../storage/units.js';
import { loadDefaultUnits } from './defaults.js';
import { UnitTree } from './tree.js';
import { importUnits, mergeUnits, readUnitsCsv, renameUnit, saveGroup } from './units.js';

const T0 = Date.parse('2025-03-01T00:00:00+07:00');
const JULY = Date.parse('2025-07-01T00:00:00+07:00');
const opts = (effectiveAt: number) => ({ effectiveAt, now: effectiveAt, source: 'test' });
const treeOf = (db: ReturnType<typeof openDb>) => {
  const r = createUnitsRepo(db);
  return new UnitTree(r.all(), r.history(), r.members());
};

describe('CSV (RFC 4180)', () => {
  it('parses quotes, doubled quotes, CRLF, line breaks in quotes, a BOM and blank lines', () => {
    const text = '\uFEFFcode,name\r\n1,"Xã ""A"", B"\r\n\r\n2,"two\nlines"\n3,plain';
    expect(parseCsv(text).map((r) => r.fields)).toEqual([
      ['code', 'name'],
      ['1', 'Xã "A", B'],
      ['2', 'two\nlines'],
      ['3', 'plain'],
    ]);
  });
  it('names the line of a broken quote', () => {
    expect(() => parseCsv('a,b\n1,"open')).toThrow(/line 2: a quoted field is not closed/);
    expect(() => parseCsv('a,b\n1,x"y')).toThrow(/line 2: a quote inside an unquoted field/);
  });
  it('writes what it reads, with a BOM, CRLF and formula cells defused', () => {
    const out = toCsv(
      ['a', 'b'],
      [
        ['x,y', 'say "hi"'],
        ['=1+1', -3],
        [null, 'ok'],
      ],
    );
    expect(out).toBe('\uFEFFa,b\r\n"x,y","say ""hi"""\r\n\'=1+1,-3\r\n,ok\r\n');
    expect(parseCsv(out).map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['x,y', 'say "hi"'],
      ["'=1+1", '-3'],
      ['', 'ok'],
    ]);
  });
});

describe('the shipped Son La list', () => {
  it('loads into an empty database: 1 province, 12 districts, 200 communes, codes kept as text', () => {
    const db = openDb({ path: ':memory:' });
    const s = loadDefaultUnits(db, T0);
    expect(s?.added).toBe(213);
    const units = createUnitsRepo(db).all();
    const count = (l: string) => units.filter((u) => u.level === l).length;
    expect([count('province'), count('district'), count('commune')]).toEqual([1, 12, 200]);
    expect(units.find((u) => u.code === '03646')).toMatchObject({ name: 'Phường Chiềng Lề', parent_code: '116' });
    expect(loadDefaultUnits(db, T0)).toBeUndefined(); // only into an empty database
    const t = treeOf(db);
    expect(t.ancestors('03646')).toEqual(['116', '14']);
    expect(t.unitsAt('commune', '116', { startMs: T0, endMs: T0 + 1 })).toHaveLength(12);
  });
});

describe('imports are checked whole, and nothing changes when a line is wrong', () => {
  it.each([
    {
      name: 'no parent for a district',
      csv: 'code,name,type,level,parent_code\n1,P,,province,\n2,D,,district,',
      re: /line 3: district 2 needs a parent_code/,
    },
    {
      name: 'an unknown parent',
      csv: 'code,name,type,level,parent_code\n1,P,,province,\n3,C,,commune,99',
      re: /parent_code 99 of 3 is not a known unit/,
    },
    {
      name: 'a commune under a commune',
      csv: 'code,name,type,level,parent_code\n1,P,,province,\n2,C,,commune,1\n3,C2,,commune,2',
      re: /a commune cannot sit under a commune/,
    },
    {
      name: 'a bad level',
      csv: 'code,name,type,level,parent_code\n1,P,,state,',
      re: /line 2: level of 1 must be one of/,
    },
    {
      name: 'a bad code',
      csv: "code,name,type,level,parent_code\n1' OR 1=1,P,,province,",
      re: /line 2: code .* must be 1–32 characters/,
    },
    {
      name: 'a duplicate code',
      csv: 'code,name,type,level,parent_code\n1,P,,province,\n1,P2,,province,',
      re: /code 1 appears twice/,
    },
    { name: 'a missing column', csv: 'code,name\n1,P', re: /no "level" column/ },
  ])('$name', ({ csv, re }) => {
    const db = openDb({ path: ':memory:' });
    expect(() => importUnits(db, readUnitsCsv(csv), opts(T0))).toThrow(re);
    expect(createUnitsRepo(db).count()).toBe(0);
  });

  it('a cycle through the database is refused', () => {
    const db = openDb({ path: ':memory:' });
    importUnits(db, readUnitsCsv('code,name,type,level,parent_code\n1,P,,province,\n2,D,,district,1'), opts(T0));
    expect(() =>
      importUnits(db, readUnitsCsv('code,name,type,level,parent_code\n1,P,,district,2'), opts(T0 + 1)),
    ).toThrow(/loops back|cannot sit under/);
  });

  it('keeps HTML-like and SQL-like names as data', () => {
    const db = openDb({ path: ':memory:' });
    importUnits(
      db,
      readUnitsCsv(
        'code,name,type,level,parent_code\n1,"<script>alert(1)</script>",,province,\n2,"\'; DROP TABLE units; --",,district,1',
      ),
      opts(T0),
    );
    expect(
      createUnitsRepo(db)
        .all()
        .map((u) => u.name),
    ).toEqual(['<script>alert(1)</script>', "'; DROP TABLE units; --"]);
  });
});

describe('history: renames, the 2025 reorganisation (province → commune) and merges', () => {
  function sonLaLike() {
    const db = openDb({ path: ':memory:' });
    importUnits(
      db,
      readUnitsCsv(
        'code,name,type,level,parent_code\n14,Tỉnh Sơn La,Tỉnh,province,\n116,TP Sơn La,Thành phố,district,14\n118,Quỳnh Nhai,Huyện,district,14\n' +
          '03646,Chiềng Lề,Phường,commune,116\n03649,Tô Hiệu,Phường,commune,116\n03682,Mường Chiên,Xã,commune,118',
      ),
      opts(T0),
    );
    return db;
  }

  it('a rename keeps the old name for earlier periods', () => {
    const db = sonLaLike();
    renameUnit(db, '03646', 'Phường Chiềng Lề Mới', opts(JULY));
    const t = treeOf(db);
    expect(t.stateAt('03646', JULY - 1)?.name).toBe('Chiềng Lề');
    expect(t.stateAt('03646', JULY)?.name).toBe('Phường Chiềng Lề Mới');
    expect(t.stateAt('03646')?.name).toBe('Phường Chiềng Lề Mới');
  });

  it('re-importing the list in the two-level shape moves communes under the province from that date', () => {
    const db = sonLaLike();
    const s = importUnits(
      db,
      readUnitsCsv(
        'code,name,type,level,parent_code,merged_into\n03646,Chiềng Lề,Phường,commune,14,\n03649,Tô Hiệu,Phường,commune,14,03646\n03682,Mường Chiên,Xã,commune,14,\n' +
          '116,TP Sơn La,Thành phố,district,14,\n118,Quỳnh Nhai,Huyện,district,14,',
      ),
      opts(JULY),
    );
    expect(s).toMatchObject({ changed: 3, unchanged: 2, merged: 1 });
    const t = treeOf(db);
    // before July: three levels; from July: province → commune, and Tô Hiệu is part of Chiềng Lề
    expect(t.ancestors('03646', JULY - 1)).toEqual(['116', '14']);
    expect(t.ancestors('03646', JULY)).toEqual(['14']);
    expect(t.countsToward('03649', JULY - 1)).toEqual(['03649', '116', '14']);
    expect(t.countsToward('03649', JULY + 86_400_000)).toEqual(['03646', '14']);
    const juneWeek = { startMs: JULY - 7 * 86_400_000, endMs: JULY };
    const julyWeek = { startMs: JULY, endMs: JULY + 7 * 86_400_000 };
    expect(t.unitsAt('commune', '116', juneWeek).map((u) => u.code)).toEqual(['03646', '03649']);
    expect(t.unitsAt('commune', '116', julyWeek).map((u) => u.code)).toEqual([]);
    expect(t.unitsAt('commune', '14', julyWeek).map((u) => u.code)).toEqual(['03646', '03682']);
    // a district viewer keeps reading their communes' past
    expect(t.canRead({ units: ['116'] }, '03646')).toBe(true);
    expect(t.canRead({ units: ['118'] }, '03646')).toBe(false);
  });

  it('merges follow chains and refuse nonsense', () => {
    const db = sonLaLike();
    mergeUnits(db, ['03649'], '03646', opts(JULY));
    expect(() => mergeUnits(db, ['03682'], '116', opts(JULY))).toThrow(/is a commune; it cannot merge into a district/);
    expect(() => mergeUnits(db, ['03649'], '03646', opts(JULY))).toThrow(/no longer exists/);
    expect(() => mergeUnits(db, ['03682'], '03682', opts(JULY))).toThrow(/cannot merge into itself/);
    expect(treeOf(db).successorAt('03649', JULY)).toBe('03646');
    expect(treeOf(db).successorAt('03649', JULY - 1)).toBe('03649');
  });

  it('groups collect communes across districts, readable under their parent', () => {
    const db = sonLaLike();
    saveGroup(db, { code: 'G1', name: 'Dự án A', parentCode: '14', members: ['03646', '03682'] }, opts(T0));
    const t = treeOf(db);
    expect(t.members('G1')).toEqual(['03646', '03682']);
    expect(t.countsToward('03682', T0)).toEqual(['03682', '118', '14', 'G1']);
    expect(t.unitsAt('commune', 'G1', { startMs: T0, endMs: T0 + 1 }).map((u) => u.code)).toEqual(['03646', '03682']);
    expect(t.canRead({ units: ['14'] }, 'G1')).toBe(true);
    expect(t.canRead({ units: ['116'] }, 'G1')).toBe(false);
    expect(t.canRead({ units: ['G1'] }, '03682')).toBe(true);
    expect(() => saveGroup(db, { code: 'G2', name: 'x', parentCode: null, members: ['G1'] }, opts(T0))).toThrow(
      /cannot contain group G1/,
    );
  });
});
