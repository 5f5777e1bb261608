import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTOR_CONFIG_DEFAULTS } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { type BuildAppOptions, buildApp } from './app.js';

export interface TestCollector {
  app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  dbPath: string;
  /** A fresh agent token (and id) registered in this collector. */
  addAgent(name?: string, access?: 'fixed' | 'mobile'): { id: string; token: string };
  close(): Promise<void>;
}

/** A real collector on 127.0.0.1:0 (or ::1) with a temporary SQLite file (ndt-server's ndt7test idea). */
export async function startCollector(
  opts: BuildAppOptions & { host?: string; dir?: string } = {},
): Promise<TestCollector> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'hatang-collector-'));
  const dbPath = opts.dbPath ?? join(dir, 'hatang.db');
  // Tests never use fixed ports: the UDP echo picks a free one too unless the test chose one.
  const base = opts.config ?? COLLECTOR_CONFIG_DEFAULTS;
  const config = { ...base, udp: { ...COLLECTOR_CONFIG_DEFAULTS.udp, ...base.udp, port: base.udp?.port ?? 0 } };
  const app = await buildApp({ ...opts, config, dbPath });
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: 0 });
  await app.udpEcho.ready;
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('collector did not bind a TCP port');
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}`;
  return {
    app,
    url,
    dbPath,
    addAgent(name = 'test-agent', access = 'fixed') {
      const { agent, token } = app.repo.addAgent({ name, access }, Date.now());
      return { id: agent.id, token };
    },
    async close() {
      await app.close();
      if (!opts.dir && !opts.dbPath) rmSync(dir, { recursive: true, force: true });
    },
  };
}
