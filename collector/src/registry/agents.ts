import { ACCESS_TYPES, HatangError } from '@hatang/shared';
import { normIsp } from '../stats/rollup.js';
import { type AgentPatch, type AgentRecord, createAgentsRepo } from '../storage/agents.js';
import type { Db } from '../storage/db.js';
import { createRepo } from '../storage/repo.js';
import { createUnitsRepo } from '../storage/units.js';

/**
 * The agent registry: each agent belongs to one commune, has an access type, an ISP and
 * optionally its contracted plan speed and a location. Used by the CLI and the admin API; the
 * checks here give the messages both show.
 */

export interface AgentInput {
  name?: unknown;
  communeCode?: unknown;
  access?: unknown;
  isp?: unknown;
  planMbps?: unknown;
  latitude?: unknown;
  longitude?: unknown;
  location?: unknown;
}

const bad = (m: string) => new HatangError('HATANG_ERR_VALIDATION', m);

function text(v: unknown, field: string, max: number): string {
  if (typeof v !== 'string') throw bad(`${field} must be text`);
  const t = v.trim().normalize('NFC');
  if (t.length === 0 || t.length > max || /[\u0000-\u001f\u007f]/.test(t)) {
    throw bad(`${field} must be 1–${max} characters without control characters`);
  }
  return t;
}

function num(v: unknown, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
    throw bad(`${field} must be a number from ${min} to ${max}`);
  }
  return v;
}

/** Check an agent's fields against the rules and the unit list; returns a clean patch. */
export function checkAgentInput(db: Db, i: AgentInput, { creating }: { creating: boolean }): AgentPatch {
  const out: AgentPatch = {};
  if (i.name !== undefined || creating) out.name = text(i.name, 'name', 100);
  if (i.access !== undefined || creating) {
    if (typeof i.access !== 'string' || !(ACCESS_TYPES as readonly string[]).includes(i.access)) {
      throw bad(`access must be one of ${ACCESS_TYPES.join(', ')}`);
    }
    out.access = i.access as 'fixed' | 'mobile';
  }
  if (i.communeCode !== undefined) {
    if (i.communeCode === null) out.communeCode = null;
    else {
      const code = text(i.communeCode, 'communeCode', 32);
      const units = createUnitsRepo(db);
      const u = units.get(code);
      if (!u) {
        throw new HatangError('HATANG_ERR_VALIDATION', `communeCode ${code} is not a known unit`, {
          hint:
            units.count() === 0
              ? 'No units are loaded yet: import a list (hatang-collector units import FILE), or start the collector once to load the shipped Son La list.'
              : 'Use the GSO code of a commune: hatang-collector units list --level commune',
        });
      }
      if (u.level !== 'commune') throw bad(`communeCode ${code} is a ${u.level}, not a commune`);
      if (u.valid_to !== null) {
        throw bad(`commune ${code} no longer exists${u.merged_into ? ` (merged into ${u.merged_into})` : ''}`);
      }
      out.communeCode = code;
    }
  }
  if (i.isp !== undefined) out.isp = i.isp === null ? null : normIsp(text(i.isp, 'isp', 64));
  if (i.planMbps !== undefined) out.planMbps = i.planMbps === null ? null : num(i.planMbps, 'planMbps', 0.01, 100_000);
  if (i.latitude !== undefined) out.latitude = i.latitude === null ? null : num(i.latitude, 'latitude', -90, 90);
  if (i.longitude !== undefined) out.longitude = i.longitude === null ? null : num(i.longitude, 'longitude', -180, 180);
  if ((out.latitude === undefined) !== (out.longitude === undefined)) {
    throw bad('latitude and longitude go together: give both or neither');
  }
  if (i.location !== undefined) out.location = i.location === null ? null : text(i.location, 'location', 200);
  return out;
}

/** Register an agent; returns its record and the token (shown once). */
export function registerAgent(db: Db, input: AgentInput, now: number): { agent: AgentRecord; token: string } {
  const p = checkAgentInput(db, input, { creating: true });
  return db.transaction(() => {
    const { agent, token } = createRepo(db).addAgent(
      {
        name: p.name as string,
        access: p.access as 'fixed' | 'mobile',
        communeCode: p.communeCode ?? null,
        isp: p.isp ?? null,
        planMbps: p.planMbps ?? null,
      },
      now,
    );
    const agents = createAgentsRepo(db);
    agents.update(agent.id, p, now);
    return { agent: agents.get(agent.id) as AgentRecord, token };
  })();
}

/** Change an agent's registry fields. Moving an agent to another commune moves its history too. */
export function updateAgent(db: Db, id: string, input: AgentInput, now: number): AgentRecord {
  const p = checkAgentInput(db, input, { creating: false });
  const agents = createAgentsRepo(db);
  if (!agents.update(id, p, now)) {
    throw new HatangError('HATANG_ERR_NOT_FOUND', `no agent ${id.slice(0, 40)}`, {
      hint: 'List agents with: hatang-collector agents list',
    });
  }
  return agents.get(id) as AgentRecord;
}
