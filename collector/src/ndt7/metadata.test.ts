import { NDT7_MAX_QUERY_BYTES } from '@hatang/shared';
import { describe, expect, it } from 'vitest';
import { parseNdt7Query } from './metadata.js';

describe('ndt7 query-string metadata', () => {
  it('empty query: no metadata', () => {
    expect(parseNdt7Query('')).toEqual({ ok: true, metadata: {}, accessToken: undefined, earlyExit: false });
    expect(parseNdt7Query('?')).toMatchObject({ ok: true, metadata: {} });
  });

  it('keeps client metadata, decoded', () => {
    const r = parseNdt7Query('?client_name=hatang-agent&client_version=0.1.0&note=x%20y+z&empty=');
    expect(r).toMatchObject({
      ok: true,
      metadata: { client_name: 'hatang-agent', client_version: '0.1.0', note: 'x y z', empty: '' },
    });
  });

  it('ignores duplicate keys: the first value wins', () => {
    expect(parseNdt7Query('a=1&a=2&b=3')).toMatchObject({ ok: true, metadata: { a: '1', b: '3' } });
  });

  it('ignores server_ keys and never stores access_token', () => {
    const r = parseNdt7Query('server_x=1&access_token=secret&client_name=c');
    expect(r).toEqual({ ok: true, metadata: { client_name: 'c' }, accessToken: 'secret', earlyExit: false });
  });

  it('accepts early_exit=250 only', () => {
    expect(parseNdt7Query('early_exit=250')).toMatchObject({ ok: true, earlyExit: true });
    const bad = parseNdt7Query('early_exit=100');
    expect(bad).toEqual({ ok: false, message: expect.stringContaining('early_exit must be 250') });
  });

  it('refuses a query past 4096 bytes, and takes one of exactly 4096', () => {
    const at = `k=${'v'.repeat(NDT7_MAX_QUERY_BYTES - 2)}`;
    expect(parseNdt7Query(at)).toMatchObject({ ok: true });
    const over = parseNdt7Query(`${at}v`);
    expect(over).toEqual({ ok: false, message: 'query string is 4097 bytes; ndt7 allows at most 4096' });
  });

  it('refuses malformed percent-encoding', () => {
    expect(parseNdt7Query('a=%E0%A4%A')).toEqual({
      ok: false,
      message: expect.stringContaining('not valid URL-encoded'),
    });
  });

  it('does not let a key named __proto__ reach the prototype', () => {
    const r = parseNdt7Query('__proto__=x&constructor=y');
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(Object.getPrototypeOf(r.metadata)).toBe(Object.prototype);
      expect(r.metadata.constructor).toBe('y');
    }
  });
});
