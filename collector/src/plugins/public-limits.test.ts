import { describe, expect, it } from 'vitest';
import { clientKey } from './public-limits.js';

describe('clientKey: the address public limits are kept under', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:198.18.0.7', '198.18.0.7'],
    ['2001:db8:1:2:aaaa:bbbb:cccc:dddd', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002:0:0:0:9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
  ])('%s → %s', (addr, key) => {
    expect(clientKey(addr)).toBe(key);
  });

  it('puts every address of one /64 under one key, and neighbouring /64s under others', () => {
    expect(clientKey('2001:db8:5:6::a')).toBe(clientKey('2001:db8:5:6:ffff::1'));
    expect(clientKey('2001:db8:5:6::a')).not.toBe(clientKey('2001:db8:5:7::a'));
  });
});
