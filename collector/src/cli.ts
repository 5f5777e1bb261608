#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ACCESS_TYPES, type AccessType, DAY_MS, dayKey, HatangError, localDayOf, periodOf } from '@hatang/shared';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createEnrollCodes, parseTtl } from './agents/enroll-codes.js';
import { buildApp, type Role } from './app.js';
import { loadCollectorConfig } from './config.js';
import { registerUserCommands } from './dashboard/users-cli.js';
import { UnitTree } from './geography/tree.js';
import { importUnits, mergeUnits, readUnitsCsv, renameUnit, saveGroup } from './geography/units.js';
import { type AgentInput, registerAgent, updateAgent } from './registry/agents.js';
import { effectiveAt } from './routes/admin.js';
import { rebuildRollups } from './stats/rollup.js';
import { createAdminTokenRepo } from './storage/admin-tokens.js';
import { createAgentsRepo } from './storage/agents.js';
import { type Db, openDb } from './storage/db.js';
import { createRepo } from './storage/repo.js';
import { backupDb, pruneRawResults } from './storage/retention.js';
import { createUnitsRepo, UNIT_LEVELS, type UnitLevel } from './storage/units.js';
import { VERSION } from './version.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number 0–65535');
  return n;
}

function dbPathOf(o: { data: string; db?: string }): string {
  return o.db ?? join(o.data, 'hatang.db');
}

const program = new Command('hatang-collector')
  .description('hatang provincial collector: ingest, speed-test server, statistics, dashboard')
  .version(VERSION)
  .showHelpAfterError();

const dataOpt = () =>
  new Option('--data <dir>', 'state directory (SQLite file inside)').env('HATANG_DATA').default('./data');
const dbOpt = () => new Option('--db <file>', 'SQLite file (overrides --data)').env('HATANG_DB');

program
  .command('serve')
  .description('run the collector HTTP server')
  .option('-c, --config <file>', 'collector YAML config (docs/collector.md)')
  .option('--host <host>', 'address to listen on (server.host)')
  .option('--port <port>', 'TCP port, 0 for any free port (server.port)', port)
  .option('--data <dir>', 'state directory (dataDir)')
  .addOption(new Option('--role <role>', 'all, or speedtest for a stateless test point').choices(['all', 'speedtest']))
  .addOption(
    new Option('--log-level <level>', 'pino log level (log.level)').choices([
      'fatal',
      'error',
      'warn',
      'info',
      'debug',
      'trace',
      'silent',
    ]),
  )
  .action(
    async (o: { config?: string; host?: string; port?: number; data?: string; role?: Role; logLevel?: string }) => {
      const overrides: Record<string, unknown> = {};
      if (o.host !== undefined || o.port !== undefined) {
        overrides.server = {
          ...(o.host !== undefined ? { host: o.host } : {}),
          ...(o.port !== undefined ? { port: o.port } : {}),
        };
      }
      if (o.data !== undefined) overrides.dataDir = o.data;
      if (o.role !== undefined) overrides.role = o.role;
      if (o.logLevel !== undefined) overrides.log = { level: o.logLevel };
      const config = loadCollectorConfig({ file: o.config, overrides });
      const app = await buildApp({
        role: config.role,
        dbPath: join(config.dataDir, 'hatang.db'),
        logger: { level: config.log.level },
        config,
      });
      const close = async (signal: string) => {
        app.log.info({ signal }, 'shutting down');
        await app.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void close('SIGINT'));
      process.once('SIGTERM', () => void close('SIGTERM'));
      const address = await app.listen({
        host: config.server.host,
        port: config.server.port,
        backlog: config.server.backlog,
      });
      // The UDP echo binds once HTTP listens; a port clash must stop the server, not pass silently.
      const echo = await app.udpEcho.ready.catch(async (err: unknown) => {
        await app.close();
        throw err;
      });
      app.log.info(
        { address, role: config.role, version: VERSION, udpPort: echo?.port, udpAuth: app.udpEcho.auth },
        'collector listening',
      );
    },
  );

const agents = program.command('agents').description('manage agents: registration, commune, line, location, tokens');

interface AgentFlags {
  name?: string;
  commune?: string;
  access?: AccessType;
  isp?: string;
  planMbps?: number;
  lat?: number;
  lon?: number;
  location?: string;
}

