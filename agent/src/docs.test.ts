import { readFileSync } from 'node:fs';
import { AgentConfigSchema } from '@hatang/shared';
import type { TObject, TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { envNames } from './config.js';

const doc = readFileSync(new URL('../../docs/agent.md', import.meta.url), 'utf8');

/** The sections docs/agent.md documents key by key (other areas document their own sections). */
const SECTIONS = [
  'collector',
  'agent',
  'stateDir',
  'servers',
  'speed',
  'uplink',
  'log',
  'ipv6',
  'schedule',
  'budget',
  'outbox',
  'central',
];

function keys(schema: TSchema, prefix: string): string[] {
  const s = schema as TObject & { type?: string; patternProperties?: Record<string, TSchema> };
  if (s.patternProperties) {
    const entry = Object.values(s.patternProperties)[0] as TObject;
    return Object.keys(entry.properties).map((k) => `${prefix}.<kind>.${k}`);
  }
  if (s.type !== 'object' || !s.properties) return [prefix];
  return Object.entries(s.properties).flatMap(([k, v]) => keys(v as TSchema, `${prefix}.${k}`));
}

describe('docs/agent.md', () => {
  it('documents every key of the agent config sections it covers', () => {
    const props = (AgentConfigSchema as TObject).properties;
    const all = SECTIONS.flatMap((sec) => keys(props[sec] as TSchema, sec));
    const missing = all.filter((k) => !doc.includes(`\`${k}\``));
    expect(missing).toEqual([]);
    expect(all.length).toBeGreaterThan(30);
  });

  it('documents every environment variable of those sections', () => {
    const prefixes = SECTIONS.map((s) => `HATANG_${s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`);
    const names = envNames().filter((n) => prefixes.some((p) => n === p || n.startsWith(`${p}_`)));
    const missing = names.filter((n) => !doc.includes(`\`${n}\``));
    expect(missing).toEqual([]);
    expect(names.length).toBeGreaterThan(25);
  });
});
