import { type Static, Type } from '@sinclair/typebox';
import {
  DOWNLOAD_STREAMS,
  FIXED_PROFILE_CAP_BYTES,
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
      description: 'Base URL of a hatang speed-test server.',
    }),
  },
  strict,
);
export type TestServer = Static<typeof TestServer>;

/**
 * The agent's local configuration file (YAML). Every key is documented in docs/agent.md; unknown
 * keys are rejected so a typo never passes silently (blackbox_exporter's KnownFields).
 */
export const AgentConfigSchema = Type.Object(
  {
    collector: Type.Object(
      {
        url: Type.String({ pattern: '^https?://', description: 'Base URL of the provincial collector.' }),
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
                description: 'URL checked over IPv6.',
              }),
            },
            strict,
          ),
          { maxItems: 32, description: 'Systems to check over IPv6; the collector itself is always checked too.' },
        ),
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
    ipv6: { targets: [] },
    udp: {
      packets: UDP_DEFAULT_PACKETS,
      durationMs: UDP_DEFAULT_DURATION_MS,
      packetBytes: UDP_DEFAULT_PACKET_BYTES,
      waitMs: UDP_WAIT_MS,
    },
  };
