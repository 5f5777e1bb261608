import { type Static, Type } from '@sinclair/typebox';
import {
  NDT7_DEFAULT_DURATION_MS,
  NDT7_DEFAULT_MAX_CONCURRENT,
  NDT7_MAX_DURATION_MS,
  NDT7_MIN_DURATION_MS,
} from '../ndt7-spec.js';
import {
  DEFAULT_INGEST_BURST,
  DEFAULT_INGEST_PER_MINUTE,
  DEFAULT_RAW_RETENTION_DAYS,
  DOWN_REQUEST_MAX_BYTES,
  MAX_SPEED_DOWN_BYTES,
  MAX_SPEED_UP_BYTES,
  PLAN_TARGETS_MBPS,
  PUBLIC_MAX_BYTES_PER_IP_PER_HOUR,
  PUBLIC_MAX_CONCURRENT_PER_IP,
  PUBLIC_MAX_CONCURRENT_TOTAL,
  PUBLIC_MAX_REQUEST_SECONDS,
  SPEED_MAX_CONCURRENT_TRANSFERS,
  UDP_GLOBAL_RATE_PPS,
  UDP_IP_RATE_PPS,
  UDP_KEY_BURST,
  UDP_KEY_RATE_PPS,
  UP_REQUEST_MAX_BYTES,
} from '../spec.js';
import { CentralAgentSettings, OverridePath } from './agent-central.js';
import { StringEnum } from './common.js';

const strict = { additionalProperties: false } as const;

/**
 * Central agent config (docs/collector.md "Agents"): what `GET /api/v1/agent/config` hands every
 * agent. `settings` apply to all agents; `fixed`/`mobile` are laid over them by access type.
 */
export const AgentsSection = Type.Object(
  {
    settings: CentralAgentSettings,
    fixed: CentralAgentSettings,
    mobile: CentralAgentSettings,
    allowLocalOverride: Type.Array(OverridePath, {
      maxItems: 64,
      description: "Agent-config keys an agent's local file may override (a section name allows all its keys).",
    }),
  },
  strict,
);

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
        backlog: Type.Integer({
          minimum: 1,
          maximum: 65535,
          description:
            'Listen backlog: connections the kernel holds until the collector accepts them (capped by net.core.somaxconn). Past it a connecting agent waits in SYN retransmission (1, 3, 7, 15 s …).',
        }),
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
    load: Type.Object(
      {
        maxInFlightIngest: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          description: 'Ingest requests processed at once; more are answered 429 with Retry-After.',
        }),
        retryAfterMinS: Type.Integer({
          minimum: 1,
          maximum: 3600,
          description: 'Smallest Retry-After given when shedding, s: the first slot of the return schedule.',
        }),
        retryAfterMaxS: Type.Integer({
          minimum: 1,
          maximum: 3600,
          description:
            'Largest Retry-After given when shedding, s: past it the schedule is full and agents draw at random within [min, max].',
        }),
        maxEventLoopUtilization: Type.Number({
          minimum: 0.1,
          maximum: 1,
          description:
            'Event-loop utilisation over 250 ms above which ingest may use only half of the loop and the excess is answered 429 (1 disables).',
        }),
      },
      strict,
    ),
    speed: Type.Object(
      {
        maxDownBytes: Type.Integer({
          minimum: DOWN_REQUEST_MAX_BYTES,
          maximum: 1024 * 1024 * 1024 * 16,
          description: 'Largest bytes= one GET /speed/down may ask for; larger asks get 400.',
        }),
        maxUpBytes: Type.Integer({
          minimum: UP_REQUEST_MAX_BYTES,
          maximum: 1024 * 1024 * 1024 * 16,
          description: 'Largest body one POST /speed/up may send; past it 413 and the connection closes.',
        }),
        maxConcurrentTransfers: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Most download and upload requests served at once; past it 429 with Retry-After.',
        }),
      },
      strict,
    ),
    udp: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Run the UDP echo (packet-loss tests).' }),
        host: Type.Optional(Type.String({ minLength: 1, description: 'Address to bind; default server.host.' })),
        port: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 65535,
            description: 'UDP port; default the same number as the HTTP port; 0 picks a free one.',
          }),
        ),
        secret: Type.Optional(
          Type.String({
            minLength: 16,
            maxLength: 256,
            description:
              'Shared echo secret: packets signed with it are answered. Required for the echo with role speedtest.',
          }),
        ),
        keyRatePps: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Echoes per second per key (agent token or echo id), sustained.',
        }),
        keyBurst: Type.Integer({ minimum: 1, maximum: 100_000, description: 'Burst of echoes per key.' }),
        ipRatePps: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Echoes per second per source address (burst twice that).',
        }),
        globalRatePps: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          description: 'Echoes per second of the whole server (burst twice that).',
        }),
      },
      strict,
    ),
    public: Type.Object(
      {
        maxConcurrentPerIp: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          description:
            'Speed-test transfers plus ndt7 subtests at once from one client address (IPv6: one /64); past it 429 with Retry-After.',
        }),
        maxConcurrentTotal: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Speed-test transfers plus ndt7 subtests at once from everyone; past it 429 with Retry-After.',
        }),
        maxBytesPerIpPerHour: Type.Number({
          minimum: 1,
          maximum: 1e15,
          description:
            'Bytes served to plus received from one client address (IPv6: one /64) in a rolling hour on the public test endpoints; past it 429.',
        }),
        maxRequestSeconds: Type.Integer({
          minimum: 1,
          maximum: 3600,
          description:
            'Longest one GET /speed/down or POST /speed/up may take; a client that stops reading or trickles is cut off and its slot freed.',
        }),
        trustedProxies: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
          maxItems: 64,
          description:
            'Peer addresses of reverse proxies (nginx) whose X-Real-IP (else the last X-Forwarded-For entry) names the client for these limits; from any other peer those headers are ignored.',
        }),
      },
      strict,
    ),
    // Sections added per area go below, one key each (speed, ndt7, ingest, targets, metrics, dashboard, …).
    ndt7: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Serve ndt7 on /ndt/v7/download and /ndt/v7/upload.' }),
        maxConcurrent: Type.Integer({
          minimum: 1,
          maximum: 1000,
          description: 'Subtests run at once; one more is refused with 503 and Retry-After.',
        }),
        durationMs: Type.Integer({
          minimum: NDT7_MIN_DURATION_MS,
          maximum: NDT7_MAX_DURATION_MS,
          description: 'Length of a subtest from the end of the handshake, ms (ndt7: 10 000).',
        }),
        maxDurationMs: Type.Integer({
          minimum: NDT7_MIN_DURATION_MS,
          maximum: NDT7_MAX_DURATION_MS,
          description:
            'Hard limit of a subtest, ms; past it the connection is dropped and its slot freed (ndt7: 15 000).',
        }),
        requireToken: Type.Boolean({
          description:
            'Refuse subtests without a token (access_token query parameter or Authorization: Bearer): one of ndt7.tokens, or an agent token (role all).',
        }),
        tokens: Type.Array(Type.String({ minLength: 16, maxLength: 256, description: 'A static access token.' }), {
          maxItems: 64,
          description: 'Static access tokens for browsers and other ndt7 clients, when requireToken is set.',
        }),
      },
      strict,
    ),
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
    agents: AgentsSection,
    metrics: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Serve GET /metrics (Prometheus text format) in both roles.' }),
        cacheMs: Type.Integer({
          minimum: 0,
          maximum: 600_000,
          description:
            'How long the database-derived gauges (per agent, per unit) are reused between scrapes, ms; 0 recomputes on every scrape.',
        }),
        unitCacheMs: Type.Integer({
          minimum: 0,
          maximum: 3_600_000,
          description:
            'How long the per-unit weekly figures (hatang_unit_*) are reused between scrapes, ms: weekly medians move slowly and recomputing them is the dearest part of a scrape.',
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
        cacheSeconds: Type.Integer({
          minimum: 0,
          maximum: 3_600,
          description:
            'Figures on the pages are computed once and served for this many seconds (then refreshed after the next view); 0 computes them on every view.',
        }),
      },
      strict,
    ),
  },
  strict,
);
export type CollectorConfig = Static<typeof CollectorConfigSchema>;

