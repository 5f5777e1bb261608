import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessType, IngestEnvelope, Result } from '@hatang/shared';
import { COLLECTOR_CONFIG_DEFAULTS } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { type BuildAppOptions, buildApp } from './app.js';
import { createAdminTokenRepo } from './storage/admin-tokens.js';

export interface TestCollector {
  app: FastifyInstance;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  dbPath: string;
  /** A fresh agent token (and id) registered in this collector, optionally in a commune with an ISP. */
  addAgent(
    name?: string,
    access?: 'fixed' | 'mobile',
    extra?: { communeCode?: string; isp?: string; planMbps?: number },
  ): { id: string; token: string };
  /** A fresh admin bearer token. */
  adminToken(name?: string): string;
  close(): Promise<void>;
}

/** A real collector on 127.0.0.1:0 (or ::1) with a temporary SQLite file (ndt-server's ndt7test idea). */
export async function startCollector(
  opts: BuildAppOptions & {
    host?: string;
    dir?: string;
    /** Called before listen: add hooks (a 429 answer, a held response) for a test. */
    beforeListen?: (app: FastifyInstance) => void | Promise<void>;
  } = {},
): Promise<TestCollector> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'hatang-collector-'));
  const dbPath = opts.dbPath ?? join(dir, 'hatang.db');
  // In-process tests share one event loop with the collector (and with the test's own work), so
  // utilisation-based shedding is off here; the load test runs a separate collector process.
  // Tests never use fixed ports: the UDP echo picks a free one too unless the test chose one.
  const base = opts.config ?? COLLECTOR_CONFIG_DEFAULTS;
  const config = {
    ...base,
    load: { ...base.load, maxEventLoopUtilization: 1 },
    udp: { ...COLLECTOR_CONFIG_DEFAULTS.udp, ...base.udp, port: base.udp?.port ?? 0 },
  };
  const app = await buildApp({ ...opts, config, dbPath });
  await opts.beforeListen?.(app);
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
    addAgent(name = 'test-agent', access = 'fixed', extra = {}) {
      const { agent, token } = app.repo.addAgent(
        {
          name,
          access,
          communeCode: extra.communeCode ?? null,
          isp: extra.isp ?? null,
          planMbps: extra.planMbps ?? null,
        },
        Date.now(),
      );
      return { id: agent.id, token };
    },
    adminToken(name = 'test-admin') {
      return createAdminTokenRepo(app.db).create(name, Date.now()).token;
    },
    async close() {
      await app.close();
      if (!opts.dir && !opts.dbPath) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One speed test to seed through the API (figures in Mbit/s and ms). */
export interface SpeedSeed {
  /** Start, ms since epoch. */
  at: number;
  downMbps: number | null;
  upMbps?: number | null;
  latencyMs?: number | null;
  access?: AccessType;
  isp?: string;
  status?: 'ok' | 'partial' | 'error';
  id?: string;
}

/**
 * A valid wire speed result. Its clock names a boot the collector has not seen, so the collector
 * keeps the wall time `at` (flagged untrusted but counted): seeded history lands where asked.
 */
export function speedResult(s: SpeedSeed): Result {
  const dir = (mbps: number) => ({
    bps: mbps * 1e6,
    bytes: Math.round((mbps * 1e6 * 10) / 8),
    durationMs: 10_000,
    warmupMs: 1_500,
    streams: 8,
    stopReason: 'window' as const,
  });
  const latency = s.latencyMs ?? null;
  return {
    id: s.id ?? uuidv7({ msecs: s.at }),
    kind: 'speed',
    startedAt: new Date(s.at).toISOString(),
    clock: { bootId: 'seed-history', uptimeMs: 1000 },
    durationMs: 25_000,
    status: s.status ?? 'ok',
    network: { access: s.access ?? 'fixed', family: 4, ...(s.isp ? { isp: s.isp } : {}) },
    server: { id: 'test', url: 'http://127.0.0.1/' },
    bytesUsed: 1_000_000,
    agentVersion: '0.1.0',
    speed: {
      profile: 'fixed',
      ...(s.downMbps !== null ? { download: dir(s.downMbps) } : {}),
      ...(s.upMbps !== undefined && s.upMbps !== null ? { upload: dir(s.upMbps) } : {}),
      ...(latency !== null
        ? {
            idle: {
              samples: 19,
              minMs: latency,
              medianMs: latency,
              meanMs: latency,
              p90Ms: latency,
              jitterMs: 0,
              stdDevMs: 0,
            },
          }
        : {}),
    },
  } as Result;
}

/** An ingest envelope around results, sent "now" from a boot unlike the results' one. */
export function ingestEnvelope(results: unknown[], sentAt = Date.now()): IngestEnvelope {
  return {
    schema: 1,
    sentAt: new Date(sentAt).toISOString(),
    clock: { bootId: 'seed-batch', uptimeMs: 5_000 },
    results: results as IngestEnvelope['results'],
  };
}
