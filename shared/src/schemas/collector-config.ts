import { type Static, Type } from '@sinclair/typebox';
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
    agents: AgentsSection,
  },
  strict,
);
export type CollectorConfig = Static<typeof CollectorConfigSchema>;

export const COLLECTOR_CONFIG_DEFAULTS: CollectorConfig = {
  server: { host: '127.0.0.1', port: 8080 },
  dataDir: './data',
  role: 'all',
  log: { level: 'info' },
  agents: {
    settings: {},
    fixed: {},
    mobile: { speed: { profile: 'metered' } },
    allowLocalOverride: ['budget.monthlyMegabytes', 'budget.resetDay'],
  },
};
