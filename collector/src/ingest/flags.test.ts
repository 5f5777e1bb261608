import { RESULT_FLAGS as F } from '@hatang/shared';
import { describe, expect, it } from 'vitest';
import { resultFlags } from './flags.js';

const T = Date.parse('2026-11-28T05:00:00Z');

describe('resultFlags', () => {
  it.each([
    { name: 're-based, clock right', r: { trusted: true, wallAt: T, skewMs: 1000 }, flags: 0 },
    { name: 're-based, clock 1 h off', r: { trusted: true, wallAt: T, skewMs: 3_600_000 }, flags: F.CLOCK_SKEW },
    {
      name: 'untrusted, plausible',
      r: { trusted: false, wallAt: T - 3_600_000, skewMs: undefined },
      flags: F.TIME_UNTRUSTED,
    },
    {
      name: 'untrusted, 1970 (no RTC)',
      r: { trusted: false, wallAt: 60_000, skewMs: undefined },
      flags: F.TIME_UNTRUSTED | F.TIME_IMPLAUSIBLE,
    },
    {
      name: 'untrusted, in the future',
      r: { trusted: false, wallAt: T + 3_600_000, skewMs: undefined },
      flags: F.TIME_UNTRUSTED | F.TIME_IMPLAUSIBLE,
    },
  ])('$name', ({ r, flags }) => {
    expect(resultFlags({ ...r, receivedAt: T, agentLimited: false })).toBe(flags);
    expect(resultFlags({ ...r, receivedAt: T, agentLimited: true })).toBe(flags | F.AGENT_LIMITED);
  });
});
