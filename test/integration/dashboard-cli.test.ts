import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAccountStore, openDb, verifyPassword } from '@hatang/collector';
import { afterAll, describe, expect, it } from 'vitest';

/** `hatang-collector users …` as an operator runs it: the built CLI, a real SQLite file, passwords on stdin. */
const CLI = join(import.meta.dirname, '../../collector/dist/cli.js');
const dir = mkdtempSync(join(tmpdir(), 'hatang-users-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: string[], input = '') {
  const r = spawnSync(process.execPath, [CLI, ...args, '--data', dir], { input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('hatang-collector users', () => {
  it('adds, lists, changes the password of and removes dashboard accounts', async () => {
    // The database gets its unit list when a collector first opens it; here, through the stats plugin's loader.
    const { loadDefaultUnits } = await import('@hatang/collector');
    const db = openDb({ path: join(dir, 'hatang.db') });
    loadDefaultUnits(db, Date.now());
    db.close();

    const add = cli(
      ['users', 'add', 'quynhnhai', '--role', 'viewer', '--scope', '118', '--password-stdin'],
      'mat khau huyen 118\n',
    );
    expect(add.err).toBe('');
    expect(add.code).toBe(0);
    expect(add.out).toContain('created viewer quynhnhai (scope 118)');

    const bad = cli(['users', 'add', 'x', '--role', 'viewer', '--scope', '118', '--password-stdin'], 'short\n');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('HATANG_ERR_VALIDATION: password is shorter than 10 characters');

    const noTty = cli(['users', 'add', 'y', '--role', 'admin']);
    expect(noTty.code).toBe(1);
    expect(noTty.err).toContain('no terminal to ask for the password');

    const list = cli(['users', 'list', '--json']);
    expect(JSON.parse(list.out)).toEqual([
      expect.objectContaining({ username: 'quynhnhai', role: 'viewer', scope: '118' }),
    ]);
    expect(list.out).not.toContain('scrypt');

    expect(cli(['users', 'passwd', 'quynhnhai', '--password-stdin'], 'mat khau moi 2025\n').code).toBe(0);
    const db2 = openDb({ path: join(dir, 'hatang.db') });
    const hash = createAccountStore(db2).userByName('quynhnhai')?.password ?? '';
    db2.close();
    expect(await verifyPassword('mat khau moi 2025', hash)).toBe(true);

    expect(cli(['users', 'remove', 'quynhnhai']).code).toBe(0);
    const gone = cli(['users', 'remove', 'quynhnhai']);
    expect(gone.code).toBe(1);
    expect(gone.err).toContain('no user "quynhnhai"');
  });
});
