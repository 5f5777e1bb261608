import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  AGENT_CONFIG_DEFAULTS,
  type AgentCentralConfig,
  AgentCentralConfig as AgentCentralConfigSchema,
  type AgentConfig,
  AgentConfigSchema,
  API_PREFIX,
  CENTRAL_SECTIONS,
  envOverrides,
  mergeConfig,
  readYamlFile,
  Validator,
} from '@hatang/shared';
import { loadConfig, validateConfig } from './config.js';
import { httpRequest, netErrorCode } from './net/lite-http.js';

/**
 * Central config (docs/agent.md "Central config"): the collector hands each agent its schedule,
 * servers, data budget, IPv6 targets and speed profile (`GET /api/v1/agent/config`, ETag). The
 * agent keeps the last good copy in `<stateDir>/central-config.json` and lays it over its
 * defaults; the local file wins only for keys the province lists in `allowLocalOverride`.
 */

type Json = Record<string, unknown>;

export const CENTRAL_CACHE_FILE = 'central-config.json';

export interface CentralCache {
  etag: string | undefined;
  /** When this copy was fetched (agent wall clock, ms). */
  fetchedAt: number;
  doc: AgentCentralConfig;
}

const docValidator = new Validator(AgentCentralConfigSchema);

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Write a file atomically and durably: temp file, fsync, rename. */
export function writeFileAtomic(path: string, data: string, mode = 0o644): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch {
    /* directories cannot be fsynced everywhere */
  }
}

/**
 * Check a document from the collector. Sections this agent does not know (a newer collector) are
 * dropped with a note instead of refusing the whole document.
 */
export function checkCentral(raw: unknown): { doc?: AgentCentralConfig; problem?: string; ignored: string[] } {
  const ignored: string[] = [];
  if (isObj(raw) && isObj(raw.settings)) {
    const settings: Json = {};
    for (const [k, v] of Object.entries(raw.settings)) {
      if ((CENTRAL_SECTIONS as readonly string[]).includes(k)) settings[k] = v;
      else ignored.push(`settings.${k}`);
    }
    raw = { ...raw, settings };
  }
  const problem = docValidator.explain(raw);
  if (problem) return { problem: `central config ${problem}`, ignored };
  return { doc: raw as AgentCentralConfig, ignored };
}

export function readCentralCache(stateDir: string): CentralCache | undefined {
  let text: string;
  try {
    text = readFileSync(join(stateDir, CENTRAL_CACHE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const c = JSON.parse(text) as CentralCache;
    const checked = checkCentral(c.doc);
    return checked.doc ? { ...c, doc: checked.doc } : undefined;
  } catch {
    return undefined;
  }
}

export function writeCentralCache(stateDir: string, c: CentralCache): void {
  writeFileAtomic(join(stateDir, CENTRAL_CACHE_FILE), `${JSON.stringify(c, null, 2)}\n`, 0o640);
}

export type FetchOutcome =
  | { kind: 'unchanged' }
  | { kind: 'new'; doc: AgentCentralConfig; etag: string | undefined; ignored: string[]; bytes: number }
  | { kind: 'error'; reason: string; status?: number; bytes: number };

/** `GET /api/v1/agent/config` with If-None-Match. Never throws. */
export async function fetchCentral(o: {
  collectorUrl: string;
  token: string;
  etag?: string | undefined;
  timeoutMs?: number;
  signal?: AbortSignal;
}): Promise<FetchOutcome> {
  try {
    const res = await httpRequest(new URL(`${API_PREFIX}/agent/config`, o.collectorUrl), {
      headers: {
        authorization: `Bearer ${o.token}`,
        accept: 'application/json',
        ...(o.etag ? { 'if-none-match': o.etag } : {}),
      },
      signal: o.signal,
      timeoutMs: o.timeoutMs ?? 30_000,
    });
    const text = res.text;
    const bytes = Buffer.byteLength(text) + 600;
    if (res.status === 304) return { kind: 'unchanged' };
    if (res.status !== 200) {
      return {
        kind: 'error',
        status: res.status,
        bytes,
        reason:
          res.status === 401 || res.status === 403
            ? `collector refused the agent token (HTTP ${res.status}): enrol again`
            : `collector answered HTTP ${res.status}: ${text.slice(0, 200)}`,
      };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return { kind: 'error', bytes, reason: 'central config is not JSON' };
    }
    const checked = checkCentral(raw);
    if (!checked.doc) return { kind: 'error', bytes, reason: checked.problem ?? 'central config is invalid' };
    const etag = res.headers.etag;
    return {
      kind: 'new',
      doc: checked.doc,
      etag: typeof etag === 'string' ? etag : undefined,
      ignored: checked.ignored,
      bytes,
    };
  } catch (err) {
    return {
      kind: 'error',
      bytes: 0,
      reason: `collector unreachable: ${netErrorCode(err)} (${(err as Error).message})`,
    };
  }
}

/** Every dotted path of the leaves of `obj` (arrays are leaves). */
function leafPaths(obj: Json, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const p = prefix ? `${prefix}.${k}` : k;
    return isObj(v) ? leafPaths(v, p) : [p];
  });
}

