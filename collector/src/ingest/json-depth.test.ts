import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from './json-depth.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('jsonDepthExceeds', () => {
  it.each([
    { text: '{}', max: 1, deep: false },
    { text: '{"a":[1]}', max: 1, deep: true },
    { text: '{"a":[1]}', max: 2, deep: false },
    { text: '{"a":"[[[[[[["}', max: 1, deep: false }, // brackets inside strings do not count
    { text: '{"a":"\\"[[[["}', max: 1, deep: false }, // nor after an escaped quote
    { text: '{"a":"Chiềng Lề [x]"}', max: 1, deep: false }, // multi-byte UTF-8
    { text: `${'['.repeat(33)}${']'.repeat(33)}`, max: 32, deep: true },
    { text: `${'['.repeat(32)}${']'.repeat(32)}`, max: 32, deep: false },
    { text: '[[],[],[]]', max: 2, deep: false }, // siblings do not add up
  ])('$text (max $max) → $deep', ({ text, max, deep }) => {
    expect(jsonDepthExceeds(b(text), max)).toBe(deep);
  });
});
