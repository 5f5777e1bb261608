import { type Static, Type } from '@sinclair/typebox';
import { MLAB_LOCATE_URL } from '../ndt7-spec.js';
import {
  DOWNLOAD_STREAMS,
  FIXED_PROFILE_CAP_BYTES,
  IPV6_CHECK_TIMEOUT_MS,
  IPV6_HAPPY_EYEBALLS_ATTEMPT_MS,
  IPV6_MAX_TARGETS,
  IPV6_SLOW_MS,
  METERED_PROFILE_CAP_BYTES,
  STABLE_MIN_MS,
  STABLE_TOLERANCE,
  TEST_HARD_CAP_MS,
  TEST_WINDOW_MS,
  UDP_DEFAULT_DURATION_MS,
  UDP_DEFAULT_PACKET_BYTES,
  UDP_DEFAULT_PACKETS,
  UDP_ECHO_HEADER_BYTES,
  UDP_ECHO_MAX_BYTES,
  UDP_MAX_PACKETS,
  UDP_WAIT_MS,
  UPLOAD_STREAMS,
} from '../spec.js';
import { StringEnum } from './common.js';
import { ACCESS_TYPES } from './results.js';

const strict = { additionalProperties: false } as const;
const opt = Type.Optional;

export const TestServer = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9._:@-]+$',
      description: 'Short stable name, stored with each result.',
    }),
    url: Type.String({
      minLength: 1,
      maxLength: 512,
      pattern: '^https?://',
      errorMessage: 'must be an http:// or https:// URL',
      description: 'Base URL of a hatang speed-test server.',
    }),
  },
  strict,
);
export type TestServer = Static<typeof TestServer>;

/** When one test kind runs (docs/agent.md "schedule"); absent keys take the built-in default of the kind. */
export const TestScheduleEntry = Type.Object(
  {
    enabled: opt(Type.Boolean({ description: 'false: never run this kind on schedule (`test <kind>` still works).' })),
    cron: opt(
      Type.String({
        minLength: 9,
        maxLength: 128,
        description: 'Cron expression (5 fields, or 6 with seconds) in schedule.timezone.',
      }),
    ),
    meteredCron: opt(
      Type.String({
        minLength: 9,
        maxLength: 128,
        description: 'Cron expression used instead of `cron` when speed.profile is metered.',
      }),
    ),
    jitterMinutes: opt(
      Type.Integer({ minimum: 0, maximum: 720, description: 'Each run moves by a random amount in ± this.' }),
    ),
    timeoutSeconds: opt(
      Type.Integer({
        minimum: 5,
        maximum: 3600,
        description: 'A run longer than this is aborted and recorded as overrun.',
      }),
    ),
  },
  strict,
);
export type TestScheduleEntry = Static<typeof TestScheduleEntry>;

export const ScheduleSection = Type.Object(
  {
    timezone: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'IANA time zone the cron expressions are read in.',
    }),
    splayMinutes: Type.Integer({
      minimum: 0,
      maximum: 120,
      description: 'Every run of this agent is delayed by a fixed random offset in [0, splay), chosen once per agent.',
    }),
    startupDelaySeconds: Type.Integer({
      minimum: 0,
      maximum: 3600,
      description: 'No test starts sooner than this after the daemon starts.',
    }),
    catchUp: Type.Boolean({
      description: 'After the box was off past a scheduled run, run each kind once soon after start (never a burst).',
    }),
    stopGraceSeconds: Type.Integer({
      minimum: 1,
      maximum: 300,
      description: 'On SIGTERM, how long the running test may take to wind down and be recorded.',
    }),
    tests: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9]{0,31}$' }), TestScheduleEntry, {
      additionalProperties: false,
      description: 'Per test kind: enabled, cron, meteredCron, jitterMinutes, timeoutSeconds.',
    }),
  },
  strict,
);

