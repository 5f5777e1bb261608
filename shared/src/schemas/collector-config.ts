import { type Static, Type } from '@sinclair/typebox';
import {
  DEFAULT_INGEST_BURST,
  DEFAULT_INGEST_PER_MINUTE,
  DEFAULT_RAW_RETENTION_DAYS,
  PLAN_TARGETS_MBPS,
} from '../spec.js';
import { StringEnum } from './common.js';

const strict = { additionalProperties: false } as const;

/**
 * The collector's configuration file (YAML; `hatang-collector serve --config FILE`). Every key is
 * documented in docs/collector.md; unknown keys are rejected. Each area owns one section.
 */
export const CollectorConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ minLength: 1, description: 'Address to listen on.' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port; 0 picks a free one.' }),
      },
      strict,
    ),
    dataDir: Type.String({ minLength: 1, description: 'State directory; the SQLite file is dataDir/hatang.db.' }),
    role: StringEnum(['all', 'speedtest'] as const, {
      description: 'all: the full collector; speedtest: only the stateless test endpoints.',
    }),
    log: Type.Object(
      {
        level: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
          description: 'pino log level.',
        }),
      },
      strict,
    ),
    // Sections added per area go below, one key each (speed, ndt7, ingest, targets, metrics, dashboard, …).
    targets: Type.Record(
      Type.String({ pattern: '^[0-9]{4}$' }),
      Type.Object(
        {
          fixed: Type.Optional(
            Type.Number({ minimum: 0, maximum: 100_000, description: 'Fixed-broadband download target, Mbit/s.' }),
          ),
          mobile: Type.Optional(
            Type.Number({ minimum: 0, maximum: 100_000, description: 'Mobile-broadband download target, Mbit/s.' }),
          ),
        },
        strict,
      ),
      {
        additionalProperties: false,
        description:
          'Download targets per year (key: 4-digit year) and access type, Mbit/s. Years not set carry the last earlier value forward. Defaults: the Son La plan 2023–2025.',
      },
    ),
    ingest: Type.Object(
      {
        ratePerMinute: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Ingest requests one agent may make per minute on average before it gets 429 + Retry-After.',
        }),
        burst: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Ingest requests one agent may make back to back (token-bucket size).',
        }),
      },
      strict,
    ),
    storage: Type.Object(
      {
        rawRetentionDays: Type.Integer({
          minimum: 0,
          maximum: 36_500,
          description:
            'Days raw results are kept (by test start time); 0 keeps them forever. Daily rollups, and so all statistics, are kept regardless.',
        }),
        pruneIntervalMinutes: Type.Integer({
          minimum: 1,
          maximum: 10_080,
          description: 'How often the collector deletes raw results past rawRetentionDays.',
        }),
      },
      strict,
    ),
    stats: Type.Object(
      {
        warmUpWeeks: Type.Integer({
          minimum: 0,
          maximum: 260,
          description:
            'Weeks whose figures are computed in the background a few seconds after start, newest first, so the first pages are fast; 0: none.',
        }),
        warmUpMonths: Type.Integer({
          minimum: 0,
          maximum: 60,
          description: 'Months computed in the background after the weeks; 0: none.',
        }),
        refreshDelayMs: Type.Integer({
          minimum: 0,
          maximum: 600_000,
          description:
            'Recompute the figures of weeks and months that new results touched this many ms after the last ingest (at most 30 s after the first), in the background, so pages find them computed; 0: only when a page asks.',
        }),
      },
      strict,
    ),
    geography: Type.Object(
      {
        loadDefaultUnits: Type.Boolean({
          description:
            'Load the shipped Son La unit list (data/son-la-units-2025-03.csv) when the database has no units yet.',
        }),
      },
      strict,
    ),
  },
  strict,
);
export type CollectorConfig = Static<typeof CollectorConfigSchema>;

export const COLLECTOR_CONFIG_DEFAULTS: CollectorConfig = {
  server: { host: '127.0.0.1', port: 8080 },
  dataDir: './data',
  role: 'all',
  log: { level: 'info' },
  targets: Object.fromEntries(Object.entries(PLAN_TARGETS_MBPS).map(([y, t]) => [y, { ...t }])),
  ingest: { ratePerMinute: DEFAULT_INGEST_PER_MINUTE, burst: DEFAULT_INGEST_BURST },
  storage: { rawRetentionDays: DEFAULT_RAW_RETENTION_DAYS, pruneIntervalMinutes: 60 },
  stats: { warmUpWeeks: 53, warmUpMonths: 13, refreshDelayMs: 2000 },
  geography: { loadDefaultUnits: true },
};
