import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from '../storage/db.js';
import { createUnitsRepo } from '../storage/units.js';
import { type ImportSummary, importUnits, readUnitsCsv } from './units.js';

/** The unit list shipped with the collector: Son La's 12 districts and 200 communes (GSO, 01/03/2025). */
export const DEFAULT_UNITS_FILE = fileURLToPath(new URL('../../data/son-la-units-2025-03.csv', import.meta.url));

/** Load the shipped list into a database that has no units yet. Returns undefined when units exist. */
export function loadDefaultUnits(db: Db, now: number): ImportSummary | undefined {
  if (createUnitsRepo(db).count() > 0) return undefined;
  const units = readUnitsCsv(readFileSync(DEFAULT_UNITS_FILE, 'utf8'));
  return importUnits(db, units, { effectiveAt: now, now, source: 'son-la-units-2025-03.csv' });
}
