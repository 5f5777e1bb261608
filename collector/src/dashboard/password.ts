import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import { HatangError, MAX_PASSWORD_LENGTH } from '@hatang/shared';

/**
 * Dashboard passwords are hashed with scrypt (RFC 7914, node:crypto), a slow, memory-hard KDF.
 *
 * Parameters: N = 2^15, r = 8, p = 1, a 16-byte random salt, a 32-byte key. That costs
 * 128 · N · r = 32 MiB of memory and roughly 50–150 ms of one core per hash on a PC (more on a
 * Raspberry Pi): cheap for one login, dear for anyone guessing at a stolen database. These are the
 * OWASP Password Storage Cheat Sheet's scrypt minimum (N=2^17 r=8 p=1 is its stronger option; we keep
 * 2^15 so a Pi-class collector answers a login in well under a second).
 *
 * Stored form: `scrypt$N$r$p$<salt base64>$<key base64>`, so parameters can be raised later and
 * old hashes still verify (and are re-hashed on the next successful login).
 */
export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
export const SCRYPT_KEY_BYTES = 32;
export const SCRYPT_SALT_BYTES = 16;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const opts: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, SCRYPT_KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function checkLength(password: string): void {
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new HatangError('HATANG_ERR_VALIDATION', `password is longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
}

export async function hashPassword(password: string): Promise<string> {
  checkLength(password);
  const salt = randomBytes(SCRYPT_SALT_BYTES);
  const key = await derive(password, salt, SCRYPT_PARAMS);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

const STORED_RE = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

/** True when `password` matches `stored`. Constant-time comparison; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const m = STORED_RE.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Refuse absurd parameters a tampered row could carry (memory blow-up).
  if (N < 2 || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const expected = Buffer.from(m[5] as string, 'base64');
  const key = await derive(password, Buffer.from(m[4] as string, 'base64'), { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** True when a stored hash uses weaker parameters than today's and should be re-hashed. */
export function needsRehash(stored: string): boolean {
  const m = STORED_RE.exec(stored);
  if (!m) return true;
  return Number(m[1]) < SCRYPT_PARAMS.N || Number(m[2]) < SCRYPT_PARAMS.r || Number(m[3]) < SCRYPT_PARAMS.p;
}

/** A hash of nothing anyone knows, verified when the user name is unknown so timing does not tell. */
let dummy: Promise<string> | undefined;
export function dummyHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  return dummy;
}
