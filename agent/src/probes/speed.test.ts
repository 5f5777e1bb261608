import { createServer, type Server } from 'node:http';
import { AGENT_CONFIG_DEFAULTS, type AgentConfig, type SpeedUpResponse } from '@hatang/shared';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerSeries,
  ByteBudget,
  clockOffset,
  downRequestSize,
  getCounting,
  limitsOf,
  nextUpChunk,
  type UpStream,
  uploadSeries,
} from './speed.js';

const answer = (firstByteAt: number, samples: [number, number][]): SpeedUpResponse => {
  const last = samples.at(-1) ?? [0, 0];
  return { bytes: last[1], durationMs: last[0], firstByteAt, lastByteAt: firstByteAt + last[0], samples };
};

describe('ByteBudget', () => {
  it('grants until the cap is spent, never more', () => {
    const b = new ByteBudget(1000);
    expect(b.take(600)).toBe(600);
    expect(b.take(600)).toBe(400);
    expect(b.take(1)).toBe(0);
    expect(b.left).toBe(0);
  });
  it('a zero or negative cap grants nothing; fractions are floored', () => {
    expect(new ByteBudget(0).take(10)).toBe(0);
    expect(new ByteBudget(-5).take(10)).toBe(0);
    expect(new ByteBudget(10.9).take(20)).toBe(10);
  });
});

describe('downRequestSize', () => {
  it.each([
    [250_000_000, 8, 15_625_000],
    [30_000_000, 8, 1_875_000],
    [1_000_000_000, 1, 25_000_000], // at most 25 MB per request
    [1_000_000, 8, 262_144], // at least 256 KiB
    [0, 8, 262_144],
  ])('budget %d over %d streams → %d bytes', (left, streams, want) => {
    expect(downRequestSize(left, streams)).toBe(want);
  });
});

describe('limitsOf', () => {
  const cfg = (speed: Partial<AgentConfig['speed']>) =>
    ({ ...AGENT_CONFIG_DEFAULTS, speed: { ...AGENT_CONFIG_DEFAULTS.speed, ...speed } }) as AgentConfig;
  it('takes the cap from the profile unless capBytes overrides it', () => {
    expect(limitsOf(cfg({}), 'download').capBytes).toBe(250_000_000);
    expect(limitsOf(cfg({ profile: 'metered' }), 'download')).toMatchObject({ capBytes: 30_000_000, metered: true });
    expect(limitsOf(cfg({ profile: 'metered', capBytes: 5_000_000 }), 'upload').capBytes).toBe(5_000_000);
  });
  it('never lets the hard cap fall below the window; streams per direction', () => {
    const l = limitsOf(cfg({ windowMs: 20_000, hardCapMs: 15_000 }), 'upload');
    expect(l.hardCapMs).toBe(20_000);
    expect(l.streams).toBe(4);
    expect(limitsOf(cfg({}), 'download').streams).toBe(8);
    expect(limitsOf(cfg({ stableTolerancePct: 5 }), 'download').stableTolerance).toBe(0.05);
  });
});

