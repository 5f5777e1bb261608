import { readFileSync } from 'node:fs';
import { AGENT_CONFIG_DEFAULTS, type AgentConfig, AgentConfigSchema, HatangError, Validator } from '@hatang/shared';
import type { TObject, TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';

const validator = new Validator(AgentConfigSchema);

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars from `over` replace. */
export function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObj(v) && isObj(out[k]) ? merge(out[k] as Json, v) : v;
  }
  return out;
}

/** "collector.url" from "/collector/url". */
function dotted(path: string): string {
  return path.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
}

function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/**
 * Environment overrides: every scalar key has a variable HATANG_<PATH>, e.g. collector.url →
 * HATANG_COLLECTOR_URL, speed.windowMs → HATANG_SPEED_WINDOW_MS. Returns the overrides as an object.
 */
export function envOverrides(env: NodeJS.ProcessEnv, schema: TSchema = AgentConfigSchema, prefix = 'HATANG'): Json {
  const out: Json = {};
  const props = (schema as TObject).properties ?? {};
  for (const [key, sub] of Object.entries(props)) {
    const name = `${prefix}_${snake(key)}`;
    const s = sub as TSchema & { type?: string };
    if (s.type === 'object') {
      const nested = envOverrides(env, s, name);
      if (Object.keys(nested).length) out[key] = nested;
      continue;
    }
    const raw = env[name];
    if (raw === undefined || s.type === 'array') continue;
    out[key] = s.type === 'integer' || s.type === 'number' ? Number(raw) : s.type === 'boolean' ? raw === 'true' : raw;
  }
  return out;
}

/** The names of every environment variable the agent reads, for docs and `config check`. */
export function envNames(schema: TSchema = AgentConfigSchema, prefix = 'HATANG'): string[] {
  const props = (schema as TObject).properties ?? {};
  return Object.entries(props).flatMap(([key, sub]) => {
    const s = sub as TSchema & { type?: string };
    const name = `${prefix}_${snake(key)}`;
    if (s.type === 'object') return envNames(s, name);
    return s.type === 'array' ? [] : [name];
  });
}

/** Validate a merged config object; the error names the bad key, e.g. `config: speed.windowMs must be >= 1000`. */
export function validateConfig(value: unknown, source = 'config'): AgentConfig {
  if (validator.is(value)) return value as AgentConfig;
  const problems = validator.problems(value, 5);
  const first = problems[0];
  const lines = problems.map((p) => `${dotted(p.path)} ${p.message}`);
  throw new HatangError('HATANG_ERR_CONFIG', `${source}: ${first ? lines.join('; ') : 'is invalid'}`, {
    hint: 'See docs/agent.md for every key and its allowed values.',
    details: { problems },
  });
}

export interface LoadConfigOptions {
  /** YAML file path; when absent only defaults and environment apply. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Defaults ← YAML file ← environment, validated, with the token read from tokenFile if given. */
export function loadConfig(opts: LoadConfigOptions = {}): AgentConfig {
  let fileValues: Json = {};
  const source = opts.file ?? 'config';
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (cause) {
      throw new HatangError('HATANG_ERR_CONFIG_NOT_FOUND', `cannot read config file ${opts.file}`, {
        cause,
        hint: 'Pass --config with the path of the agent YAML file (default /etc/hatang/agent.yaml).',
      });
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text);
    } catch (cause) {
      throw new HatangError('HATANG_ERR_CONFIG', `${opts.file}: not valid YAML: ${(cause as Error).message}`, {
        cause,
      });
    }
    if (parsed !== null && parsed !== undefined && !isObj(parsed)) {
      throw new HatangError('HATANG_ERR_CONFIG', `${opts.file}: the top level must be a mapping of keys`);
    }
    fileValues = (parsed as Json | null) ?? {};
  }
  const merged = merge(
    merge(AGENT_CONFIG_DEFAULTS as unknown as Json, fileValues),
    envOverrides(opts.env ?? process.env),
  );
  const cfg = validateConfig(merged, source);
  if (!cfg.collector.token && cfg.collector.tokenFile) {
    try {
      cfg.collector.token = readFileSync(cfg.collector.tokenFile, 'utf8').trim();
    } catch (cause) {
      throw new HatangError(
        'HATANG_ERR_CONFIG',
        `${source}: collector.tokenFile ${cfg.collector.tokenFile} cannot be read`,
        {
          cause,
          hint: 'Enrol the agent first: hatang-agent enroll --collector URL --code CODE',
        },
      );
    }
  }
  return cfg;
}
