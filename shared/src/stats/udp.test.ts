import { describe, expect, it } from 'vitest';
import { udpSummary } from './udp.js';

describe('udpSummary (packet loss train)', () => {
  it('counts lost packets and summarises answered RTTs in send order', () => {
    expect(udpSummary([10, undefined, 12, 11, undefined])).toEqual({
      sent: 5,
      received: 3,
      lossPct: 40,
      rttMinMs: 10,
      rttMedianMs: 11,
      rttP90Ms: 11.8,
      jitterMs: 1.5, // |12−10|, |11−12|
    });
  });
  it('nothing sent: 0 % loss and no RTTs', () => {
    expect(udpSummary([])).toEqual({ sent: 0, received: 0, lossPct: 0 });
  });
  it('everything lost: 100 % and no RTT figures', () => {
    expect(udpSummary([undefined, undefined])).toEqual({ sent: 2, received: 0, lossPct: 100 });
  });
  it('one answered packet: jitter 0', () => {
    expect(udpSummary([3])).toMatchObject({ sent: 1, received: 1, lossPct: 0, rttMedianMs: 3, jitterMs: 0 });
  });
  it('ties and an outlier', () => {
    const s = udpSummary([5, 5, 5, 5, 5, 5, 5, 5, 5, 400]);
    expect(s.rttMedianMs).toBe(5);
    expect(s.rttP90Ms).toBeCloseTo(44.5, 6);
    expect(s.lossPct).toBe(0);
  });
  it('rounds the loss share to 0.01 %', () => {
    const rtts: (number | undefined)[] = Array.from({ length: 3000 }, () => 1);
    rtts[0] = undefined;
    expect(udpSummary(rtts).lossPct).toBe(0.03);
  });
  it('ignores non-finite RTTs as lost', () => {
    expect(udpSummary([1, Number.NaN]).received).toBe(1);
  });
});