const numberArg = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${what} must be a number`);
  return n;
};

function agentOptions(cmd: Command, creating: boolean): Command {
  return cmd
    .option('--commune <code>', 'GSO code of its commune (see: hatang-collector units list --level commune)')
    .addOption(
      creating
        ? new Option('--access <type>', 'access type of its line').choices([...ACCESS_TYPES]).default('fixed')
        : new Option('--access <type>', 'access type of its line').choices([...ACCESS_TYPES]),
    )
    .option('--isp <isp>', 'ISP of its line, e.g. VNPT, Viettel, FPT')
    .option('--plan-mbps <mbps>', 'contracted download speed of the line, Mbit/s', numberArg('--plan-mbps'))
    .option('--lat <deg>', 'latitude, degrees (with --lon)', numberArg('--lat'))
    .option('--lon <deg>', 'longitude, degrees (with --lat)', numberArg('--lon'))
    .option('--location <text>', 'where the box is: office, room')
    .option('--json', 'print JSON')
    .addOption(dataOpt())
    .addOption(dbOpt());
}

function agentInput(o: AgentFlags): AgentInput {
  return {
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.commune !== undefined ? { communeCode: o.commune } : {}),
    ...(o.access !== undefined ? { access: o.access } : {}),
    ...(o.isp !== undefined ? { isp: o.isp } : {}),
    ...(o.planMbps !== undefined ? { planMbps: o.planMbps } : {}),
    ...(o.lat !== undefined ? { latitude: o.lat } : {}),
    ...(o.lon !== undefined ? { longitude: o.lon } : {}),
    ...(o.location !== undefined ? { location: o.location } : {}),
  };
}

function withDb<T>(o: { data: string; db?: string }, fn: (db: Db) => T): T {
  const db = openDb({ path: dbPathOf(o) });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

agentOptions(
  agents
    .command('add')
    .description('register an agent and print its token (shown once)')
    .requiredOption('--name <name>', 'human name, e.g. the commune office'),
  true,
).action((o: AgentFlags & { json?: boolean; data: string; db?: string }) =>
  withDb(o, (db) => {
    const { agent, token } = registerAgent(db, agentInput(o), Date.now());
    if (o.json) console.log(JSON.stringify({ id: agent.id, name: agent.name, token }));
    else
      console.log(
        `agent ${agent.id} (${agent.name}, ${agent.access}${agent.commune_code ? `, commune ${agent.commune_code}` : ''})\ntoken ${token}\nKeep the token secret; it is shown only once.`,
      );
  }),
);

agentOptions(
  agents
    .command('set <id>')
    .description("change an agent's name, commune, access type, ISP, plan speed or location")
    .option('--name <name>', 'human name'),
  false,
).action((id: string, o: AgentFlags & { json?: boolean; data: string; db?: string }) =>
  withDb(o, (db) => {
    const agent = updateAgent(db, id, agentInput(o), Date.now());
    console.log(o.json ? JSON.stringify(agent, null, 2) : `updated ${agent.id} (${agent.name})`);
  }),
);

agents
  .command('list')
  .description('list agents (never their tokens)')
  .option('--json', 'print JSON')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((o: { json?: boolean; data: string; db?: string }) =>
    withDb(o, (db) => {
      const rows = createAgentsRepo(db).list();
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else
        for (const r of rows)
          console.log(
            [
              r.id,
              r.access.padEnd(6),
              r.revoked_at ? 'revoked' : 'active ',
              (r.commune_code ?? '-').padEnd(6),
              (r.isp ?? '-').padEnd(8),
              r.last_seen_at ? new Date(r.last_seen_at).toISOString() : 'never seen'.padEnd(24),
              r.name,
            ].join('  '),
          );
    }),
  );

agents
  .command('revoke <id>')
  .description('revoke an agent token; its results stay')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((id: string, o: { data: string; db?: string }) =>
    withDb(o, (db) => {
      if (!createRepo(db).revokeAgent(id, Date.now())) {
        throw new HatangError('HATANG_ERR_NOT_FOUND', `no active agent ${id}`, {
          hint: 'List agents with: hatang-collector agents list',
        });
      }
      console.log(`revoked ${id}`);
    }),
  );

const units = program.command('units').description('administrative units (GSO codes), renames, merges and groups');

const effectiveOpt = () =>
  new Option('--effective <date>', 'local date (YYYY-MM-DD) the change holds from; default now');

units
  .command('import <file>')
  .description('import a units CSV: code,name,type,level,parent_code (optional merged_into, members)')
  .addOption(effectiveOpt())
  .option('--dry-run', 'check the file and show what would change, change nothing')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((file: string, o: { effective?: string; dryRun?: boolean; data: string; db?: string }) =>
    withDb(o, (db) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (cause) {
        throw new HatangError('HATANG_ERR_NOT_FOUND', `cannot read ${file}`, { cause });
      }
      const list = readUnitsCsv(text);
      const run = () =>
        importUnits(db, list, {
          effectiveAt: effectiveAt(o.effective, Date.now()),
          now: Date.now(),
          source: basename(file),
        });
      if (o.dryRun) {
        let summary: ReturnType<typeof run> | undefined;
        try {
          db.transaction(() => {
            summary = run();
            throw new Error('dry run');
          })();
        } catch (e) {
          if (!summary) throw e;
        }
        console.log(`dry run: ${JSON.stringify(summary)}`);
        return;
      }
      const s = run();
      console.log(
        `${s.total} units: ${s.added} added, ${s.changed} changed, ${s.unchanged} unchanged, ${s.merged} merged`,
      );
    }),
  );

units
  .command('list')
  .description('list units')
  .addOption(new Option('--level <level>', 'only this level').choices([...UNIT_LEVELS]))
  .option('--parent <code>', 'only units under this one')
  .option('--all', 'include units that no longer exist')
  .option('--json', 'print JSON')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((o: { level?: UnitLevel; parent?: string; all?: boolean; json?: boolean; data: string; db?: string }) =>
    withDb(o, (db) => {
      const repo = createUnitsRepo(db);
      const tree = new UnitTree(repo.all(), repo.history(), repo.members());
      const rows = repo
        .all()
        .filter((u) => (o.all || u.valid_to === null) && (!o.level || u.level === o.level))
        .filter((u) => !o.parent || (u.code !== o.parent && tree.isWithin(u.code, o.parent)));
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else
        for (const u of rows)
          console.log(
            `${u.code.padEnd(6)}  ${u.level.padEnd(8)}  ${(u.parent_code ?? '-').padEnd(6)}  ${u.name}${u.valid_to !== null ? `  (until ${new Date(u.valid_to).toISOString().slice(0, 10)}${u.merged_into ? `, merged into ${u.merged_into}` : ''})` : ''}`,
          );
    }),
  );

units
  .command('rename <code> <name>')
  .description('rename a unit; reports for earlier periods keep the old name')
  .addOption(effectiveOpt())
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((code: string, name: string, o: { effective?: string; data: string; db?: string }) =>
    withDb(o, (db) => {
      const u = renameUnit(db, code, name, {
        effectiveAt: effectiveAt(o.effective, Date.now()),
        now: Date.now(),
        source: 'cli',
      });
      console.log(`${u.code} is now ${u.name}`);
    }),
  );

units
  .command('merge <codes...>')
  .description('merge units into one: they cease to exist and their agents count toward it')
  .requiredOption('--into <code>', 'the unit that takes them over')
  .addOption(effectiveOpt())
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((codes: string[], o: { into: string; effective?: string; data: string; db?: string }) =>
    withDb(o, (db) => {
      mergeUnits(db, codes, o.into, {
        effectiveAt: effectiveAt(o.effective, Date.now()),
        now: Date.now(),
        source: 'cli',
      });
      console.log(`merged ${codes.join(', ')} into ${o.into}`);
    }),
  );

units
  .command('group <code> <name>')
  .description('create or replace a named group of units (e.g. communes of one project)')
  .requiredOption('--members <codes>', 'member codes, comma-separated')
  .option('--parent <code>', 'province or district the group belongs to (its readers may read it)')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((code: string, name: string, o: { members: string; parent?: string; data: string; db?: string }) =>
    withDb(o, (db) => {
      const members = o.members
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
      saveGroup(
        db,
        { code, name, parentCode: o.parent ?? null, members },
        { effectiveAt: Date.now(), now: Date.now(), source: 'cli' },
      );
      console.log(`group ${code} (${name}): ${members.length} members`);
    }),
  );

const admin = program.command('admin').description('admin credentials for the statistics, export and admin API');
const adminToken = admin.command('token').description('admin bearer tokens (stored hashed)');

adminToken
  .command('create')
  .description('create an admin token and print it (shown once)')
  .requiredOption('--name <name>', 'who or what uses it, e.g. "grafana" or "province IT"')
  .option('--json', 'print JSON')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((o: { name: string; json?: boolean; data: string; db?: string }) =>
    withDb(o, (db) => {
      const { id, token } = createAdminTokenRepo(db).create(o.name, Date.now());
      if (o.json) console.log(JSON.stringify({ id, name: o.name, token }));
      else console.log(`admin token ${id} (${o.name})\ntoken ${token}\nKeep it secret; it is shown only once.`);
    }),
  );

adminToken
  .command('list')
  .description('list admin tokens (never the secrets)')
  .option('--json', 'print JSON')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((o: { json?: boolean; data: string; db?: string }) =>
    withDb(o, (db) => {
      const rows = createAdminTokenRepo(db)
        .list()
        .map(({ token_hash: _h, ...r }) => r);
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else for (const r of rows) console.log(`${r.id}  ${r.revoked_at ? 'revoked' : 'active '}  ${r.name}`);
    }),
  );

adminToken
  .command('revoke <id>')
  .description('revoke an admin token')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((id: string, o: { data: string; db?: string }) =>
    withDb(o, (db) => {
      if (!createAdminTokenRepo(db).revoke(id, Date.now())) {
        throw new HatangError('HATANG_ERR_NOT_FOUND', `no active admin token ${id}`);
      }
      console.log(`revoked ${id}`);
    }),
  );

program
  .command('backup <file>')
  .description('online backup of the database to FILE (the collector may keep running)')
  .option('--force', 'overwrite FILE if it exists')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action(async (file: string, o: { force?: boolean; data: string; db?: string }) => {
    if (existsSync(file) && !o.force) {
      throw new HatangError('HATANG_ERR_VALIDATION', `${file} exists`, { hint: 'Choose a new file or pass --force.' });
    }
    // Read-only: a backup copies the database as it is and never migrates it (the copy taken
    // before an upgrade must stay restorable by the version that wrote it).
    const db = openDb({ path: dbPathOf(o), readonly: true });
    try {
      const started = Date.now();
      let last = -1;
      const { totalPages } = await backupDb(db, file, ({ totalPages, remainingPages }) => {
        const pct = totalPages ? Math.floor(((totalPages - remainingPages) * 100) / totalPages) : 100;
        if (pct !== last && (pct % 5 === 0 || pct === 100)) {
          last = pct;
          process.stderr.write(`\rbackup ${pct}% (${totalPages - remainingPages}/${totalPages} pages)`);
        }
      });
      process.stderr.write(`\rbackup 100% (${totalPages}/${totalPages} pages)\n`);
      console.log(`backup written to ${file}: ${totalPages} pages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      db.close();
    }
  });

