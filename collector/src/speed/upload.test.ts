import { MAX_UP_SAMPLES } from '@hatang/shared';
import { describe, expect, it } from 'vitest';
import { UploadRecorder } from './upload.js';

describe('UploadRecorder', () => {
  it('records nothing for an empty body', () => {
    expect(new UploadRecorder().answer()).toEqual({
      bytes: 0,
      durationMs: 0,
      firstByteAt: 0,
      lastByteAt: 0,
      samples: [],
    });
  });
  it('one chunk: one sample at 0 with its bytes', () => {
    const r = new UploadRecorder();
    r.add(500, 1000);
    expect(r.answer()).toEqual({ bytes: 500, durationMs: 0, firstByteAt: 1000, lastByteAt: 1000, samples: [[0, 500]] });
  });
  it('samples about every 100 ms and always ends at [durationMs, bytes]', () => {
    const r = new UploadRecorder();
    for (let t = 0; t <= 1000; t += 10) r.add(100, 5000 + t);
    const a = r.answer();
    expect(a.bytes).toBe(10_100);
    expect(a.durationMs).toBe(1000);
    expect(a.samples.length).toBe(11);
    expect(a.samples[1]).toEqual([100, 1100]);
    expect(a.samples.at(-1)).toEqual([1000, 10_100]);
  });
  it('ignores empty chunks', () => {
    const r = new UploadRecorder();
    r.add(0, 1);
    expect(r.answer().bytes).toBe(0);
  });
  it('keeps at most MAX_UP_SAMPLES + 1 samples however long the body runs, still spanning it all', () => {
    const r = new UploadRecorder();
    for (let t = 0; t <= 600_000; t += 50) r.add(10, t);
    const a = r.answer();
    expect(a.samples.length).toBeLessThanOrEqual(MAX_UP_SAMPLES + 1);
    expect(a.samples[0]).toEqual([0, 10]);
    expect(a.samples.at(-1)).toEqual([600_000, a.bytes]);
    expect(a.samples.every(([t, b], i) => i === 0 || (t > a.samples[i - 1]![0] && b > a.samples[i - 1]![1]))).toBe(
      true,
    );
  });
});
