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
    // Migrations on a large database can take tens of seconds (an index over a year of results):
    // the log says which one runs, so a slow start is not mistaken for a hang.
    const db =
      opts.db ??
      openDb({
        path: opts.dbPath,
        onMigration: (e) =>
          e.phase === 'start'
            ? app.log.info({ migration: e.version, name: e.name }, 'applying database migration')
            : app.log.info(
                { migration: e.version, name: e.name, ms: Math.round(e.ms ?? 0) },
                'database migration applied',
              ),
      });
    app.decorate('db', db);
    app.decorate('repo', createRepo(db));
    if (!opts.db) app.addHook('onClose', async () => db.close());
  },
  { name: 'hatang-db' },
);