program
  .command('prune')
  .description('delete raw results older than the retention now (statistics are kept)')
  .requiredOption('--days <n>', 'keep this many days of raw results', numberArg('--days'))
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action(async (o: { days: number; data: string; db?: string }) => {
    if (!Number.isInteger(o.days) || o.days < 1) throw new InvalidArgumentError('--days must be a whole number ≥ 1');
    const db = openDb({ path: dbPathOf(o) });
    try {
      const n = await pruneRawResults(db, Date.now() - o.days * DAY_MS, async () => {
        process.stderr.write('.');
      });
      console.log(`\ndeleted ${n} raw results older than ${o.days} days`);
    } finally {
      db.close();
    }
  });

program
  .command('rollups')
  .description('statistics rollups')
  .command('rebuild')
  .description(
    'recompute weekly and monthly rollups from raw results (default: the months raw results cover completely)',
  )
  .option('--from <date>', 'first local date, YYYY-MM-DD')
  .option('--to <date>', 'last local date, YYYY-MM-DD')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((o: { from?: string; to?: string; data: string; db?: string }) =>
    withDb(o, (db) => {
      const span = db.prepare('SELECT min(started_at) AS a, max(started_at) AS b FROM results').get() as {
        a: number | null;
        b: number | null;
      };
      if (span.a === null || span.b === null) {
        console.log('no raw results: nothing to rebuild');
        return;
      }
      // Default: from the first month whose first day raw results still cover, to the last result.
      let first = localDayOf(span.a);
      const m = periodOf('month', span.a);
      if (m.firstDay < first) first = m.lastDay + 1;
      const from = o.from ? localDayOf(effectiveAt(o.from, 0)) : first;
      const to = o.to ? localDayOf(effectiveAt(o.to, 0)) : localDayOf(span.b);
      if (from > to) throw new HatangError('HATANG_ERR_VALIDATION', 'nothing to rebuild: --from is after --to');
      const r = rebuildRollups(db, from, to);
      console.log(`rebuilt rollups from ${dayKey(from)} to ${dayKey(to)}: ${r.samples} results read`);
    }),
  );

