import { describe, expect, it } from 'vitest';
import { defaultUserAgent, ndt7Url } from './ndt7.js';

describe('ndt7 URLs', () => {
  it.each([
    ['http://collector.example:8080', 'ws://collector.example:8080/ndt/v7/download'],
    ['https://collector.example', 'wss://collector.example/ndt/v7/download'],
    ['ws://[2001:db8::2]:9000/', 'ws://[2001:db8::2]:9000/ndt/v7/download'],
    ['wss://ndt.example/anything?x=1', 'wss://ndt.example/ndt/v7/download'],
  ])('%s → %s', (base, want) => {
    const u = ndt7Url(base, '/ndt/v7/download');
    expect(u.split('?')[0]).toBe(want);
  });

  it('carries client metadata, and early_exit=250 on the download only', () => {
    const down = new URL(ndt7Url('http://h', '/ndt/v7/download')).searchParams;
    const up = new URL(ndt7Url('http://h', '/ndt/v7/upload')).searchParams;
    expect(down.get('client_name')).toBe('hatang-agent');
    expect(down.get('early_exit')).toBe('250');
    expect(up.get('client_name')).toBe('hatang-agent');
    expect(up.has('early_exit')).toBe(false);
    // Well under the 4096-byte limit the server enforces.
    expect(new URL(ndt7Url('http://h', '/ndt/v7/download')).search.length).toBeLessThan(300);
  });

  it('identifies itself with a meaningful User-Agent', () => {
    expect(defaultUserAgent()).toMatch(/^hatang-agent\/\d+\.\d+\.\d+ \(ndt7; /);
  });
});
