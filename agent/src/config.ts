import { readFileSync } from 'node:fs';
import {
  AGENT_CONFIG_DEFAULTS,
  type AgentConfig,
  AgentConfigSchema,
  type ConfigSpec,
  envNames as envNamesOf,
  HatangError,
  loadConfigWith,
  validateConfigWith,
} from '@hatang/shared';

export const AGENT_CONFIG_SPEC: ConfigSpec<AgentConfig> = {
  schema: AgentConfigSchema,
  defaults: AGENT_CONFIG_DEFAULTS,
  envPrefix: 'HATANG',
  docs: 'docs/agent.md',
};

/** The names of every environment variable the agent reads. */
export function envNames(): string[] {
  return envNamesOf(AgentConfigSchema);
}

export function validateConfig(value: unknown, source = 'config'): AgentConfig {
  return checkNdt7(validateConfigWith(AGENT_CONFIG_SPEC, value, source), source);
}

/** M-Lab mode needs the data policy accepted in so many words (docs/ndt7.md). */
function checkNdt7(cfg: AgentConfig, source: string): AgentConfig {
  if (cfg.ndt7?.mlab && !cfg.ndt7.acceptMlabDataPolicy) {
    throw new HatangError(
      'HATANG_ERR_CONFIG',
      `${source}: ndt7.mlab is true but ndt7.acceptMlabDataPolicy is not: M-Lab publishes every result with the client's IP address`,
      {
        hint: "Read M-Lab's privacy policy, then set ndt7.acceptMlabDataPolicy: true — or set ndt7.mlab: false to test against the province only.",
      },
    );
  }
  return cfg;
}

export interface LoadConfigOptions {
  /** YAML file path; when absent only defaults and environment apply. */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/** Defaults ← YAML file ← environment, validated, with the token read from tokenFile if given. */
export function loadConfig(opts: LoadConfigOptions = {}): AgentConfig {
  const cfg = loadConfigWith(AGENT_CONFIG_SPEC, {
    file: opts.file,
    env: opts.env ?? process.env,
    fileHint: 'Pass --config with the path of the agent YAML file (default /etc/hatang/agent.yaml).',
  });
  checkNdt7(cfg, opts.file ?? 'config');
  if (!cfg.collector.token && cfg.collector.tokenFile) {
    try {
      cfg.collector.token = readFileSync(cfg.collector.tokenFile, 'utf8').trim();
    } catch (cause) {
      throw new HatangError(
        'HATANG_ERR_CONFIG',
        `${opts.file ?? 'config'}: collector.tokenFile ${cfg.collector.tokenFile} cannot be read`,
        { cause, hint: 'Enrol the agent first: hatang-agent enroll --collector URL --code CODE' },
      );
    }
  }
  return cfg;
}
