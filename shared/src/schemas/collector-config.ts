import { type Static, Type } from '@sinclair/typebox';
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
    metrics: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Serve GET /metrics (Prometheus text format) in both roles.' }),
        cacheMs: Type.Integer({
          minimum: 0,
          maximum: 600_000,
          description:
            'How long the database-derived gauges (per agent, per unit) are reused between scrapes, ms; 0 recomputes on every scrape.',
        }),
        bearerToken: Type.Optional(
          Type.String({
            minLength: 16,
            maxLength: 256,
            description: 'When set, /metrics requires Authorization: Bearer <this token>.',
          }),
        ),
        basicUsername: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 128,
            pattern: '^[^:]+$',
            description: 'When set (with basicPassword), /metrics accepts HTTP basic auth with this user name.',
          }),
        ),
        basicPassword: Type.Optional(
          Type.String({
            minLength: 12,
            maxLength: 256,
            description: 'Password for basicUsername.',
          }),
        ),
        recentWeeks: Type.Integer({
          minimum: 1,
          maximum: 26,
          description:
            'M: how many completed ISO weeks hatang_unit_recent_weeks_below_target looks back over (alert: below target in N of the last M weeks).',
        }),
        maxServerLabels: Type.Integer({
          minimum: 1,
          maximum: 200,
          description:
            'Most distinct test-server ids used as the `server` label; results naming further servers count under server="other".',
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
  metrics: { enabled: true, cacheMs: 10_000, recentWeeks: 4, maxServerLabels: 32 },
};
