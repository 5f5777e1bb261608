import {
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  CollectorConfigSchema,
  type ConfigSpec,
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
  return loadConfigWith(COLLECTOR_CONFIG_SPEC, {
    ...opts,
    fileHint: 'Pass --config with the path of the collector YAML file (default /etc/hatang/collector.yaml).',
  });
}
