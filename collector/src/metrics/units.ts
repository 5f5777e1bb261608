import { shiftPeriod } from '@hatang/shared';
import type { UnitTree } from '../geography/tree.js';
import type { StatsService, UnitStatsRow } from '../stats/service.js';

/** Unit levels exported as metrics (named groups are left to the stats API). */
export const METRIC_UNIT_LEVELS = ['province', 'district', 'commune'] as const;
export type MetricUnitLevel = (typeof METRIC_UNIT_LEVELS)[number];

/** Labels of every per-unit series: the unit's place in the hierarchy, by GSO code ('' = none). */
export interface UnitLabels {
  level: MetricUnitLevel;
  district: string;
  commune: string;
}

export interface UnitFigures {
  labels: UnitLabels & { access: string };
  /** Current ISO week: median download, bits/s (null: no test yet this week). */
  medianBps: number | null;
  /** Median ≥ target: 1 / 0; null without data or target. */
  attained: number | null;
  /** Median ÷ target. */
  attainmentRatio: number | null;
  samples: number;
  /** Share of this week's tests at or above the target. */
  shareAtTarget: number | null;
  lowSamples: boolean;
  /** Of the last `recentWeeks` completed weeks: how many had a median below target, and how many had data. */
  recentBelow: number;
  recentMeasured: number;
}

export interface UnitsSnapshot {
  info: Array<UnitLabels & { name: string }>;
  figures: UnitFigures[];
}

/** The district a unit lies in ('' when the geography has no district level above it, as after 2025). */
export function districtOf(tree: UnitTree, code: string): string {
  const self = tree.stateAt(code);
  if (self?.level === 'district') return code;
  for (const a of tree.ancestors(code)) if (tree.stateAt(a)?.level === 'district') return a;
  return '';
}

function labelsOf(tree: UnitTree, row: UnitStatsRow): UnitLabels {
  const level = row.unit.level as MetricUnitLevel;
  return {
    level,
    district: level === 'province' ? '' : districtOf(tree, row.unit.code),
    commune: level === 'commune' ? row.unit.code : '',
  };
}

/**
 * Per-unit figures for /metrics, all from the statistics service (the numbers the stats API and the
 * dashboard show): the current ISO week, plus how many of the last `recentWeeks` completed weeks
 * were below target (the debounced alert's input). Completed weeks are cached by the service until
 * ingest touches their days, so a scrape mostly costs the current week.
 */
export function unitsSnapshot(stats: StatsService, recentWeeks: number): UnitsSnapshot {
  const tree = stats.tree();
  const current = stats.currentPeriod('week');
  const past = Array.from({ length: recentWeeks }, (_, i) => shiftPeriod(current, -(i + 1)).key);
  const info: UnitsSnapshot['info'] = [];
  const figures: UnitFigures[] = [];
  for (const level of METRIC_UNIT_LEVELS) {
    const rows = stats.units({ period: 'week', at: current.key, level }).rows;
    const below = new Map<string, { below: number; measured: number }>();
    for (const key of past) {
      for (const r of stats.units({ period: 'week', at: key, level }).rows) {
        if (r.attained === null) continue;
        const k = `${r.unit.code}\u0000${r.access}`;
        const b = below.get(k) ?? { below: 0, measured: 0 };
        b.measured++;
        if (!r.attained) b.below++;
        below.set(k, b);
      }
    }
    const seen = new Set<string>();
    for (const r of rows) {
      const labels = labelsOf(tree, r);
      if (!seen.has(r.unit.code)) {
        seen.add(r.unit.code);
        info.push({ ...labels, name: r.unit.name });
      }
      const b = below.get(`${r.unit.code}\u0000${r.access}`);
      figures.push({
        labels: { ...labels, access: r.access },
        medianBps: r.download.median,
        attained: r.attained === null ? null : r.attained ? 1 : 0,
        attainmentRatio: r.attainment,
        samples: r.samples,
        shareAtTarget: r.shareAtTarget,
        lowSamples: r.lowSamples,
        recentBelow: b?.below ?? 0,
        recentMeasured: b?.measured ?? 0,
      });
    }
  }
  return { info, figures };
}
