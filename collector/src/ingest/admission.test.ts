import { describe, expect, it } from 'vitest';
import {
  type AdmissionOptions,
  IngestAdmission,
  SATURATED_INGEST_SHARE,
  SCHEDULE_PACE_SHARE,
  SHED_MIN_ARRIVALS,
} from './admission.js';

const opts = (o: Partial<AdmissionOptions> = {}): AdmissionOptions => ({
  maxInFlight: 4,
  retryAfterMinS: 1,
  retryAfterMaxS: 60,
  maxEventLoopUtilization: 0.9,
  random: () => 0.5,
  ...o,
});

/** Serve n requests of `ms` handler time each, one after another from `t`; returns the end time. */
function serve(a: IngestAdmission, n: number, ms: number, t: number): number {
  let at = t;
  for (let i = 0; i < n; i++) {
    expect(a.arrive(at).admit).toBe(true);
    a.served(ms);
    a.complete();
    at += ms;
  }
  return at;
}

/** Make the next window saturated: SHED_MIN_ARRIVALS arrivals, then a busy loop. */
function saturate(a: IngestAdmission, t: number): void {
  for (let i = 0; i < SHED_MIN_ARRIVALS; i++) {
    a.arrive(t);
    a.complete();
  }
  a.window(t, 0.99);
}

describe('IngestAdmission: concurrency gate', () => {
  it('admits up to maxInFlight at once and frees a slot per completion', () => {
    const a = new IngestAdmission(opts());
    for (let i = 0; i < 4; i++) expect(a.arrive(0)).toEqual({ admit: true });
    expect(a.arrive(0)).toMatchObject({ admit: false, reason: 'in-flight' });
    a.complete();
    expect(a.arrive(0)).toEqual({ admit: true });
    expect(a.state).toMatchObject({ inFlight: 4, shed: 1 });
  });

  it('never lets inFlight go below zero on a stray completion', () => {
    const a = new IngestAdmission(opts());
    a.complete();
    expect(a.state.inFlight).toBe(0);
  });

  it('refuses a configuration whose minimum is above its maximum', () => {
    expect(() => new IngestAdmission(opts({ retryAfterMinS: 10, retryAfterMaxS: 5 }))).toThrow(/retryAfterMinS/);
  });
});

describe('IngestAdmission: capacity', () => {
  it('is 1 ÷ the moving average of handler times', () => {
    const a = new IngestAdmission(opts());
    expect(a.state).toMatchObject({ costMs: 0, capacityPerS: 0 });
    a.served(4);
    expect(a.state).toMatchObject({ costMs: 4, capacityPerS: 250 });
    for (let i = 0; i < 200; i++) a.served(10);
    expect(a.state.costMs).toBeCloseTo(10, 3);
    expect(a.state.capacityPerS).toBeCloseTo(100, 1);
  });

  it('ignores unknown (zero or negative) handler times', () => {
    const a = new IngestAdmission(opts());
    a.served(0);
    a.served(-1);
    a.served(Number.NaN);
    expect(a.state.costMs).toBe(0);
  });
});