export const BudgetSection = Type.Object(
  {
    monthlyMegabytes: Type.Integer({
      minimum: 0,
      maximum: 100_000_000,
      description: 'Data the agent may use per month on a metered line, MB (10^6 bytes); 0: no limit.',
    }),
    resetDay: Type.Integer({
      minimum: 1,
      maximum: 28,
      description: 'Day of the month (local time) the data plan resets.',
    }),
    halveAtPercent: Type.Integer({
      minimum: 1,
      maximum: 100,
      description: 'From this share of the budget, heavy kinds run half as often.',
    }),
    pauseAtPercent: Type.Integer({
      minimum: 1,
      maximum: 1000,
      description: 'From this share of the budget, heavy kinds pause until the next reset.',
    }),
    heavyKinds: Type.Array(Type.String({ pattern: '^[a-z][a-z0-9]{0,31}$' }), {
      maxItems: 16,
      description: 'Test kinds the budget slows and pauses; the others (latency, IPv6) go on.',
    }),
  },
  strict,
);

export const OutboxSection = Type.Object(
  {
    maxMegabytes: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      description: 'Most undelivered results kept on disk, MB; past it the oldest are dropped and counted.',
    }),
    maxDeadLetters: Type.Integer({
      minimum: 10,
      maximum: 1_000_000,
      description: 'Most rejected results kept; past it the oldest are deleted.',
    }),
    keepRuns: Type.Integer({
      minimum: 10,
      maximum: 100_000,
      description: 'Run records kept for `status` (last results, skips, overruns).',
    }),
  },
  strict,
);

export const CentralSection = Type.Object(
  {
    enabled: Type.Boolean({
      description: 'Pull central config (schedule, servers, budget, IPv6 targets) from the collector.',
    }),
    pollMinutes: Type.Integer({ minimum: 1, maximum: 10_080, description: 'How often the central config is checked.' }),
  },
  strict,
);

/**
 * The agent's local configuration file (YAML). Every key is documented in docs/agent.md; unknown
 * keys are rejected so a typo never passes silently (blackbox_exporter's KnownFields).
 */
