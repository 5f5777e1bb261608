import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Agent bearer tokens: `hat1_<tokenId>_<secret>`. The collector stores the token id in clear (to
 * find the row) and only a SHA-256 of the secret; the secret is 32 random bytes, so a fast hash is
 * enough (no dictionary to guard against). Comparison is constant time.
 */
const TOKEN_RE = /^hat1_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface MintedToken {
  token: string;
  tokenId: string;
  tokenHash: string;
}

export function mintToken(): MintedToken {
  const tokenId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { token: `hat1_${tokenId}_${secret}`, tokenId, tokenHash: hashSecret(secret) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function parseToken(token: string): { tokenId: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(token);
  return m ? { tokenId: m[1] as string, secret: m[2] as string } : undefined;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