describe('IngestAdmission: Retry-After schedule', () => {
  it('before any request was served, paces refused agents at maxInFlight a second from the minimum', () => {
    const a = new IngestAdmission(opts({ maxInFlight: 5, retryAfterMinS: 2 }));
    for (let i = 0; i < 5; i++) a.arrive(0);
    const after = Array.from({ length: 8 }, () => {
      const d = a.arrive(0);
      return d.admit ? -1 : d.retryAfterS;
    });
    // SCHEDULE_PACE_SHARE (0.75) × 5 = 3.75 a second: slots at 2.00, 2.27, 2.53, 2.80, 3.07, … s,
    // rounded up to whole seconds.
    expect(SCHEDULE_PACE_SHARE).toBe(0.75);
    expect(after).toEqual([2, 3, 3, 3, 4, 4, 4, 4]);
  });

  it('paces refused agents at SCHEDULE_PACE_SHARE of the measured capacity', () => {
    const a = new IngestAdmission(opts({ maxInFlight: 1, retryAfterMinS: 1 }));
    a.served(5); // 200 requests/s → returns paced at 150/s
    expect(a.arrive(0).admit).toBe(true);
    const counts = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const d = a.arrive(0);
      if (!d.admit) counts.set(d.retryAfterS, (counts.get(d.retryAfterS) ?? 0) + 1);
    }
    const perSecond = 200 * SCHEDULE_PACE_SHARE;
    // The first slot is at exactly +1 s; every later whole second holds `perSecond` of them.
    expect(counts.get(1)).toBe(1);
    for (const s of [2, 3, 4, 5]) expect(counts.get(s)).toBeCloseTo(perSecond, -0.5);
    expect([...counts.values()].reduce((x, y) => x + y)).toBe(1000);
  });

  it('spreads agents over the whole range once the schedule is full up to the maximum', () => {
    let r = 0;
    const a = new IngestAdmission(
      opts({ maxInFlight: 1, retryAfterMinS: 1, retryAfterMaxS: 3, random: () => (r = (r + 0.37) % 1) }),
    );
    a.served(1000 * SCHEDULE_PACE_SHARE); // paced at one a second
    a.arrive(0);
    const after: number[] = [];
    for (let i = 0; i < 40; i++) {
      const d = a.arrive(0);
      if (!d.admit) after.push(d.retryAfterS);
    }
    // Slots at 1, 2, 3 s, then random draws within [1, 3].
    expect(after.slice(0, 3)).toEqual([1, 2, 3]);
    expect(new Set(after.slice(3))).toEqual(new Set([1, 2, 3]));
  });

  it('starts again from the minimum once the storm has passed', () => {
    const a = new IngestAdmission(opts({ maxInFlight: 1, retryAfterMinS: 5 }));
    a.arrive(0);
    for (let i = 0; i < 10; i++) a.arrive(0);
    expect(a.arrive(120_000)).toMatchObject({ admit: false, retryAfterS: 5 });
  });
});

describe('IngestAdmission: saturation gate', () => {
  it('does not shed on a busy loop with few ingest requests (a long report query)', () => {
    const a = new IngestAdmission(opts({ maxInFlight: 1000 }));
    for (let i = 0; i < SHED_MIN_ARRIVALS - 1; i++) a.arrive(0);
    a.window(250, 1);
    expect(a.state.saturated).toBe(false);
    serve(a, 50, 10, 250);
  });

  it('while saturated, gives ingest handlers at most SATURATED_INGEST_SHARE of the time and refuses the rest', () => {
    const a = new IngestAdmission(opts({ maxInFlight: 1000 }));
    saturate(a, 0);
    expect(a.state.saturated).toBe(true);
    // Requests arrive every 1 ms, each costing 4 ms of handler time when admitted.
    let admitted = 0;
    let refused = 0;
    for (let t = 0; t < 1000; t++) {
      const d = a.arrive(t);
      if (d.admit) {
        admitted++;
        a.served(4);
        a.complete();
      } else {
        refused++;
        expect(d.reason).toBe('saturated');
      }
    }
    // Over 1 s at most half (plus the one in progress) went to handlers: ≈ 125 requests of 4 ms.
    expect(admitted * 4).toBeLessThanOrEqual(SATURATED_INGEST_SHARE * 1000 + 4);
    expect(admitted * 4).toBeGreaterThanOrEqual(SATURATED_INGEST_SHARE * 1000 - 4);
    expect(refused).toBe(1000 - admitted);
  });

  it('lifts the gate as soon as the loop is no longer saturated', () => {
    const a = new IngestAdmission(opts({ maxInFlight: 1000 }));
    saturate(a, 0);
    a.window(250, 0.3);
    expect(a.state.saturated).toBe(false);
    serve(a, 200, 10, 250);
  });

  it('is off at maxEventLoopUtilization 1', () => {
    const a = new IngestAdmission(opts({ maxInFlight: 1000, maxEventLoopUtilization: 1 }));
    for (let i = 0; i < 100; i++) a.arrive(0);
    a.window(250, 1);
    expect(a.state.saturated).toBe(false);
  });
});