export const COLLECTOR_CONFIG_DEFAULTS: CollectorConfig = {
  server: { host: '127.0.0.1', port: 8080, backlog: 4096 },
  dataDir: './data',
  role: 'all',
  log: { level: 'info' },
  load: { maxInFlightIngest: 32, retryAfterMinS: 1, retryAfterMaxS: 120, maxEventLoopUtilization: 0.9 },
  ndt7: {
    enabled: true,
    maxConcurrent: NDT7_DEFAULT_MAX_CONCURRENT,
    durationMs: NDT7_DEFAULT_DURATION_MS,
    maxDurationMs: NDT7_MAX_DURATION_MS,
    requireToken: false,
    tokens: [],
  },
  targets: Object.fromEntries(Object.entries(PLAN_TARGETS_MBPS).map(([y, t]) => [y, { ...t }])),
  ingest: { ratePerMinute: DEFAULT_INGEST_PER_MINUTE, burst: DEFAULT_INGEST_BURST },
  storage: { rawRetentionDays: DEFAULT_RAW_RETENTION_DAYS, pruneIntervalMinutes: 60 },
  stats: { warmUpWeeks: 53, warmUpMonths: 13, refreshDelayMs: 2000 },
  geography: { loadDefaultUnits: true },
  agents: {
    settings: {},
    fixed: {},
    mobile: { speed: { profile: 'metered' } },
    allowLocalOverride: ['budget.monthlyMegabytes', 'budget.resetDay'],
  },
  metrics: { enabled: true, cacheMs: 10_000, unitCacheMs: 60_000, recentWeeks: 4, maxServerLabels: 32 },
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
    cacheSeconds: 120,
  },
  speed: {
    maxDownBytes: MAX_SPEED_DOWN_BYTES,
    maxUpBytes: MAX_SPEED_UP_BYTES,
    maxConcurrentTransfers: SPEED_MAX_CONCURRENT_TRANSFERS,
  },
  udp: {
    enabled: true,
    keyRatePps: UDP_KEY_RATE_PPS,
    keyBurst: UDP_KEY_BURST,
    ipRatePps: UDP_IP_RATE_PPS,
    globalRatePps: UDP_GLOBAL_RATE_PPS,
  },
  public: {
    maxConcurrentPerIp: PUBLIC_MAX_CONCURRENT_PER_IP,
    maxConcurrentTotal: PUBLIC_MAX_CONCURRENT_TOTAL,
    maxBytesPerIpPerHour: PUBLIC_MAX_BYTES_PER_IP_PER_HOUR,
    maxRequestSeconds: PUBLIC_MAX_REQUEST_SECONDS,
    trustedProxies: ['127.0.0.1', '::1'],
  },
};
