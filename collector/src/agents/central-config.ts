import { createHash } from 'node:crypto';
import {
  type AgentCentralConfig,
  CENTRAL_CONFIG_SCHEMA_VERSION,
  type CentralAgentSettings,
  type CollectorConfig,
  mergeConfig,
} from '@hatang/shared';
import type { AgentRow } from '../storage/repo.js';

/**
 * The central config one agent gets (docs/protocol.md §5): the collector config's
 * `agents.settings`, with `agents.fixed` or `agents.mobile` laid over by the agent's access type,
 * plus the keys its local file may override.
 */
export function centralConfigFor(agent: AgentRow, agents: CollectorConfig['agents']): AgentCentralConfig {
  const settings = mergeConfig(
    agents.settings as Record<string, unknown>,
    agents[agent.access] as Record<string, unknown>,
  ) as CentralAgentSettings;
  return {
    schema: CENTRAL_CONFIG_SCHEMA_VERSION,
    agent: {
      id: agent.id,
      name: agent.name,
      commune: agent.commune_code,
      access: agent.access,
      isp: agent.isp,
    },
    settings,
    allowLocalOverride: [...agents.allowLocalOverride],
  };
}

/** A strong ETag of the exact document sent. */
export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** True when an If-None-Match header names this ETag (or `*`); weak comparison (RFC 9110 §13.1.2). */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === '*' || t === bare);
}
