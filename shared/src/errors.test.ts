import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, HatangError, isHatangError } from './errors.js';

describe('error catalogue', () => {
  it('documents every code in docs/errors.md (fastify errors.test.js style)', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const missing = Object.keys(ERROR_CODES).filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });

  it('carries code, hint and cause', () => {
    const cause = new Error('disk');
    const e = new HatangError('HATANG_ERR_STORAGE', 'cannot open', { hint: 'check perms', cause });
    expect(e).toMatchObject({
      code: 'HATANG_ERR_STORAGE',
      message: 'cannot open',
      hint: 'check perms',
      name: 'HatangError',
    });
    expect(e.cause).toBe(cause);
    expect(isHatangError(e)).toBe(true);
    expect(isHatangError(Object.assign(new Error('x'), { code: 'HATANG_ERR_TIMEOUT' }))).toBe(true);
    expect(isHatangError(new Error('x'))).toBe(false);
  });
});