const enrollCode = program
  .command('enroll-code')
  .description('one-time enrolment codes: one per agent box, traded by `hatang-agent enroll` for a token');

enrollCode
  .command('create')
  .description('make a one-time enrolment code for one agent (shown once)')
  .requiredOption('--name <name>', 'name of the agent, e.g. the commune office')
  .requiredOption('--commune <code>', 'GSO code of its commune')
  .addOption(new Option('--access <type>', 'access type of its line').choices([...ACCESS_TYPES]).makeOptionMandatory())
  .option('--isp <isp>', 'ISP of its line')
  .option('--plan-mbps <mbps>', 'contracted download speed, Mbit/s', (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
    return n;
  })
  .option('--expires <duration>', 'lifetime: a number and m, h or d', '7d')
  .option('--json', 'print JSON')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action(
    (o: {
      name: string;
      commune: string;
      access: AccessType;
      isp?: string;
      planMbps?: number;
      expires: string;
      json?: boolean;
      data: string;
      db?: string;
    }) => {
      const ttlMs = parseTtl(o.expires);
      const db = openDb({ path: dbPathOf(o) });
      try {
        const { row, code } = createEnrollCodes(db).create(
          {
            name: o.name,
            communeCode: o.commune,
            access: o.access,
            isp: o.isp ?? null,
            planMbps: o.planMbps ?? null,
            ttlMs,
          },
          Date.now(),
        );
        const expiresAt = new Date(row.expires_at).toISOString();
        if (o.json) {
          console.log(
            JSON.stringify({
              id: row.id,
              code,
              name: row.name,
              commune: row.commune_code,
              access: row.access,
              isp: row.isp,
              expiresAt,
            }),
          );
        } else {
          console.log(
            `enrolment code ${code}\n  for ${row.name} (commune ${row.commune_code}, ${row.access}${row.isp ? `, ${row.isp}` : ''})\n  valid until ${expiresAt}, once\n  on the agent: hatang-agent enroll --collector <this collector's URL> --code ${code}\nThe code is shown only now; only its hash is stored.`,
          );
        }
      } finally {
        db.close();
      }
    },
  );