export const AgentConfigSchema = Type.Object(
  {
    collector: Type.Object(
      {
        url: Type.String({
          pattern: '^https?://',
          errorMessage: 'must be an http:// or https:// URL',
          description: 'Base URL of the provincial collector.',
        }),
        token: opt(
          Type.String({ minLength: 1, maxLength: 256, description: 'Agent bearer token (prefer tokenFile).' }),
        ),
        tokenFile: opt(Type.String({ minLength: 1, description: 'File holding the agent token (mode 0600).' })),
      },
      strict,
    ),
    agent: Type.Object(
      {
        access: StringEnum(ACCESS_TYPES, { description: 'Access type of the line: fixed or mobile.' }),
        isp: opt(Type.String({ maxLength: 64, description: 'ISP name, stored with each result.' })),
        iface: opt(Type.String({ maxLength: 32, description: 'Network interface to report link speed for.' })),
      },
      strict,
    ),
    stateDir: Type.String({ minLength: 1, description: 'Directory for the outbox database and state.' }),
    servers: Type.Array(TestServer, {
      maxItems: 32,
      description: 'Speed-test servers; empty means the collector itself.',
    }),
    speed: Type.Object(
      {
        profile: StringEnum(['fixed', 'metered'] as const, {
          description: 'fixed: 250 MB cap; metered: stop when stable, 30 MB cap.',
        }),
        family: StringEnum(['auto', '4', '6'] as const, {
          description: 'IP family for speed tests: auto (system preference), 4 or 6.',
        }),
        downloadStreams: Type.Integer({ minimum: 1, maximum: 32, description: 'Parallel download connections.' }),
        uploadStreams: Type.Integer({ minimum: 1, maximum: 32, description: 'Parallel upload connections.' }),
        windowMs: Type.Integer({
          minimum: 1000,
          maximum: 60_000,
          description: 'Measurement window per direction, ms.',
        }),
        capBytes: opt(
          Type.Integer({
            minimum: 1_000_000,
            description: 'Per-direction byte cap for every profile; when absent the profile decides.',
          }),
        ),
        fixedCapBytes: Type.Integer({
          minimum: 1_000_000,
          description: 'Per-direction byte cap of the fixed profile (default 250 MB, ndt7 early_exit).',
        }),
        meteredCapBytes: Type.Integer({
          minimum: 1_000_000,
          description: 'Per-direction byte cap of the metered profile (default 30 MB).',
        }),
        hardCapMs: Type.Integer({
          minimum: 1000,
          maximum: 120_000,
          description: 'Longest a direction may take, ms, including the wait for upload answers; never below windowMs.',
        }),
        stableMinMs: Type.Integer({
          minimum: 1000,
          maximum: 60_000,
          description: 'Metered profile: earliest stop when stable, ms into a direction.',
        }),
        stableTolerancePct: Type.Number({
          exclusiveMinimum: 0,
          maximum: 50,
          description:
            'Metered profile: stable when the standard deviation of the last four 500 ms rates is at most this percent of their mean.',
        }),
      },
      strict,
    ),
    uplink: Type.Object(
      {
        batchSize: Type.Integer({ minimum: 1, maximum: 500, description: 'Results per push.' }),
        intervalMs: Type.Integer({
          minimum: 1000,
          maximum: 86_400_000,
          description: 'How often the outbox is pushed, ms.',
        }),
        timeoutMs: Type.Integer({ minimum: 1000, maximum: 600_000, description: 'Time limit of one push, ms.' }),
      },
      strict,
    ),
    log: Type.Object(
      {
        level: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
          description: 'pino log level.',
        }),
      },
      strict,
    ),
    ipv6: Type.Object(
      {
        targets: Type.Array(
          Type.Object(
            {
              name: Type.String({
                minLength: 1,
                maxLength: 64,
                pattern: '^[A-Za-z0-9._:@-]+$',
                description: 'Target name (a bounded metric label).',
              }),
              url: Type.String({
                minLength: 1,
                maxLength: 512,
                pattern: '^https?://',
                errorMessage: 'must be an http:// or https:// URL',
                description: 'URL checked over IPv6.',
              }),
            },
            strict,
          ),
          {
            maxItems: IPV6_MAX_TARGETS,
            description:
              'Systems to check over IPv6; the collector itself is always checked too (as "collector"). A URL under .invalid is a placeholder: reported as not configured, never looked up.',
          },
        ),
        timeoutMs: Type.Integer({
          minimum: 500,
          maximum: 60_000,
          description: 'Time limit of one IPv6 check, ms (default 15000, as test-ipv6.com).',
        }),
        slowMs: Type.Integer({
          minimum: 100,
          maximum: 60_000,
          description: 'A check that succeeds but takes longer than this is "slow", ms (default 5000).',
        }),
        attemptDelayMs: Type.Integer({
          minimum: 10,
          maximum: 2_000,
          description:
            'Happy Eyeballs connection attempt delay: how long IPv6 gets before IPv4 is tried too, ms (RFC 8305: 250).',
        }),
      },
      strict,
    ),
    udp: Type.Object(
      {
        packets: Type.Integer({
          minimum: 1,
          maximum: UDP_MAX_PACKETS,
          description: 'Packets in one UDP loss train (MBA sends 2 000 an hour).',
        }),
        durationMs: Type.Integer({
          minimum: 100,
          maximum: 60_000,
          description: 'Time over which the train is spread evenly, ms.',
        }),
        packetBytes: Type.Integer({
          minimum: UDP_ECHO_HEADER_BYTES,
          maximum: UDP_ECHO_MAX_BYTES,
          description: 'UDP payload size of each packet, bytes (64 = header only).',
        }),
        waitMs: Type.Integer({
          minimum: 100,
          maximum: 30_000,
          description: 'How long to wait for late echoes after the last packet, ms.',
        }),
        secret: opt(
          Type.String({
            minLength: 16,
            maxLength: 256,
            description:
              'Shared echo secret of test points running --role speedtest (their udp.secret); absent: sign with the agent token.',
          }),
        ),
      },
      strict,
    ),
    // Sections added per area go below, one key each (schedule, budget, udp, ndt7, …).
    ndt7: Type.Object(
      {
        server: opt(
          Type.String({
            minLength: 1,
            maxLength: 512,
            pattern: '^(wss?|https?)://',
            description:
              'ndt7 server base URL (ws://, wss://, http:// or https://); default the first speed-test server, else the collector.',
          }),
        ),
        token: opt(
          Type.String({
            minLength: 1,
            maxLength: 256,
            description: 'Access token for a self-hosted ndt7 server that requires one; default the agent token.',
          }),
        ),
        family: StringEnum(['auto', '4', '6'] as const, {
          description: 'IP family for ndt7: auto (system preference), 4 or 6.',
        }),
        mlab: Type.Boolean({
          description:
            "Test against M-Lab's public servers found through locate v2 instead of the province's server. M-Lab publishes every result with the client's IP address: needs acceptMlabDataPolicy.",
        }),
        acceptMlabDataPolicy: Type.Boolean({
          description:
            "Set to true to record that the operator read and accepts M-Lab's data policy (results and IP addresses are published). Required for mlab.",
        }),
        locateUrl: Type.String({
          minLength: 1,
          maxLength: 512,
          pattern: '^https?://',
          description: "M-Lab's locate v2 URL for ndt7 (change only for a stand-in in tests).",
        }),
        userAgent: opt(
          Type.String({
            minLength: 1,
            maxLength: 256,
            description: 'User-Agent sent to locate and ndt7 servers; default hatang-agent/<version> (ndt7).',
          }),
        ),
        locateRetries: Type.Integer({
          minimum: 0,
          maximum: 5,
          description: 'Back-off waits (60, 120, 240, 480, 960 s ± 5 %) tried when locate has no capacity (204).',
        }),
      },
      strict,
    ),
    schedule: ScheduleSection,
    budget: BudgetSection,
    outbox: OutboxSection,
    central: CentralSection,
  },
  strict,
);
export type AgentConfig = Static<typeof AgentConfigSchema>;