function hasPath(obj: Json, path: string): boolean {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (!isObj(cur) || !(k in cur)) return false;
    cur = cur[k];
  }
  return true;
}

function deletePath(obj: Json, path: string): void {
  const keys = path.split('.');
  let cur: unknown = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(cur)) return;
    cur = cur[k];
  }
  if (isObj(cur)) delete cur[keys.at(-1)!];
}

/** True when `path` (or an ancestor of it) is in the allow list. */
export function overrideAllowed(path: string, allow: readonly string[]): boolean {
  return allow.some((a) => path === a || path.startsWith(`${a}.`));
}

/**
 * Lay central settings over the defaults, then the local file and environment over that — except
 * where central sets a key the province does not let the local file override; those local values
 * are dropped and listed in `ignoredLocal`.
 */
export function effectiveConfig(
  local: Json,
  central: AgentCentralConfig | undefined,
  source = 'config',
): { config: AgentConfig; ignoredLocal: string[] } {
  if (!central) {
    return { config: validateConfig(mergeConfig(AGENT_CONFIG_DEFAULTS as Json, local), source), ignoredLocal: [] };
  }
  const kept = structuredClone(local);
  const ignoredLocal: string[] = [];
  for (const p of leafPaths(central.settings as Json)) {
    if (hasPath(kept, p) && !overrideAllowed(p, central.allowLocalOverride)) {
      deletePath(kept, p);
      ignoredLocal.push(p);
    }
  }
  const merged = mergeConfig(mergeConfig(AGENT_CONFIG_DEFAULTS as Json, central.settings as Json), kept);
  return { config: validateConfig(merged, `${source} + central config`), ignoredLocal };
}

export interface LoadedConfig {
  config: AgentConfig;
  /** The central copy in use, if any. */
  central: CentralCache | undefined;
  /** Local keys central config overrode (the province did not allow them). */
  ignoredLocal: string[];
  file: string | undefined;
  /** Test kinds the local file (or environment) names in schedule.tests: these must exist. */
  localKinds: string[];
}

/**
 * The agent's effective config: defaults ← central (last good copy) ← local file ← environment,
 * with the token read from tokenFile.
 */
export function loadAgentConfig(
  opts: {
    file?: string | undefined;
    env?: NodeJS.ProcessEnv;
    /** Use this central copy instead of the one on disk; `null`: none (defaults and local only). */
    central?: CentralCache | null;
  } = {},
): LoadedConfig {
  const env = opts.env ?? process.env;
  const local = loadConfig({ file: opts.file, env });
  const localKinds = Object.keys(local.schedule.tests);
  const central = !local.central.enabled
    ? undefined
    : opts.central === null
      ? undefined
      : (opts.central ?? readCentralCache(local.stateDir));
  if (!central) return { config: local, central: undefined, ignoredLocal: [], file: opts.file, localKinds };
  const fileObj = opts.file
    ? readYamlFile(opts.file, 'Pass --config with the path of the agent YAML file (default /etc/hatang/agent.yaml).')
    : {};
  const raw = mergeConfig(fileObj, envOverrides(env, AgentConfigSchema, 'HATANG'));
  const { config, ignoredLocal } = effectiveConfig(raw, central.doc, opts.file ?? 'config');
  config.collector.token = local.collector.token;
  return { config, central, ignoredLocal, file: opts.file, localKinds };
}
