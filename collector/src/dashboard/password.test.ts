import { describe, expect, it } from 'vitest';
import { hashPassword, needsRehash, SCRYPT_PARAMS, verifyPassword } from './password.js';

describe('password hashing (scrypt)', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const h = await hashPassword('correct horse battery');
    expect(h).toMatch(new RegExp(`^scrypt\\$${SCRYPT_PARAMS.N}\\$8\\$1\\$`));
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('correct horse batterY', h)).toBe(false);
  });
  it('salts: the same password hashes differently each time', async () => {
    expect(await hashPassword('same password')).not.toBe(await hashPassword('same password'));
  });
  it('treats a malformed or tampered hash as a mismatch, never as a crash', async () => {
    expect(await verifyPassword('x', 'plain')).toBe(false);
    expect(await verifyPassword('x', 'scrypt$1073741824$8$1$AAAA$AAAA')).toBe(false);
  });
  it('refuses an over-long password when hashing, and never matches one', async () => {
    await expect(hashPassword('x'.repeat(257))).rejects.toThrow(/longer than 256/);
    expect(await verifyPassword('x'.repeat(257), await hashPassword('x'))).toBe(false);
  });
  it('asks for a re-hash when the parameters are weaker than today', () => {
    expect(needsRehash('scrypt$16384$8$1$AAAA$AAAA')).toBe(true);
    expect(needsRehash(`scrypt$${SCRYPT_PARAMS.N}$8$1$AAAA$AAAA`)).toBe(false);
  });
  it('normalises Unicode so a Vietnamese password typed either way matches', async () => {
    const composed = 'mật khẩu'.normalize('NFC');
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
  });
});
