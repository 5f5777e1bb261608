import { MAX_UP_SAMPLES, SAMPLE_INTERVAL_MS, type SpeedUpResponse } from '@hatang/shared';

/** Server clock for uploads: epoch ms with sub-ms resolution, monotonic within the process. */
export function serverNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Records what an upload body delivered and when, on the server clock: total bytes, first and
 * last byte times, and cumulative samples about every 100 ms. Past MAX_UP_SAMPLES it drops every
 * other sample and doubles the interval, so the answer stays small however long the body runs.
 */
export class UploadRecorder {
  bytes = 0;
  firstByteAt = 0;
  lastByteAt = 0;
  #samples: [number, number][] = [];
  #interval = SAMPLE_INTERVAL_MS;

  add(n: number, t = serverNow()): void {
    if (n <= 0) return;
    if (this.bytes === 0) this.firstByteAt = t;
    this.bytes += n;
    this.lastByteAt = t;
    const rel = t - this.firstByteAt;
    const prev = this.#samples[this.#samples.length - 1];
    if (!prev || rel - prev[0] >= this.#interval) {
      this.#samples.push([round1(rel), this.bytes]);
      if (this.#samples.length > MAX_UP_SAMPLES) {
        this.#samples = this.#samples.filter((_, i) => i % 2 === 0);
        this.#interval *= 2;
      }
    }
  }

  answer(): SpeedUpResponse {
    const durationMs = this.bytes === 0 ? 0 : round1(this.lastByteAt - this.firstByteAt);
    const samples = this.#samples.slice();
    const last = samples[samples.length - 1];
    if (this.bytes > 0) {
      if (last && last[0] === durationMs) last[1] = this.bytes;
      else samples.push([durationMs, this.bytes]);
    }
    return {
      bytes: this.bytes,
      durationMs,
      firstByteAt: round1(this.firstByteAt),
      lastByteAt: round1(this.lastByteAt),
      samples,
    };
  }
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}
