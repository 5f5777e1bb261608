#!/usr/bin/env node
import { join } from 'node:path';
import { ACCESS_TYPES, type AccessType, HatangError } from '@hatang/shared';
import { Command, InvalidArgumentError, Option } from 'commander';
import { buildApp, type Role } from './app.js';
import { loadCollectorConfig } from './config.js';
import { openDb } from './storage/db.js';
import { createRepo } from './storage/repo.js';
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
      const address = await app.listen({ host: config.server.host, port: config.server.port });
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

const agents = program.command('agents').description('manage agent credentials');

agents
  .command('add')
  .description('register an agent and print its token (shown once)')
  .requiredOption('--name <name>', 'human name, e.g. the commune office')
  .addOption(new Option('--access <type>', 'access type of its line').choices([...ACCESS_TYPES]).default('fixed'))
  .option('--isp <isp>', 'ISP of its line')
  .option('--commune <code>', 'GSO code of its commune')
  .option('--json', 'print JSON')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action(
    (o: {
      name: string;
      access: AccessType;
      isp?: string;
      commune?: string;
      json?: boolean;
      data: string;
      db?: string;
    }) => {
      const db = openDb({ path: dbPathOf(o) });
      try {
        const { agent, token } = createRepo(db).addAgent(
          { name: o.name, access: o.access, isp: o.isp ?? null, communeCode: o.commune ?? null },
          Date.now(),
        );
        if (o.json) console.log(JSON.stringify({ id: agent.id, name: agent.name, token }));
        else
          console.log(
            `agent ${agent.id} (${agent.name})\ntoken ${token}\nKeep the token secret; it is shown only once.`,
          );
      } finally {
        db.close();
      }
    },
  );

agents
  .command('list')
  .description('list agents')
  .option('--json', 'print JSON')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((o: { json?: boolean; data: string; db?: string }) => {
    const db = openDb({ path: dbPathOf(o) });
    try {
      const rows = createRepo(db)
        .listAgents()
        .map(({ token_hash: _h, ...r }) => r);
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else
        for (const r of rows)
          console.log(`${r.id}  ${r.access.padEnd(6)}  ${r.revoked_at ? 'revoked' : 'active '}  ${r.name}`);
    } finally {
      db.close();
    }
  });

agents
  .command('revoke <id>')
  .description('revoke an agent token; its results stay')
  .addOption(dataOpt())
  .addOption(dbOpt())
  .action((id: string, o: { data: string; db?: string }) => {
    const db = openDb({ path: dbPathOf(o) });
    try {
      if (!createRepo(db).revokeAgent(id, Date.now())) {
        throw new HatangError('HATANG_ERR_NOT_FOUND', `no active agent ${id}`, {
          hint: 'List agents with: hatang-collector agents list',
        });
      }
      console.log(`revoked ${id}`);
    } finally {
      db.close();
    }
  });

program.parseAsync().catch((err: unknown) => {
  if (err instanceof HatangError) {
    console.error(`error ${err.code}: ${err.message}${err.hint ? `\n  ${err.hint}` : ''}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});