enrollCode
  .command('list')
  .description('list enrolment codes (usable ones; --all for used, expired and revoked too)')
  .option('--all', 'include used, expired and revoked codes')
  .option('--json', 'print JSON')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((o: { all?: boolean; json?: boolean; data: string; db?: string }) => {
    const db = openDb({ path: dbPathOf(o) });
    try {
      const rows = createEnrollCodes(db).list(Date.now(), { all: o.all ?? false });
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else if (rows.length === 0)
        console.log(o.all ? 'no enrolment codes' : 'no usable enrolment codes (--all shows the rest)');
      else
        for (const r of rows)
          console.log(
            `${r.id}  ${r.code_hint}-…  ${r.state.padEnd(7)}  ${r.access.padEnd(6)}  ${(r.commune_code ?? '').padEnd(6)}  until ${new Date(r.expires_at).toISOString()}  ${r.name}${r.agent_id ? `  → agent ${r.agent_id}` : ''}`,
          );
    } finally {
      db.close();
    }
  });

enrollCode
  .command('revoke <id>')
  .description('revoke an unused enrolment code')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((id: string, o: { data: string; db?: string }) => {
    const db = openDb({ path: dbPathOf(o) });
    try {
      if (!createEnrollCodes(db).revoke(id, Date.now())) {
        throw new HatangError('HATANG_ERR_NOT_FOUND', `no unused, unrevoked enrolment code ${id}`, {
          hint: 'List codes with: hatang-collector enroll-code list --all',
        });
      }
      console.log(`revoked enrolment code ${id}`);
    } finally {
      db.close();
    }
  });

registerUserCommands(program);

program.parseAsync().catch((err: unknown) => {
  if (err instanceof HatangError) {
    console.error(`error ${err.code}: ${err.message}${err.hint ? `\n  ${err.hint}` : ''}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
