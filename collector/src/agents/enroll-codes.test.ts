import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openDb } from '../storage/db.js';
import { createEnrollCodes, newCode, normaliseCode, parseTtl } from './enroll-codes.js';

const DAY = 86_400_000;

describe('enrolment codes', () => {
  it('are 12 Crockford base32 characters in groups of four; typing slips are forgiven', () => {
    for (let i = 0; i < 50; i++)
      expect(newCode()).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(normaliseCode('7kq2 m9xd 4trb')).toBe('7KQ2M9XD4TRB');
    expect(normaliseCode('OIL2-M9XD-4TRB')).toBe('0112M9XD4TRB');
    expect(normaliseCode('7KQ2-M9XD-4TR')).toBeUndefined();
    expect(normaliseCode('7KQ2-M9XD-4TRU')).toBeUndefined();
  });

  it.each([
    ['7d', 7 * DAY],
    ['12h', 12 * 3_600_000],
    ['30m', 30 * 60_000],
    ['90d', 90 * DAY],
  ])('--expires %s', (t, ms) => expect(parseTtl(t)).toBe(ms));

  it.each([
    ['91d', /at most 90d/],
    ['0d', /more than 0/],
    ['7 days', /use a number and m, h or d/],
  ])('--expires %s is refused', (t, re) => expect(() => parseTtl(t)).toThrow(re));

  it('stores only a hash, redeems once, and makes the agent with the code’s commune and access', () => {
    const db = openDb({ path: ':memory:' });
    const codes = createEnrollCodes(db);
    const { code, row } = codes.create(
      { name: 'UBND xã Chiềng Cơi', communeCode: '03670', access: 'mobile', isp: 'Viettel' },
      1000,
    );
    const stored = db.prepare('SELECT * FROM enroll_codes').get() as Record<string, unknown>;
    expect(JSON.stringify(stored)).not.toContain(normaliseCode(code));
    expect(stored.code_hash).toBe(
      createHash('sha256')
        .update(`hatang-enroll:${normaliseCode(code)}`)
        .digest('hex'),
    );
    expect(row).toMatchObject({ expires_at: 1000 + 7 * DAY, used_at: null });

    const { agent, token } = codes.redeem(code.toLowerCase(), 2000, 'pi-01');
    expect(agent).toMatchObject({
      name: 'UBND xã Chiềng Cơi',
      commune_code: '03670',
      access: 'mobile',
      isp: 'Viettel',
    });
    expect(token).toMatch(/^hat1_/);
    expect(codes.list(3000, { all: true })[0]).toMatchObject({
      state: 'used',
      agent_id: agent.id,
      used_by_host: 'pi-01',
    });
    expect(() => codes.redeem(code, 3000)).toThrow(/enrolment code already used on 1970-01-01T00:00:02.000Z/);
    db.close();
  });

  it('refuses unknown, expired, revoked and malformed codes without making an agent', () => {
    const db = openDb({ path: ':memory:' });
    const codes = createEnrollCodes(db);
    const a = codes.create({ name: 'a', communeCode: '1', access: 'fixed', ttlMs: 60_000 }, 0);
    const b = codes.create({ name: 'b', communeCode: '1', access: 'fixed' }, 0);
    expect(() => codes.redeem(a.code, 60_000)).toThrow(/enrolment code expired on 1970-01-01T00:01:00.000Z/);
    expect(codes.revoke(b.row.id, 5)).toBe(true);
    expect(codes.revoke(b.row.id, 6)).toBe(false);
    expect(() => codes.redeem(b.code, 10)).toThrow('enrolment code revoked');
    expect(() => codes.redeem('ZZZZ-ZZZZ-ZZZZ', 10)).toThrow('enrolment code unknown');
    expect(() => codes.redeem('hello', 10)).toThrow(/malformed/);
    expect(db.prepare('SELECT count(*) AS n FROM agents').get()).toEqual({ n: 0 });
    expect(codes.list(10).map((r) => r.name)).toEqual(['a']);
    expect(codes.list(60_000).map((r) => r.name)).toEqual([]);
    expect(codes.list(60_000, { all: true }).map((r) => r.state)).toEqual(['expired', 'revoked']);
    db.close();
  });
});
