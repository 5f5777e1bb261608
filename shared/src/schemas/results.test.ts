import { describe, expect, it } from 'vitest';
import { Validator } from '../validate.js';
import { IngestEnvelope } from './ingest.js';
import { ResultSchemas } from './results.js';

export function validSpeedResult() {
  return {
    id: '01936b2e-1f6a-7c3d-8e4f-0123456789ab',
    kind: 'speed',
    startedAt: '2026-11-28T08:00:00.000Z',
    clock: { bootId: 'b0e1c2d3-0000-4000-8000-000000000000', uptimeMs: 120000 },
    durationMs: 21000,
    status: 'ok',
    network: { access: 'fixed', family: 4, isp: 'VNPT' },
    server: { id: 'collector', url: 'http://127.0.0.1:8080' },
    bytesUsed: 123456789,
    agentVersion: '0.1.0',
    speed: {
      profile: 'fixed',
      idle: { samples: 19, minMs: 8, medianMs: 9, meanMs: 9.2, p90Ms: 11, jitterMs: 0.8, stdDevMs: 1 },
      download: {
        bps: 93_400_000,
        bytes: 120_000_000,
        durationMs: 10_000,
        warmupMs: 1500,
        streams: 8,
        stopReason: 'window',
      },
      upload: {
        bps: 31_000_000,
        bytes: 40_000_000,
        durationMs: 10_000,
        warmupMs: 3000,
        streams: 4,
        stopReason: 'window',
        serverMeasured: true,
      },
    },
  };
}

const speed = new Validator(ResultSchemas.speed);

describe('result schemas', () => {
  it('accepts a valid speed result', () => {
    expect(speed.explain(validSpeedResult())).toBeUndefined();
  });

  it.each([
    ['missing id', (r: any) => delete r.id, '/id is required'],
    ['id not UUIDv7', (r: any) => (r.id = '01936b2e-1f6a-4c3d-8e4f-0123456789ab'), '/id must be a lower-case UUIDv7'],
    ['bad access', (r: any) => (r.network.access = 'satellite'), '/network/access must be one of "fixed", "mobile"'],
    ['bad family', (r: any) => (r.network.family = 5), '/network/family must be one of 4, 6'],
    ['negative rate', (r: any) => (r.speed.download.bps = -1), '/speed/download/bps must be >= 0'],
    ['unknown field', (r: any) => (r.extra = 1), '/extra is not allowed (unknown field)'],
    [
      'time without offset',
      (r: any) => (r.startedAt = '2026-11-28 08:00'),
      '/startedAt must be an RFC 3339 date-time with offset',
    ],
    ['string for number', (r: any) => (r.bytesUsed = '12'), '/bytesUsed must be an integer'],
    ['wrong body for kind', (r: any) => (r.latency = { method: 'http' }), '/latency is not allowed (unknown field)'],
    ['long isp', (r: any) => (r.network.isp = 'x'.repeat(600)), '/network/isp must be at most 512 characters'],
    [
      'bad stop reason',
      (r: any) => (r.speed.download.stopReason = 'tired'),
      '/speed/download/stopReason must be one of "window", "cap-time", "cap-bytes", "stable", "error", "aborted"',
    ],
  ])('rejects %s with an exact message', (_name, mutate, message) => {
    const r = validSpeedResult();
    mutate(r);
    expect(speed.explain(r)).toBe(message);
  });
});

describe('ingest envelope', () => {
  const env = new Validator(IngestEnvelope);
  const ok = { schema: 1, sentAt: '2026-11-28T08:00:00+07:00', clock: { bootId: 'b', uptimeMs: 1 }, results: [] };
  it('accepts an empty batch', () => expect(env.explain(ok)).toBeUndefined());
  it('rejects a future schema version', () => expect(env.explain({ ...ok, schema: 2 })).toBe('/schema must be 1'));
  it('rejects more than 500 results', () =>
    expect(env.explain({ ...ok, results: Array.from({ length: 501 }, () => ({})) })).toBe(
      '/results must have at most 500 items',
    ));
  it('rejects a missing clock', () => {
    const { clock: _c, ...rest } = ok;
    expect(env.explain(rest)).toBe('/clock is required');
  });

  describe('agentStatus', () => {
    const status = {
      queued: 37,
      oldestQueued: { startedAt: '2026-11-26T08:00:00.000Z', clock: { bootId: 'b', uptimeMs: 500 } },
      deadLetters: 2,
      dropped: 5,
    };
    it('is optional: an envelope of an older agent, without it, still passes', () =>
      expect(env.explain(ok)).toBeUndefined());
    it('accepts the full block, and one without oldestQueued (nothing waiting)', () => {
      expect(env.explain({ ...ok, agentStatus: status })).toBeUndefined();
      const { oldestQueued: _o, ...empty } = status;
      expect(env.explain({ ...ok, agentStatus: { ...empty, queued: 0 } })).toBeUndefined();
    });
    it('requires every count', () => {
      const { deadLetters: _d, ...rest } = status;
      expect(env.explain({ ...ok, agentStatus: rest })).toBe('/agentStatus/deadLetters is required');
    });
    it('bounds counts to non-negative integers up to MAX_AGENT_STATUS_COUNT', () => {
      expect(env.explain({ ...ok, agentStatus: { ...status, queued: -1 } })).toBe('/agentStatus/queued must be >= 0');
      expect(env.explain({ ...ok, agentStatus: { ...status, dropped: 1.5 } })).toBe(
        '/agentStatus/dropped must be an integer',
      );
      expect(env.explain({ ...ok, agentStatus: { ...status, deadLetters: 1e12 } })).toBe(
        '/agentStatus/deadLetters must be <= 1000000000',
      );
    });
    it('refuses unknown fields and a malformed oldestQueued', () => {
      expect(env.explain({ ...ok, agentStatus: { ...status, uptime: 3 } })).toMatch(/^\/agentStatus/);
      expect(
        env.explain({
          ...ok,
          agentStatus: { ...status, oldestQueued: { startedAt: 'yesterday', clock: status.oldestQueued.clock } },
        }),
      ).toMatch(/^\/agentStatus\/oldestQueued\/startedAt/);
      expect(
        env.explain({ ...ok, agentStatus: { ...status, oldestQueued: { startedAt: status.oldestQueued.startedAt } } }),
      ).toBe('/agentStatus/oldestQueued/clock is required');
    });
  });
});
