import { type Static, Type } from '@sinclair/typebox';
import { MAX_TREND_MONTHS, MAX_TREND_WEEKS } from '../spec.js';
import { StringEnum } from './common.js';

/**
 * HTTP shapes of the statistics API (docs/protocol.md §4). Speeds in bits per second, latency in
 * ms, shares 0–1; null where there is no data.
 */

const NumOrNull = (description: string) => Type.Union([Type.Number(), Type.Null()], { description });
const BoolOrNull = (description: string) => Type.Union([Type.Boolean(), Type.Null()], { description });

export const UNIT_CODE_PATTERN = '^[A-Za-z0-9._-]{1,32}$';
export const UnitCode = (description: string) => Type.String({ pattern: UNIT_CODE_PATTERN, description });

export const UnitLevelSchema = StringEnum(['province', 'district', 'commune', 'group'] as const, {
  description: 'Level of a unit.',
});
export const AccessSchema = StringEnum(['fixed', 'mobile'] as const, { description: 'Access type.' });
export const PeriodKindSchema = StringEnum(['week', 'month'] as const, {
  description: 'ISO week or calendar month, Asia/Ho_Chi_Minh.',
});

export const UnitInfoSchema = Type.Object({
  code: Type.String({ description: 'Official (GSO) code, or the code of a group.' }),
  name: Type.String({ description: 'Name during the period (renames keep history).' }),
  type: Type.Union([Type.String(), Type.Null()], { description: 'Tỉnh, Huyện, Xã, Phường, …' }),
  level: UnitLevelSchema,
  parentCode: Type.Union([Type.String(), Type.Null()], { description: 'Parent during the period.' }),
});

export const PeriodInfoSchema = Type.Object({
  kind: PeriodKindSchema,
  key: Type.String({ description: "'2026-W48' or '2026-11'." }),
  year: Type.Integer({ description: 'Year whose target applies (ISO week-year for weeks).' }),
  start: Type.String({ description: 'First instant, local time: 2026-11-23T00:00:00+07:00.' }),
  end: Type.String({ description: 'First instant after the period.' }),
  firstDay: Type.String({ description: 'First local date, YYYY-MM-DD.' }),
  lastDay: Type.String({ description: 'Last local date, YYYY-MM-DD.' }),
});

const Slice = (description: string) =>
  Type.Object(
    {
      samples: Type.Integer({ description: 'Tests with a download figure in the slice.' }),
      median: NumOrNull('Median download in the slice, bit/s.'),
    },
    { description },
  );

const ChangeSchema = Type.Union(
  [
    Type.Object({
      delta: Type.Number({ description: 'Current minus previous median, bit/s.' }),
      ratio: NumOrNull('Current ÷ previous − 1; null when previous is 0.'),
    }),
    Type.Null(),
  ],
  { description: 'Change of the headline median against the period before; null when either has no data.' },
);

/** Fields every statistics row carries (GroupStats in shared/src/stats/aggregate.ts). */
export const GroupStatsFields = {
  samples: Type.Integer({ description: 'Speed tests with a download figure (i-Speed sample count).' }),
  agents: Type.Integer({ description: 'Distinct agents with such a test.' }),
  download: Type.Object(
    {
      median: NumOrNull('Headline: median download, bit/s.'),
      mean: NumOrNull('Mean download, bit/s.'),
      p10: NumOrNull('10th percentile, bit/s.'),
      p90: NumOrNull('90th percentile, bit/s.'),
    },
    { description: 'Download distribution (over agent medians when perAgent).' },
  ),
  uploadMedian: NumOrNull('Median upload, bit/s.'),
  latencyMedian: NumOrNull('Median idle latency, ms.'),
  target: NumOrNull("That year's target for the access type, bit/s."),
  attained: BoolOrNull('Headline median ≥ target.'),
  attainment: NumOrNull('Headline median ÷ target.'),
  shareAtTarget: NumOrNull('Share of tests (agents when perAgent) with download ≥ target.'),
  shareAt80: NumOrNull('Share with download ≥ 0.8 × target.'),
  sampleFloor: Type.Integer({ description: 'Samples the period needs: 300 a month, 70 a week.' }),
  lowSamples: Type.Boolean({ description: 'Fewer samples than sampleFloor: the figure does not count.' }),
  office: Slice('Office hours 08:00–17:00 local time.'),
  evening: Slice('Evening peak 19:00–23:00 local time.'),
  perAgent: Type.Boolean({ description: 'Each agent was collapsed to its median first.' }),
};

