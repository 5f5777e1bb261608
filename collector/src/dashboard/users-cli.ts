import { join } from 'node:path';
import { type CollectorConfig, HatangError } from '@hatang/shared';
import { type Command, Option } from 'commander';
import { loadCollectorConfig } from '../config.js';
import { type Db, openDb } from '../storage/db.js';
import { hashPassword } from './password.js';
import { createAccountStore, USER_ROLES, type UserRole, type UserRow } from './store.js';

/**
 * `hatang-collector users add|list|passwd|remove`: dashboard accounts. Passwords are never taken
 * from the command line (other users could read them in `ps`): they are asked for on the terminal
 * without echo, or read from the first line of standard input with --password-stdin.
 */

export interface UserCliIo {
  /** Read a password: interactive prompt or stdin, decided by the caller. */
  readPassword(prompt: string, confirm: boolean): Promise<string>;
  out(line: string): void;
  now(): number;
  /** Check that a unit code exists; returns its name, or throws naming the problem. */
  checkUnit?(db: Db, code: string): string | undefined;
}

/** The scope must be a unit in the units table (GSO code); returns its name. */
export function knownUnit(db: Db, code: string): string {
  const row = db.prepare('SELECT name, level FROM units WHERE code = ?').get(code) as
    | { name: string; level: string }
    | undefined;
  if (!row) {
    throw new HatangError('HATANG_ERR_NOT_FOUND', `no unit with code "${code}"`, {
      hint: 'Give the GSO code of a district, commune or the province (e.g. 118 for Huyện Quỳnh Nhai); the units are listed by GET /api/v1/units.',
    });
  }
  return row.name;
}

export function checkPassword(pw: string, config: CollectorConfig): void {
  const min = config.dashboard.passwordMinLength;
  if (pw.length < min) {
    throw new HatangError('HATANG_ERR_VALIDATION', `password is shorter than ${min} characters`, {
      hint: 'Use a longer password (a few unrelated words work well); dashboard.passwordMinLength sets the minimum.',
    });
  }
}

function publicRow(u: UserRow, sessions: number) {
  return {
    username: u.username,
    role: u.role,
    scope: u.scope_unit,
    fullName: u.full_name,
    createdAt: new Date(u.created_at).toISOString(),
    lastLoginAt: u.last_login_at === null ? null : new Date(u.last_login_at).toISOString(),
    sessions,
  };
}

export async function usersAdd(
  db: Db,
  config: CollectorConfig,
  io: UserCliIo,
  o: { username: string; role: UserRole; scope?: string | undefined; fullName?: string | undefined },
): Promise<UserRow> {
  const store = createAccountStore(db);
  if (store.userByName(o.username)) {
    throw new HatangError('HATANG_ERR_VALIDATION', `user "${o.username}" already exists`, {
      hint: `Change the password with: hatang-collector users passwd ${o.username}`,
    });
  }
  if (o.role === 'viewer' && o.scope === undefined) {
    throw new HatangError('HATANG_ERR_VALIDATION', 'a viewer needs --scope: the unit code they may read', {
      hint: 'Give the GSO code of a district (e.g. --scope 116) or of the province for all of it.',
    });
  }
  if (o.scope !== undefined) (io.checkUnit ?? knownUnit)(db, o.scope);
  const pw = await io.readPassword(`Password for ${o.username}: `, true);
  checkPassword(pw, config);
  return store.addUser(
    {
      username: o.username,
      passwordHash: await hashPassword(pw),
      role: o.role,
      scopeUnit: o.scope ?? null,
      fullName: o.fullName ?? null,
    },
    io.now(),
  );
}

export async function usersPasswd(db: Db, config: CollectorConfig, io: UserCliIo, username: string): Promise<number> {
  const store = createAccountStore(db);
  const u = store.userByName(username);
  if (!u) {
    throw new HatangError('HATANG_ERR_NOT_FOUND', `no user "${username}"`, {
      hint: 'List users with: hatang-collector users list',
    });
  }
  const pw = await io.readPassword(`New password for ${u.username}: `, true);
  checkPassword(pw, config);
  const ended = store.countSessions(u.id);
  store.setPassword(u.id, await hashPassword(pw), io.now());
  return ended;
}

export function usersRemove(db: Db, username: string): void {
  const store = createAccountStore(db);
  const u = store.userByName(username);
  if (!u) {
    throw new HatangError('HATANG_ERR_NOT_FOUND', `no user "${username}"`, {
      hint: 'List users with: hatang-collector users list',
    });
  }
  store.removeUser(u.id);
}

export function usersList(db: Db) {
  const store = createAccountStore(db);
  return store.listUsers().map((u) => publicRow(u, store.countSessions(u.id)));
}

/** Read the first line of stdin (for --password-stdin). */
async function firstLineOfStdin(): Promise<string> {
  let data = '';
  for await (const chunk of process.stdin) {
    data += chunk;
    const nl = data.indexOf('\n');
    if (nl >= 0) return data.slice(0, nl).replace(/\r$/, '');
  }
  return data.replace(/\r?\n$/, '');
}

