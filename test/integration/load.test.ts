import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM module shared with bench/load.mjs
import { runLoad } from '../../bench/load-lib.mjs';

// Short form of `pnpm bench:load`: a reconnect storm of 600 agents with full outboxes against one
// collector process (built dist/). The collector must shed with 429 + Retry-After instead of
// failing, keep latency and memory bounded, and in the end hold every result exactly once.
describe('reconnect storm (short form of bench:load)', () => {
  it('sheds load with 429 and Retry-After, then drains every backlog exactly once', async () => {
    const r = await runLoad({
      agents: 600,
      perAgent: 40,
      batch: 20,
      maxInFlight: 4,
      retryAfterMinS: 1,
      retryAfterMaxS: 2,
    });
    console.log(
      `load short form: ${r.expected} results in ${r.seconds.toFixed(1)} s (${r.resultsPerSecond.toFixed(0)}/s), ` +
        `p99 ok ${r.p99OkMs.toFixed(0)} ms, first answer p99 ${r.p99FirstAnswerMs.toFixed(0)} ms, ` +
        `shed ${r.shed} (in flight ${r.shedInFlight}, saturated ${r.shedSaturated}), peak RSS ${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(r.other).toBe(0); // no 5xx or other failure
    expect(r.errors).toBe(0);
    expect(r.shed).toBeGreaterThan(0); // it did shed
    expect(r.retryAfterMissing).toBe(0); // and always said when to come back
    expect(r.stored).toBe(r.expected); // nothing lost, nothing twice
    expect(r.rejected).toBe(0);
    expect(r.peakRssBytes).toBeLessThan(400 * 2 ** 20);
    expect(r.p99OkMs).toBeLessThan(5_000);
    expect(r.p99FirstAnswerMs).toBeLessThan(5_000); // every agent heard back within seconds
    expect(r.shedInFlight + r.shedSaturated).toBe(r.shed); // the collector counted each 429 it gave, by reason
  }, 180_000);
});