export const UnitStatsRowSchema = Type.Object({
  unit: UnitInfoSchema,
  access: AccessSchema,
  isp: Type.Union([Type.String(), Type.Null()], { description: 'ISP of the row when split or filtered.' }),
  ...GroupStatsFields,
  previous: Type.Object(
    { samples: Type.Integer(), median: NumOrNull('Median download of the period before, bit/s.') },
    { description: 'The period before.' },
  ),
  change: ChangeSchema,
});

export const UnitsReportSchema = Type.Object({
  period: PeriodInfoSchema,
  previousPeriod: PeriodInfoSchema,
  level: UnitLevelSchema,
  parent: Type.Union([UnitInfoSchema, Type.Null()]),
  access: Type.Array(AccessSchema),
  isp: Type.Union([Type.String(), Type.Null()]),
  byIsp: Type.Boolean(),
  perAgent: Type.Boolean(),
  rows: Type.Array(UnitStatsRowSchema),
});
export type UnitsReportBody = Static<typeof UnitsReportSchema>;

export const TrendPointSchema = Type.Object({ period: PeriodInfoSchema, ...GroupStatsFields, change: ChangeSchema });

export const TrendReportSchema = Type.Object({
  unit: UnitInfoSchema,
  period: PeriodKindSchema,
  isp: Type.Union([Type.String(), Type.Null()]),
  perAgent: Type.Boolean(),
  series: Type.Array(Type.Object({ access: AccessSchema, points: Type.Array(TrendPointSchema) })),
});
export type TrendReportBody = Static<typeof TrendReportSchema>;

const PERIOD_KEY = '^[0-9]{4}-(W[0-9]{2}|[0-9]{2})$';
const Isp = Type.String({ minLength: 1, maxLength: 64, description: 'Only agents of this ISP (as registered).' });

export const UnitsQuerySchema = Type.Object(
  {
    period: Type.Optional(PeriodKindSchema),
    at: Type.Optional(
      Type.String({ pattern: PERIOD_KEY, description: '2026-W48 for weeks, 2026-11 for months; default: now.' }),
    ),
    level: Type.Optional(UnitLevelSchema),
    parent: Type.Optional(UnitCode('Only units under this one (or members of this group).')),
    access: Type.Optional(AccessSchema),
    isp: Type.Optional(Isp),
    byIsp: Type.Optional(Type.Boolean({ description: 'One row per ISP.' })),
    perAgent: Type.Optional(Type.Boolean({ description: 'Collapse each agent to its median first.' })),
  },
  { additionalProperties: false },
);
export type UnitsQueryString = Static<typeof UnitsQuerySchema>;

export const TrendQuerySchema = Type.Object(
  {
    unit: UnitCode('The unit.'),
    access: Type.Optional(AccessSchema),
    isp: Type.Optional(Isp),
    period: Type.Optional(PeriodKindSchema),
    weeks: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_TREND_WEEKS, description: 'Weeks, ending with `at`; default 52.' }),
    ),
    months: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_TREND_MONTHS, description: 'Months (period=month); default 12.' }),
    ),
    at: Type.Optional(Type.String({ pattern: PERIOD_KEY, description: 'Last period; default: the current one.' })),
    perAgent: Type.Optional(Type.Boolean({ description: 'Collapse each agent to its median first.' })),
  },
  { additionalProperties: false },
);
export type TrendQueryString = Static<typeof TrendQuerySchema>;
