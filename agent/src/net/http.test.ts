import { describe, expect, it } from 'vitest';
import { familyOf, serverTimingMs } from './http.js';

describe('serverTimingMs', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['app;dur=1.25', 1.25],
    ['recv;dur=900, app;dur=0.5', 0.5],
    ['app;desc="x";dur=2', 2],
    ['app;dur="3.5"', 3.5],
    ['app;dur=1, app;dur=2', 3],
    ['cfRequestDuration;dur=12', undefined],
    ['app;dur=abc', undefined],
    [['app;dur=1', 'app;dur=2'], 3],
  ])('%s → %s', (header, want) => {
    expect(serverTimingMs(header as string | string[] | undefined)).toBe(want);
  });
});

describe('familyOf', () => {
  it('tells IPv6 by its colons', () => {
    expect(familyOf('::1')).toBe(6);
    expect(familyOf('198.18.1.2')).toBe(4);
    expect(familyOf(undefined)).toBe(4);
  });
});