/** Defaults, merged under the file; one object (fastify's defaultInitOptions). */
export const AGENT_CONFIG_DEFAULTS: Omit<AgentConfig, 'collector'> & { collector: Partial<AgentConfig['collector']> } =
  {
    collector: {},
    agent: { access: 'fixed' },
    stateDir: '/var/lib/hatang-agent',
    servers: [],
    speed: {
      profile: 'fixed',
      family: 'auto',
      downloadStreams: DOWNLOAD_STREAMS,
      uploadStreams: UPLOAD_STREAMS,
      windowMs: TEST_WINDOW_MS,
      fixedCapBytes: FIXED_PROFILE_CAP_BYTES,
      meteredCapBytes: METERED_PROFILE_CAP_BYTES,
      hardCapMs: TEST_HARD_CAP_MS,
      stableMinMs: STABLE_MIN_MS,
      stableTolerancePct: STABLE_TOLERANCE * 100,
    },
    uplink: { batchSize: 500, intervalMs: 60_000, timeoutMs: 30_000 },
    log: { level: 'info' },
    ndt7: { family: 'auto', mlab: false, acceptMlabDataPolicy: false, locateUrl: MLAB_LOCATE_URL, locateRetries: 5 },
    ipv6: {
      // Named placeholders the operator fills in (centrally or in agent.yaml); `.invalid` is never looked up.
      targets: [
        { name: 'cong-thong-tin-tinh', url: 'https://cong-thong-tin-tinh.invalid/' },
        { name: 'dich-vu-cong', url: 'https://dich-vu-cong.invalid/' },
      ],
      timeoutMs: IPV6_CHECK_TIMEOUT_MS,
      slowMs: IPV6_SLOW_MS,
      attemptDelayMs: IPV6_HAPPY_EYEBALLS_ATTEMPT_MS,
    },
    schedule: {
      timezone: 'Asia/Ho_Chi_Minh',
      splayMinutes: 15,
      startupDelaySeconds: 60,
      catchUp: true,
      stopGraceSeconds: 10,
      tests: {},
    },
    budget: {
      monthlyMegabytes: 0,
      resetDay: 1,
      halveAtPercent: 80,
      pauseAtPercent: 100,
      heavyKinds: ['speed', 'ndt7'],
    },
    outbox: { maxMegabytes: 64, maxDeadLetters: 1000, keepRuns: 1000 },
    central: { enabled: true, pollMinutes: 60 },
    udp: {
      packets: UDP_DEFAULT_PACKETS,
      durationMs: UDP_DEFAULT_DURATION_MS,
      packetBytes: UDP_DEFAULT_PACKET_BYTES,
      waitMs: UDP_WAIT_MS,
    },
  };
