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
    dashboard: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Serve the dashboard pages at / (role all only).' }),
        defaultLang: StringEnum(['vi', 'en'] as const, {
          description: 'Language of the pages until a person picks one (vi: Vietnamese, en: English).',
        }),
        cookieSecure: StringEnum(['auto', 'always', 'never'] as const, {
          description:
            'Secure flag of the session cookie. auto: set when the request came over TLS; always: behind a TLS proxy; never: plain HTTP only (a test bench).',
        }),
        sessionIdleMinutes: Type.Integer({
          minimum: 5,
          maximum: 10_080,
          description: 'A session not used for this many minutes ends; the person logs in again.',
        }),
        sessionMaxHours: Type.Integer({
          minimum: 1,
          maximum: 720,
          description: 'A session ends this many hours after login, used or not.',
        }),
        loginMaxFailures: Type.Integer({
          minimum: 1,
          maximum: 100,
          description:
            'Failed logins for one user name from one address before that name pauses there; one address pauses after 5× as many failures across names.',
        }),
        loginLockoutMinutes: Type.Integer({
          minimum: 1,
          maximum: 1_440,
          description: 'How long logins pause after loginMaxFailures failures.',
        }),
        passwordMinLength: Type.Integer({
          minimum: 8,
          maximum: 128,
          description: 'Shortest password `hatang-collector users add|passwd` accepts.',
        }),
        silentAfterHours: Type.Integer({
          minimum: 1,
          maximum: 720,
          description: 'An agent not heard from for this many hours is shown as silent.',
        }),
        trendWeeks: Type.Integer({
          minimum: 4,
          maximum: 104,
          description: 'Weeks shown in trend charts and sparklines, ending with the selected week.',
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
  dashboard: {
    enabled: true,
    defaultLang: 'vi',
    cookieSecure: 'auto',
    sessionIdleMinutes: 480,
    sessionMaxHours: 168,
    loginMaxFailures: 10,
    loginLockoutMinutes: 15,
    passwordMinLength: 10,
    silentAfterHours: 6,
    trendWeeks: 12,
  },
};
