import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper shared with bench/
import { createLink, requireNetns, tcpCeilingBps } from '../helpers/netns.mjs';

const ns = requireNetns('netns test bed');

describe.skipIf(!!ns.skip)('netns test bed', () => {
  const link = ns.skip ? undefined : createLink({ downMbps: 40, upMbps: 10 });
  afterAll(() => link?.close());

  it('joins two namespaces over IPv4 and IPv6', () => {
    expect(link!.exec(link!.client, ['ping', '-c', '1', '-W', '2', link!.addr.server4])).toContain('1 received');
    expect(link!.exec(link!.client, ['ping', '-6', '-c', '1', '-W', '2', link!.addr.server6])).toContain('1 received');
  });

  it('computes the TCP goodput ceiling of a 1500-byte MTU link', () => {
    expect(tcpCeilingBps(40) / 1e6).toBeCloseTo((40 * 1448) / 1514, 6);
  });
});
