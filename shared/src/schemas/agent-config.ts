import { type Static, Type } from '@sinclair/typebox';
import { IPV6_CHECK_TIMEOUT_MS, IPV6_HAPPY_EYEBALLS_ATTEMPT_MS, IPV6_MAX_TARGETS, IPV6_SLOW_MS } from '../spec.js';
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
        capBytes: opt(Type.Integer({ minimum: 1_000_000, description: 'Per-direction byte cap; default by profile.' })),
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
    speed: { profile: 'fixed', family: 'auto', downloadStreams: 8, uploadStreams: 4, windowMs: 10_000 },
    uplink: { batchSize: 500, intervalMs: 60_000, timeoutMs: 30_000 },
    log: { level: 'info' },
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
  };
