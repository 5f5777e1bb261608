import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type Db, openDb } from '../storage/db.js';
import { createRepo, type Repo } from '../storage/repo.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
    repo: Repo;
  }
}

export interface DbPluginOptions {
  /** SQLite file, or ':memory:'. */
  dbPath: string;
  /** An already open database (tests, CLI); closed by its owner, not by the app. */
  db?: Db;
}

/** Opens the SQLite database (WAL, migrations) and shares `app.db` and `app.repo` with siblings. */
export const dbPlugin = fp(
  async (app: FastifyInstance, opts: DbPluginOptions) => {
    const db = opts.db ?? openDb({ path: opts.dbPath });
    app.decorate('db', db);
    app.decorate('repo', createRepo(db));
    if (!opts.db) app.addHook('onClose', async () => db.close());
  },
  { name: 'hatang-db' },
);