describe('upload accounting on the server clock', () => {
  it('answerSeries turns an answer into absolute cumulative samples ending at its total', () => {
    expect(
      answerSeries(
        answer(1000, [
          [0, 10],
          [100, 60],
          [250, 90],
        ]),
      ),
    ).toEqual([
      { t: 1000, bytes: 10 },
      { t: 1100, bytes: 60 },
      { t: 1250, bytes: 90 },
    ]);
    // an answer without samples (another server) is one point at its last byte
    expect(answerSeries({ bytes: 50, durationMs: 20, firstByteAt: 5, lastByteAt: 25 })).toEqual([{ t: 25, bytes: 50 }]);
    expect(answerSeries({ bytes: 0, durationMs: 0, firstByteAt: 0, lastByteAt: 0 })).toEqual([]);
  });

  it('sums streams from the first byte to the first stream to finish', () => {
    const streams: UpStream[] = [
      {
        ok: true,
        requests: [
          {
            sentAt: 0,
            answer: answer(1000, [
              [0, 0],
              [1000, 1000],
            ]),
          },
        ],
      },
      {
        ok: true,
        requests: [
          {
            sentAt: 0,
            answer: answer(1000, [
              [0, 0],
              [800, 800],
            ]),
          },
        ],
      },
    ];
    const s = uploadSeries(streams);
    expect(s[0]).toEqual({ t: 0, bytes: 0 });
    expect(s.at(-1)).toEqual({ t: 800, bytes: 1600 });
  });

  it('cuts at the client stop mapped onto the server clock when that is earlier', () => {
    const streams: UpStream[] = [
      {
        ok: true,
        requests: [
          {
            sentAt: 0,
            answer: answer(1000, [
              [0, 0],
              [1000, 1000],
            ]),
          },
        ],
      },
    ];
    expect(uploadSeries(streams, 1500).at(-1)).toEqual({ t: 500, bytes: 500 });
    expect(uploadSeries(streams, 5000).at(-1)).toEqual({ t: 1000, bytes: 1000 }); // later: ignored
    expect(uploadSeries(streams, 500).at(-1)).toEqual({ t: 1000, bytes: 1000 }); // before the start: ignored
  });

  it('a failed stream counts what the server confirmed but does not end the span', () => {
    const streams: UpStream[] = [
      {
        ok: true,
        requests: [
          {
            sentAt: 0,
            answer: answer(0, [
              [0, 0],
              [1000, 1000],
            ]),
          },
        ],
      },
      {
        ok: false,
        requests: [
          {
            sentAt: 0,
            answer: answer(0, [
              [0, 0],
              [300, 300],
            ]),
          },
        ],
      },
    ];
    expect(uploadSeries(streams).at(-1)).toEqual({ t: 1000, bytes: 1300 });
  });

  it('requests in sequence on one stream add up', () => {
    const streams: UpStream[] = [
      {
        ok: true,
        requests: [
          {
            sentAt: 0,
            answer: answer(0, [
              [0, 0],
              [500, 500],
            ]),
          },
          {
            sentAt: 0,
            answer: answer(510, [
              [0, 10],
              [490, 500],
            ]),
          },
        ],
      },
    ];
    expect(uploadSeries(streams).at(-1)).toEqual({ t: 1000, bytes: 1000 });
  });

  it('is empty when the server confirmed nothing', () => {
    expect(uploadSeries([])).toEqual([]);
    expect(uploadSeries([{ ok: false, requests: [] }])).toEqual([]);
  });

  it('clockOffset is the smallest first-byte delay over all requests', () => {
    const streams: UpStream[] = [
      {
        ok: true,
        requests: [
          {
            sentAt: 100,
            answer: answer(5100, [
              [0, 1],
              [10, 2],
            ]),
          },
        ],
      },
      {
        ok: true,
        requests: [
          {
            sentAt: 200,
            answer: answer(5150, [
              [0, 1],
              [10, 2],
            ]),
          },
        ],
      },
    ];
    expect(clockOffset(streams)).toBe(4950);
    expect(clockOffset([])).toBeUndefined();
  });
});

describe('getCounting (https path, exercised over http)', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url?.startsWith('/missing')) return res.writeHead(404).end('no');
      res.writeHead(200, { 'content-length': '300000' }).end(Buffer.alloc(300_000));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('counts the body through the dispatch handler', async () => {
    const d = new Agent();
    let n = 0;
    await getCounting(d, new URL('/x', base), new AbortController().signal, (k) => (n += k));
    expect(n).toBe(300_000);
    await d.close();
  });
  it('rejects HTTP errors with HTTP_<status>, and an aborted signal at once', async () => {
    const d = new Agent();
    await expect(
      getCounting(d, new URL('/missing', base), new AbortController().signal, () => {}),
    ).rejects.toMatchObject({
      code: 'HTTP_404',
    });
    const ac = new AbortController();
    ac.abort(new Error('gone'));
    await expect(getCounting(d, new URL('/x', base), ac.signal, () => {})).rejects.toThrow('gone');
    await d.close();
  });
});

describe('nextUpChunk', () => {
  it.each([
    [16_384, 1, 32_768],
    [1_048_576, 1, 1_048_576],
    [65_536, 20, 65_536],
    [65_536, 60, 32_768],
    [16_384, 500, 16_384],
  ])('%d bytes, next read after %d ms → %d', (size, ms, want) => {
    expect(nextUpChunk(size, ms)).toBe(want);
  });
});