/** Prompt without echo on a terminal. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let buf = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(buf);
    };
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n') return finish();
        if (c === '\u0003' || c === '\u0004') return finish(new HatangError('HATANG_ERR_ABORTED', 'cancelled'));
        if (c === '\u007f' || c === '\b') buf = [...buf].slice(0, -1).join('');
        else buf += c;
      }
    };
    stdin.on('data', onData);
  });
}

function ioFor(o: { passwordStdin?: boolean }): UserCliIo {
  return {
    async readPassword(prompt, confirm) {
      if (o.passwordStdin) return firstLineOfStdin();
      if (!process.stdin.isTTY) {
        throw new HatangError('HATANG_ERR_VALIDATION', 'no terminal to ask for the password', {
          hint: 'Run it in a terminal, or pipe the password in with --password-stdin.',
        });
      }
      const pw = await promptHidden(prompt);
      if (confirm && (await promptHidden('Again: ')) !== pw) {
        throw new HatangError('HATANG_ERR_VALIDATION', 'the two passwords differ');
      }
      return pw;
    },
    out: (line) => console.log(line),
    now: Date.now,
  };
}

/** Add the `users` command group to the collector CLI. */
export function registerUserCommands(program: Command, extra: { checkUnit?: UserCliIo['checkUnit'] } = {}): void {
  const dataOpt = () =>
    new Option('--data <dir>', 'state directory (SQLite file inside)').env('HATANG_DATA').default('./data');
  const dbOpt = () => new Option('--db <file>', 'SQLite file (overrides --data)').env('HATANG_DB');
  const cfgOpt = () => new Option('-c, --config <file>', 'collector YAML config (for dashboard.passwordMinLength)');
  const open = (o: { data: string; db?: string }) => openDb({ path: o.db ?? join(o.data, 'hatang.db') });
  const withDb = async <T>(o: { data: string; db?: string }, fn: (db: Db) => Promise<T> | T): Promise<T> => {
    const db = open(o);
    try {
      return await fn(db);
    } finally {
      db.close();
    }
  };

  const users = program.command('users').description('manage dashboard accounts (docs/dashboard.md)');

  users
    .command('add <name>')
    .description('create a dashboard account; asks for the password')
    .addOption(
      new Option('--role <role>', 'viewer: read pages of its scope; admin: everything')
        .choices([...USER_ROLES])
        .default('viewer'),
    )
    .option('--scope <code>', 'GSO code of the unit a viewer may read (district, commune or the province)')
    .option('--full-name <name>', 'name shown in the page header')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--json', 'print JSON')
    .addOption(cfgOpt())
    .addOption(dataOpt())
    .addOption(dbOpt())
    .action(
      async (
        name: string,
        o: {
          role: UserRole;
          scope?: string;
          fullName?: string;
          passwordStdin?: boolean;
          json?: boolean;
          config?: string;
          data: string;
          db?: string;
        },
      ) => {
        const config = loadCollectorConfig({ file: o.config });
        const io = { ...ioFor(o), ...(extra.checkUnit ? { checkUnit: extra.checkUnit } : {}) };
        const u = await withDb(o, (db) =>
          usersAdd(db, config, io, { username: name, role: o.role, scope: o.scope, fullName: o.fullName }),
        );
        if (o.json) console.log(JSON.stringify(publicRow(u, 0)));
        else
          console.log(
            `created ${u.role} ${u.username}${u.scope_unit ? ` (scope ${u.scope_unit})` : ' (whole province)'}`,
          );
      },
    );

  users
    .command('list')
    .description('list dashboard accounts')
    .option('--json', 'print JSON')
    .addOption(dataOpt())
    .addOption(dbOpt())
    .action(async (o: { json?: boolean; data: string; db?: string }) => {
      const rows = await withDb(o, usersList);
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else {
        if (!rows.length) console.log('no users; create one with: hatang-collector users add NAME --role admin');
        for (const r of rows) {
          console.log(
            `${r.username.padEnd(20)} ${r.role.padEnd(6)} scope ${(r.scope ?? 'all').padEnd(6)} last login ${r.lastLoginAt ?? 'never'}  sessions ${r.sessions}${r.fullName ? `  ${r.fullName}` : ''}`,
          );
        }
      }
    });

  users
    .command('passwd <name>')
    .description('set a new password; ends every open session of that user')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .addOption(cfgOpt())
    .addOption(dataOpt())
    .addOption(dbOpt())
    .action(async (name: string, o: { passwordStdin?: boolean; config?: string; data: string; db?: string }) => {
      const config = loadCollectorConfig({ file: o.config });
      const ended = await withDb(o, (db) => usersPasswd(db, config, ioFor(o), name));
      console.log(`password changed for ${name}; ${ended} session(s) ended`);
    });

  users
    .command('remove <name>')
    .description('delete an account and end its sessions')
    .addOption(dataOpt())
    .addOption(dbOpt())
    .action(async (name: string, o: { data: string; db?: string }) => {
      await withDb(o, (db) => usersRemove(db, name));
      console.log(`removed ${name}`);
    });
}
