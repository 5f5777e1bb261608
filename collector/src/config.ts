import {
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  CollectorConfigSchema,
  type ConfigSpec,
  HatangError,
  loadConfigWith,
} from '@hatang/shared';

export const COLLECTOR_CONFIG_SPEC: ConfigSpec<CollectorConfig> = {
  schema: CollectorConfigSchema,
  defaults: COLLECTOR_CONFIG_DEFAULTS,
  envPrefix: 'HATANG',
  docs: 'docs/collector.md',
};

/** Defaults ← YAML file ← environment (HATANG_SERVER_PORT, …) ← CLI flags, validated. */
export function loadCollectorConfig(
  opts: { file?: string | undefined; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> } = {},
): CollectorConfig {
  const config = loadConfigWith(COLLECTOR_CONFIG_SPEC, {
    ...opts,
    fileHint: 'Pass --config with the path of the collector YAML file (default /etc/hatang/collector.yaml).',
  });
  // Cross-key rules the schema cannot say.
  if (config.load.retryAfterMinS > config.load.retryAfterMaxS) {
    throw new HatangError(
      'HATANG_ERR_CONFIG',
      `load.retryAfterMinS (${config.load.retryAfterMinS}) is above load.retryAfterMaxS (${config.load.retryAfterMaxS})`,
      { hint: 'Set load.retryAfterMinS at most load.retryAfterMaxS (defaults 1 and 120).' },
    );
  }
  return config;
}
