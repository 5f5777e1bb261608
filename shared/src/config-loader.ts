import { readFileSync } from 'node:fs';
import type { TObject, TSchema } from '@sinclair/typebox';
import { parse as parseYaml } from 'yaml';
import { HatangError } from './errors.js';
import { Validator } from './validate.js';

/**
 * Config loading shared by agent and collector: defaults ← YAML file ← environment, validated
 * with unknown keys rejected (blackbox_exporter's KnownFields) and messages that name the key.
 */

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars from `over` replace. */
export function mergeConfig(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObj(v) && isObj(out[k]) ? mergeConfig(out[k] as Json, v) : v;
  }
  return out;
}

/** "collector.url" from "/collector/url". */
export function dottedPath(path: string): string {
  return path.replace(/^\//, '').replaceAll('/', '.') || '(top level)';
}

function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function scalarOf(s: TSchema & { type?: string }, raw: string): unknown {
  if (s.type === 'integer' || s.type === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (s.type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  return raw;
}

/**
 * Environment overrides: every scalar key has a variable PREFIX_<PATH>, e.g. collector.url →
 * HATANG_COLLECTOR_URL, speed.windowMs → HATANG_SPEED_WINDOW_MS. Arrays are not overridable.
 */
export function envOverrides(env: NodeJS.ProcessEnv, schema: TSchema, prefix = 'HATANG'): Json {
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
    out[key] = scalarOf(s, raw);
  }
  return out;
}

/** Names of every environment variable a schema reads, for docs and `config check`. */
export function envNames(schema: TSchema, prefix = 'HATANG'): string[] {
  const props = (schema as TObject).properties ?? {};
  return Object.entries(props).flatMap(([key, sub]) => {
    const s = sub as TSchema & { type?: string };
    const name = `${prefix}_${snake(key)}`;
    if (s.type === 'object') return envNames(s, name);
    return s.type === 'array' ? [] : [name];
  });
}

export interface ConfigSpec<T> {
  schema: TSchema;
  defaults: unknown;
  /** Environment prefix, e.g. HATANG. */
  envPrefix: string;
  /** What the hint tells the user to read. */
  docs: string;
  /** Phantom for the static type. */
  readonly _t?: T;
}

/** Validate a merged config object; the error names the bad key: `agent.yaml: speed.windowMs must be >= 1000`. */
export function validateConfigWith<T>(spec: ConfigSpec<T>, value: unknown, source: string): T {
  const v = new Validator(spec.schema);
  if (v.is(value)) return value as T;
  const problems = v.problems(value, 5);
  const lines = problems.map((p) => `${dottedPath(p.path)} ${p.message}`);
  throw new HatangError('HATANG_ERR_CONFIG', `${source}: ${lines.length ? lines.join('; ') : 'is invalid'}`, {
    hint: `See ${spec.docs} for every key and its allowed values.`,
    details: { problems },
  });
}

/** Read a YAML mapping; errors say which file and why. */
export function readYamlFile(file: string, hint: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new HatangError('HATANG_ERR_CONFIG_NOT_FOUND', `cannot read config file ${file}`, { cause, hint });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (cause) {
    throw new HatangError('HATANG_ERR_CONFIG', `${file}: not valid YAML: ${(cause as Error).message}`, { cause });
  }
  if (parsed !== null && parsed !== undefined && !isObj(parsed)) {
    throw new HatangError('HATANG_ERR_CONFIG', `${file}: the top level must be a mapping of keys`);
  }
  return (parsed as Json | null) ?? {};
}

/** Defaults ← file ← environment ← explicit overrides (CLI flags), validated. */
export function loadConfigWith<T>(
  spec: ConfigSpec<T>,
  opts: { file?: string | undefined; env?: NodeJS.ProcessEnv; overrides?: Json; fileHint?: string } = {},
): T {
  const fromFile = opts.file
    ? readYamlFile(opts.file, opts.fileHint ?? 'Pass --config with the path of the YAML file.')
    : {};
  let merged = mergeConfig(spec.defaults as Json, fromFile);
  merged = mergeConfig(merged, envOverrides(opts.env ?? process.env, spec.schema, spec.envPrefix));
  if (opts.overrides) merged = mergeConfig(merged, opts.overrides);
  return validateConfigWith(spec, merged, opts.file ?? 'config');
}
