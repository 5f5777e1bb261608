import { createHash, randomBytes } from 'node:crypto';
import { HatangError, MAX_USERNAME_LENGTH } from '@hatang/shared';
import type { Db } from '../storage/db.js';

/** Dashboard accounts and sessions (migrations 30–31). Prepared statements only; no policy here. */

export const USER_ROLES = ['viewer', 'admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface UserRow {
  id: number;
  username: string;
  password: string;
  role: UserRole;
  /** Unit code the user may read (and everything below it); null: the whole province. */
  scope_unit: string | null;
  full_name: string | null;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

export interface SessionRow {
  id_hash: string;
  user_id: number;
  csrf: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export const USERNAME_RE = new RegExp(`^[A-Za-z0-9._@-]{1,${MAX_USERNAME_LENGTH}}$`);

export function checkUsername(name: string): void {
  if (!USERNAME_RE.test(name)) {
    throw new HatangError(
      'HATANG_ERR_VALIDATION',
      `user name "${name}" must be 1–${MAX_USERNAME_LENGTH} letters, digits or . _ @ -`,
    );
  }
}

/** SHA-256 of a session id, as stored. The id itself (32 random bytes) lives only in the cookie. */
export function sessionIdHash(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function createAccountStore(db: Db) {
  const s = {
    addUser: db.prepare(
      `INSERT INTO users (username, password, role, scope_unit, full_name, created_at, updated_at)
       VALUES (@username, @password, @role, @scopeUnit, @fullName, @now, @now)`,
    ),
    userByName: db.prepare('SELECT * FROM users WHERE username = ?'),
    userById: db.prepare('SELECT * FROM users WHERE id = ?'),
    listUsers: db.prepare('SELECT * FROM users ORDER BY username'),
    setPassword: db.prepare('UPDATE users SET password = ?, updated_at = ? WHERE id = ?'),
    touchLogin: db.prepare('UPDATE users SET last_login_at = ? WHERE id = ?'),
    removeUser: db.prepare('DELETE FROM users WHERE id = ?'),
    insertSession: db.prepare(
      `INSERT INTO sessions (id_hash, user_id, csrf, created_at, last_seen_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    sessionByHash: db.prepare('SELECT * FROM sessions WHERE id_hash = ?'),
    touchSession: db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?'),
    deleteSession: db.prepare('DELETE FROM sessions WHERE id_hash = ?'),
    deleteUserSessions: db.prepare('DELETE FROM sessions WHERE user_id = ?'),
    purge: db.prepare('DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?'),
    countSessions: db.prepare('SELECT count(*) AS n FROM sessions WHERE user_id = coalesce(?, user_id)'),
  };

  return {
    addUser(
      u: { username: string; passwordHash: string; role: UserRole; scopeUnit: string | null; fullName?: string | null },
      now: number,
    ): UserRow {
      checkUsername(u.username);
      if (s.userByName.get(u.username)) {
        throw new HatangError('HATANG_ERR_VALIDATION', `user "${u.username}" already exists`, {
          hint: 'Pick another name, or change the password with: hatang-collector users passwd NAME',
        });
      }
      const info = s.addUser.run({
        username: u.username,
        password: u.passwordHash,
        role: u.role,
        scopeUnit: u.scopeUnit,
        fullName: u.fullName ?? null,
        now,
      });
      return s.userById.get(info.lastInsertRowid) as UserRow;
    },
    userByName(name: string): UserRow | undefined {
      return s.userByName.get(name) as UserRow | undefined;
    },
    userById(id: number): UserRow | undefined {
      return s.userById.get(id) as UserRow | undefined;
    },
    listUsers(): UserRow[] {
      return s.listUsers.all() as UserRow[];
    },
    /** New password; every open session of the user ends. */
    setPassword(id: number, passwordHash: string, now: number, opts: { keepSessions?: boolean } = {}): void {
      db.transaction(() => {
        s.setPassword.run(passwordHash, now, id);
        if (!opts.keepSessions) s.deleteUserSessions.run(id);
      })();
    },
    touchLogin(id: number, now: number): void {
      s.touchLogin.run(now, id);
    },
    /** Remove a user and (by cascade) their sessions. */
    removeUser(id: number): boolean {
      return db.transaction(() => {
        s.deleteUserSessions.run(id);
        return s.removeUser.run(id).changes === 1;
      })();
    },

    /** Start a session; returns the cookie value (shown once, never stored) and the row. */
    createSession(userId: number, now: number, maxMs: number): { id: string; row: SessionRow } {
      const id = randomBytes(32).toString('base64url');
      const row: SessionRow = {
        id_hash: sessionIdHash(id),
        user_id: userId,
        csrf: randomBytes(24).toString('base64url'),
        created_at: now,
        last_seen_at: now,
        expires_at: now + maxMs,
      };
      s.insertSession.run(row.id_hash, row.user_id, row.csrf, row.created_at, row.last_seen_at, row.expires_at);
      return { id, row };
    },
    sessionById(id: string): SessionRow | undefined {
      return s.sessionByHash.get(sessionIdHash(id)) as SessionRow | undefined;
    },
    touchSession(idHash: string, now: number): void {
      s.touchSession.run(now, idHash);
    },
    deleteSession(idHash: string): void {
      s.deleteSession.run(idHash);
    },
    deleteUserSessions(userId: number): number {
      return s.deleteUserSessions.run(userId).changes;
    },
    /** Drop sessions past their absolute expiry or idle longer than idleMs. */
    purgeSessions(now: number, idleMs: number): number {
      return s.purge.run(now, now - idleMs).changes;
    },
    countSessions(userId?: number): number {
      return (s.countSessions.get(userId ?? null) as { n: number }).n;
    },
  };
}

export type AccountStore = ReturnType<typeof createAccountStore>;
