import { type Static, Type } from '@sinclair/typebox';
import { CENTRAL_CONFIG_SCHEMA_VERSION, ENROLL_CODE_CHARS } from '../spec.js';
import { AgentConfigSchema, BudgetSection, ScheduleSection, TestServer } from './agent-config.js';
import { StringEnum } from './common.js';
import { ACCESS_TYPES } from './results.js';

const strict = { additionalProperties: false } as const;
const opt = Type.Optional;
const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

/**
 * Central agent settings (docs/protocol.md §5): the part of the agent config the province sets
 * for every agent from the collector. Each section is the agent config's own section, every key
 * optional; what is absent falls back to the agent's local file and defaults.
 */
export const CentralAgentSettings = Type.Object(
  {
    schedule: opt(Type.Partial(ScheduleSection)),
    servers: opt(Type.Array(TestServer, { maxItems: 32, description: 'Speed-test servers.' })),
    budget: opt(Type.Partial(BudgetSection)),
    ipv6: opt(Type.Partial(AgentConfigSchema.properties.ipv6)),
    speed: opt(Type.Partial(AgentConfigSchema.properties.speed)),
  },
  strict,
);
export type CentralAgentSettings = Static<typeof CentralAgentSettings>;

/** The top-level sections of the agent config the collector may set. */
export const CENTRAL_SECTIONS = ['schedule', 'servers', 'budget', 'ipv6', 'speed'] as const;

/** A dotted agent-config path a local file may override, e.g. `budget.monthlyMegabytes` or `schedule`. */
export const OverridePath = Type.String({
  pattern: '^[A-Za-z][A-Za-z0-9]*(\\.[A-Za-z0-9]+)*$',
  maxLength: 128,
  description: 'Dotted key path, e.g. budget.monthlyMegabytes; a section name allows every key under it.',
});

/** `GET /api/v1/agent/config` answer. */
export const AgentCentralConfig = Type.Object(
  {
    schema: Type.Literal(CENTRAL_CONFIG_SCHEMA_VERSION),
    agent: Type.Object(
      {
        id: Type.String({ minLength: 1, maxLength: 64 }),
        name: Type.String({ maxLength: 200 }),
        commune: Nullable(Type.String({ maxLength: 32 })),
        access: StringEnum(ACCESS_TYPES),
        isp: Nullable(Type.String({ maxLength: 64 })),
      },
      strict,
    ),
    settings: CentralAgentSettings,
    allowLocalOverride: Type.Array(OverridePath, { maxItems: 64 }),
  },
  strict,
);
export type AgentCentralConfig = Static<typeof AgentCentralConfig>;

/** `POST /api/v1/enroll` body. */
export const EnrollRequest = Type.Object(
  {
    code: Type.String({
      minLength: ENROLL_CODE_CHARS,
      maxLength: 32,
      description: 'The one-time enrolment code (dashes and spaces ignored, case-insensitive).',
    }),
    hostname: opt(Type.String({ maxLength: 255, description: 'Host name of the agent machine, for the log.' })),
    agentVersion: opt(Type.String({ maxLength: 32, description: 'Agent software version.' })),
  },
  strict,
);
export type EnrollRequest = Static<typeof EnrollRequest>;

/** `POST /api/v1/enroll` answer. The token is shown this once. */
export const EnrollResponse = Type.Object(
  {
    agentId: Type.String(),
    token: Type.String(),
    name: Type.String(),
    commune: Nullable(Type.String()),
    access: StringEnum(ACCESS_TYPES),
    isp: Nullable(Type.String()),
  },
  strict,
);
export type EnrollResponse = Static<typeof EnrollResponse>;
