import { createHash, randomInt } from 'node:crypto';
import {
  type AccessType,
  ENROLL_CODE_CHARS,
  ENROLL_CODE_DEFAULT_TTL_MS,
  ENROLL_CODE_MAX_TTL_MS,
  HatangError,
} from '@hatang/shared';
import { v7 as uuidv7 } from 'uuid';
import type { Db } from '../storage/db.js';
import { type AgentRow, createRepo } from '../storage/repo.js';

/**
 * One-time enrolment codes: the province makes one per commune box; the technician types it into
 * `hatang-agent enroll`, which trades it for an agent id and token. A code is single use, expires,
 * and is stored only as a SHA-256 (60 random bits: no dictionary to guard against).
 */

/** Crockford base32: no I, L, O, U, so a code read aloud or off paper is not mistyped. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export interface EnrollCodeRow {
  id: string;
  code_hint: string;
  name: string;
  commune_code: string | null;
  access: AccessType;
  isp: string | null;
  plan_mbps: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  used_by_host: string | null;
  agent_id: string | null;
  revoked_at: number | null;
}

export type EnrollCodeState = 'usable' | 'used' | 'expired' | 'revoked';

export function codeState(r: EnrollCodeRow, now: number): EnrollCodeState {
  if (r.used_at !== null) return 'used';
  if (r.revoked_at !== null) return 'revoked';
  if (r.expires_at <= now) return 'expired';
  return 'usable';
}

/** A fresh code, formatted for people: `7KQ2-M9XD-4TRB`. */
export function newCode(): string {
  let raw = '';
  for (let i = 0; i < ENROLL_CODE_CHARS; i++) raw += ALPHABET[randomInt(ALPHABET.length)];
  return raw.match(/.{1,4}/g)!.join('-');
}

/** Upper-case, dashes and spaces removed, and the letters Crockford reads as digits mapped (O→0, I/L→1). */
export function normaliseCode(code: string): string | undefined {
  const n = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (n.length !== ENROLL_CODE_CHARS) return undefined;
  for (const ch of n) if (!ALPHABET.includes(ch)) return undefined;
  return n;
}

export function hashCode(normalised: string): string {
  return createHash('sha256').update(`hatang-enroll:${normalised}`).digest('hex');
}

/** `7d`, `12h`, `30m` → ms. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*([mhd])$/.exec(text.trim());
  if (!m) throw new HatangError('HATANG_ERR_VALIDATION', `--expires ${text}: use a number and m, h or d, e.g. 7d`);
  const n = Number(m[1]);
  const ms = n * (m[2] === 'm' ? 60_000 : m[2] === 'h' ? 3_600_000 : 86_400_000);
  if (ms <= 0 || ms > ENROLL_CODE_MAX_TTL_MS) {
    throw new HatangError(
      'HATANG_ERR_OUT_OF_RANGE',
      `--expires ${text}: must be more than 0 and at most ${ENROLL_CODE_MAX_TTL_MS / 86_400_000}d`,
    );
  }
  return ms;
}

export interface NewEnrollCode {
  name: string;
  communeCode?: string | null;
  access: AccessType;
  isp?: string | null;
  planMbps?: number | null;
  /** Lifetime, ms; default 7 days. */
  ttlMs?: number;
}

const REFUSED_HINT = 'Ask the province for a new code: hatang-collector enroll-code create …';

export function createEnrollCodes(db: Db) {
  const repo = createRepo(db);
  const s = {
    insert: db.prepare(
      `INSERT INTO enroll_codes (id, code_hash, code_hint, name, commune_code, access, isp, plan_mbps, created_at, expires_at)
       VALUES (@id, @codeHash, @codeHint, @name, @communeCode, @access, @isp, @planMbps, @createdAt, @expiresAt)`,
    ),
    byHash: db.prepare('SELECT * FROM enroll_codes WHERE code_hash = ?'),
    byId: db.prepare('SELECT * FROM enroll_codes WHERE id = ?'),
    list: db.prepare('SELECT * FROM enroll_codes ORDER BY created_at'),
    use: db.prepare(
      'UPDATE enroll_codes SET used_at = ?, used_by_host = ?, agent_id = ? WHERE id = ? AND used_at IS NULL',
    ),
    revoke: db.prepare(
      'UPDATE enroll_codes SET revoked_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL',
    ),
  };
  const strip = (r: EnrollCodeRow & { code_hash?: string }): EnrollCodeRow => {
    const { code_hash: _h, ...rest } = r;
    return rest;
  };

  return {
    create(c: NewEnrollCode, now: number): { row: EnrollCodeRow; code: string } {
      const code = newCode();
      const normalised = normaliseCode(code)!;
      const id = uuidv7({ msecs: now });
      s.insert.run({
        id,
        codeHash: hashCode(normalised),
        codeHint: normalised.slice(0, 4),
        name: c.name,
        communeCode: c.communeCode ?? null,
        access: c.access,
        isp: c.isp ?? null,
        planMbps: c.planMbps ?? null,
        createdAt: now,
        expiresAt: now + (c.ttlMs ?? ENROLL_CODE_DEFAULT_TTL_MS),
      });
      return { row: strip(s.byId.get(id) as EnrollCodeRow), code };
    },

    /** Every code, oldest first; `all: false` keeps only usable ones. */
    list(now: number, opts: { all?: boolean } = {}): Array<EnrollCodeRow & { state: EnrollCodeState }> {
      return (s.list.all() as EnrollCodeRow[])
        .map((r) => ({ ...strip(r), state: codeState(r, now) }))
        .filter((r) => opts.all || r.state === 'usable');
    },

    revoke(id: string, now: number): boolean {
      return s.revoke.run(now, id).changes === 1;
    },

    /** Trade a code for a new agent and its token, once. Throws HATANG_ERR_ENROLL_CODE otherwise. */
    redeem(code: string, now: number, host: string | null = null): { agent: AgentRow; token: string } {
      const normalised = normaliseCode(code);
      if (!normalised) {
        throw new HatangError(
          'HATANG_ERR_ENROLL_CODE',
          `enrolment code is malformed: expected ${ENROLL_CODE_CHARS} letters and digits like 7KQ2-M9XD-4TRB`,
          { hint: 'Type the code exactly as printed; dashes and case do not matter.' },
        );
      }
      return db.transaction(() => {
        const row = s.byHash.get(hashCode(normalised)) as EnrollCodeRow | undefined;
        if (!row) throw new HatangError('HATANG_ERR_ENROLL_CODE', 'enrolment code unknown', { hint: REFUSED_HINT });
        const state = codeState(row, now);
        if (state !== 'usable') {
          const why =
            state === 'used'
              ? `enrolment code already used on ${new Date(row.used_at!).toISOString()}`
              : state === 'revoked'
                ? 'enrolment code revoked'
                : `enrolment code expired on ${new Date(row.expires_at).toISOString()}`;
          throw new HatangError('HATANG_ERR_ENROLL_CODE', why, { hint: REFUSED_HINT });
        }
        const made = repo.addAgent(
          {
            name: row.name,
            communeCode: row.commune_code,
            access: row.access,
            isp: row.isp,
            planMbps: row.plan_mbps,
          },
          now,
        );
        if (s.use.run(now, host, made.agent.id, row.id).changes !== 1) {
          throw new HatangError('HATANG_ERR_ENROLL_CODE', 'enrolment code already used', { hint: REFUSED_HINT });
        }
        return made;
      })();
    },
  };
}

export type EnrollCodes = ReturnType<typeof createEnrollCodes>;
