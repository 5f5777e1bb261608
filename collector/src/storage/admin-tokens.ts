import { randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import { hashSecret, secretMatches } from './tokens.js';

/**
 * Admin bearer tokens: `hta1_<tokenId>_<secret>` (agent tokens are `hat1_…`). Like agent tokens,
 * only a SHA-256 of the 32-byte random secret is stored and comparison is constant time.
 */
const ADMIN_TOKEN_RE = /^hta1_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface AdminTokenRow {
  id: string;
  name: string;
  token_hash: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export function parseAdminToken(token: string): { tokenId: string; secret: string } | undefined {
  const m = ADMIN_TOKEN_RE.exec(token);
  return m ? { tokenId: m[1] as string, secret: m[2] as string } : undefined;
}

/** True when a string is shaped like an admin token (valid or not). */
export function looksLikeAdminToken(token: string): boolean {
  return token.startsWith('hta1_');
}

export function createAdminTokenRepo(db: Db) {
  const s = {
    insert: db.prepare('INSERT INTO admin_tokens (id, name, token_hash, created_at) VALUES (?, ?, ?, ?)'),
    get: db.prepare('SELECT * FROM admin_tokens WHERE id = ?'),
    list: db.prepare('SELECT * FROM admin_tokens ORDER BY created_at'),
    revoke: db.prepare('UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
    used: db.prepare(
      'UPDATE admin_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)',
    ),
  };
  return {
    /** Create a token; the clear token is returned once and never stored. */
    create(name: string, now: number): { id: string; token: string } {
      const id = randomBytes(8).toString('hex');
      const secret = randomBytes(32).toString('base64url');
      s.insert.run(id, name, hashSecret(secret), now);
      return { id, token: `hta1_${id}_${secret}` };
    },
    list: () => s.list.all() as AdminTokenRow[],
    revoke: (id: string, now: number) => s.revoke.run(now, id).changes === 1,
    /** The active token row matching a presented token, or undefined. */
    verify(token: string, now: number): AdminTokenRow | undefined {
      const p = parseAdminToken(token);
      if (!p) return undefined;
      const row = s.get.get(p.tokenId) as AdminTokenRow | undefined;
      if (!row || !secretMatches(p.secret, row.token_hash) || row.revoked_at !== null) return undefined;
      s.used.run(now, row.id, now - 60_000);
      return row;
    },
  };
}

export type AdminTokenRepo = ReturnType<typeof createAdminTokenRepo>;
