import type { Db } from './db.js';
import type { AgentRow } from './repo.js';

/** The registry's view of an agent: the core row plus location (migration 11). Never the token hash. */
export interface AgentRecord extends Omit<AgentRow, 'token_hash' | 'token_id'> {
  latitude: number | null;
  longitude: number | null;
  location: string | null;
  updated_at: number | null;
}

const COLUMNS = `id, name, commune_code, access, isp, plan_mbps, created_at, revoked_at, last_seen_at, agent_version,
  latitude, longitude, location, updated_at`;

export interface AgentPatch {
  name?: string;
  communeCode?: string | null;
  access?: 'fixed' | 'mobile';
  isp?: string | null;
  planMbps?: number | null;
  latitude?: number | null;
  longitude?: number | null;
  location?: string | null;
}

/** Prepared statements of the agent registry. */
export function createAgentsRepo(db: Db) {
  const s = {
    get: db.prepare(`SELECT ${COLUMNS} FROM agents WHERE id = ?`),
    list: db.prepare(`SELECT ${COLUMNS} FROM agents ORDER BY commune_code, name`),
    update: db.prepare(
      `UPDATE agents SET name = @name, commune_code = @communeCode, access = @access, isp = @isp,
         plan_mbps = @planMbps, latitude = @latitude, longitude = @longitude, location = @location,
         updated_at = @updatedAt
       WHERE id = @id`,
    ),
  };
  return {
    get: (id: string) => s.get.get(id) as AgentRecord | undefined,
    list: () => s.list.all() as AgentRecord[],
    /** Apply a patch (fields absent are kept); false when there is no such agent. */
    update(id: string, patch: AgentPatch, now: number): boolean {
      const cur = s.get.get(id) as AgentRecord | undefined;
      if (!cur) return false;
      const pick = <K extends keyof AgentPatch>(k: K, v: AgentPatch[K]) => (k in patch ? patch[k] : v);
      s.update.run({
        id,
        name: pick('name', cur.name),
        communeCode: pick('communeCode', cur.commune_code),
        access: pick('access', cur.access),
        isp: pick('isp', cur.isp),
        planMbps: pick('planMbps', cur.plan_mbps),
        latitude: pick('latitude', cur.latitude),
        longitude: pick('longitude', cur.longitude),
        location: pick('location', cur.location),
        updatedAt: now,
      });
      return true;
    },
  };
}

export type AgentsRepo = ReturnType<typeof createAgentsRepo>;
