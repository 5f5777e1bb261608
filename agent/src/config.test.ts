import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

const fixtures = join(import.meta.dirname, '../test/fixtures/config');
const f = (name: string) => join(fixtures, name);

describe('agent config', () => {
  it('loads a good file with defaults filled in', () => {
    const c = loadConfig({ file: f('good.yml'), env: {} });
    expect(c.collector.url).toBe('http://127.0.0.1:8080');
    expect(c.speed).toMatchObject({ profile: 'fixed', downloadStreams: 8, uploadStreams: 4, windowMs: 10_000 });
    expect(c.uplink.batchSize).toBe(500);
  });

  it('takes environment overrides, typed by the schema', () => {
    const c = loadConfig({
      file: f('good.yml'),
      env: { HATANG_SPEED_WINDOW_MS: '5000', HATANG_AGENT_ACCESS: 'mobile' },
    });
    expect(c.speed.windowMs).toBe(5000);
    expect(c.agent.access).toBe('mobile');
  });

  // blackbox_exporter style: one invalid file per mistake, each with its exact message.
  it.each([
    ['invalid-unknown-key.yml', 'collector.ulr is not allowed (unknown field)'],
    ['invalid-url.yml', 'collector.url must be an http:// or https:// URL'],
    ['invalid-access.yml', 'agent.access must be one of "fixed", "mobile"'],
    ['invalid-window.yml', 'speed.windowMs must be >= 1000'],
    ['invalid-missing-url.yml', 'collector.url is required'],
  ])('%s → exact message naming the key', (file, message) => {
    expect(() => loadConfig({ file: f(file), env: {} })).toThrowError(`${f(file)}: ${message}`);
  });

  it('says which file is not YAML, or not a mapping, or missing', () => {
    expect(() => loadConfig({ file: f('invalid-yaml.yml'), env: {} })).toThrowError(/invalid-yaml.yml: not valid YAML/);
    expect(() => loadConfig({ file: f('invalid-top-level.yml'), env: {} })).toThrowError(
      `${f('invalid-top-level.yml')}: the top level must be a mapping of keys`,
    );
    expect(() => loadConfig({ file: f('nope.yml'), env: {} })).toThrowError(`cannot read config file ${f('nope.yml')}`);
  });

  it('rejects a bad environment value naming the key', () => {
    expect(() => loadConfig({ file: f('good.yml'), env: { HATANG_SPEED_WINDOW_MS: 'soon' } })).toThrowError(
      'speed.windowMs must be an integer',
    );
  });
});
