import { COLLECTOR_CONFIG_DEFAULTS } from '@hatang/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDefaultUnits } from '../geography/defaults.js';
import { type Db, openDb } from '../storage/db.js';
import { verifyPassword } from './password.js';
import { createAccountStore } from './store.js';
import { type UserCliIo, usersAdd, usersList, usersPasswd, usersRemove } from './users-cli.js';

let db: Db | undefined;
afterEach(() => db?.close());

function io(password: string): UserCliIo {
  return { readPassword: async () => password, out: () => {}, now: () => 1_700_000_000_000 };
}

describe('users CLI', () => {
  it('adds a viewer scoped to a district with a scrypt hash, lists it without the hash', async () => {
    db = openDb({ path: ':memory:' });
    loadDefaultUnits(db, Date.now());
    const u = await usersAdd(db, COLLECTOR_CONFIG_DEFAULTS, io('district officer pw'), {
      username: 'quynhnhai',
      role: 'viewer',
      scope: '118',
      fullName: 'Phòng VHTT Quỳnh Nhai',
    });
    expect(u.scope_unit).toBe('118');
    expect(u.password).toMatch(/^scrypt\$/);
    expect(await verifyPassword('district officer pw', u.password)).toBe(true);
    const rows = usersList(db);
    expect(rows).toEqual([
      expect.objectContaining({ username: 'quynhnhai', role: 'viewer', scope: '118', sessions: 0 }),
    ]);
    expect(JSON.stringify(rows)).not.toContain('scrypt');
  });

  it('refuses a scope that is not a unit code', async () => {
    db = openDb({ path: ':memory:' });
    await expect(
      usersAdd(db, COLLECTOR_CONFIG_DEFAULTS, io('district officer pw'), {
        username: 'x',
        role: 'viewer',
        scope: '999',
      }),
    ).rejects.toThrow(/no unit with code "999"/);
  });

  it('refuses a short password, a duplicate name, a bad name and a viewer without scope, each saying why', async () => {
    db = openDb({ path: ':memory:' });
    const cfg = COLLECTOR_CONFIG_DEFAULTS;
    await expect(usersAdd(db, cfg, io('short'), { username: 'a', role: 'admin' })).rejects.toThrow(
      /shorter than 10 characters/,
    );
    await usersAdd(db, cfg, io('long enough pw'), { username: 'a', role: 'admin' });
    await expect(usersAdd(db, cfg, io('long enough pw'), { username: 'A', role: 'admin' })).rejects.toThrow(
      /already exists/,
    );
    await expect(usersAdd(db, cfg, io('long enough pw'), { username: 'bad name', role: 'admin' })).rejects.toThrow(
      /letters, digits/,
    );
    await expect(usersAdd(db, cfg, io('long enough pw'), { username: 'v', role: 'viewer' })).rejects.toThrow(
      /needs --scope/,
    );
  });

  it('passwd changes the hash and ends sessions; remove deletes the user and its sessions', async () => {
    db = openDb({ path: ':memory:' });
    const cfg = COLLECTOR_CONFIG_DEFAULTS;
    const u = await usersAdd(db, cfg, io('first password'), { username: 'x', role: 'admin' });
    const store = createAccountStore(db);
    store.createSession(u.id, Date.now(), 3_600_000);
    expect(await usersPasswd(db, cfg, io('second password'), 'x')).toBe(1);
    expect(store.countSessions(u.id)).toBe(0);
    expect(await verifyPassword('second password', store.userByName('x')!.password)).toBe(true);
    store.createSession(u.id, Date.now(), 3_600_000);
    usersRemove(db, 'x');
    expect(store.userByName('x')).toBeUndefined();
    expect(store.countSessions()).toBe(0);
    expect(() => usersRemove(db!, 'x')).toThrow(/no user "x"/);
    await expect(usersPasswd(db, cfg, io('second password'), 'nobody')).rejects.toThrow(/no user "nobody"/);
  });
});
