import { PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import {
  API_PREFIX,
  bootOffset,
  COLLECTOR_CONFIG_DEFAULTS,
  type CollectorConfig,
  HatangError,
  IngestEnvelope,
  type IngestResponse,
  MAX_INGEST_BODY_BYTES,
  MAX_JSON_DEPTH,
  rebase,
  Validator,
} from '@hatang/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { agentStatusRow } from '../ingest/agent-status.js';
import { headlineColumns } from '../ingest/columns.js';
import type { IngestedResult } from '../ingest/events.js';
import { resultFlags } from '../ingest/flags.js';
import { jsonDepthExceeds } from '../ingest/json-depth.js';
import { RateLimiter } from '../ingest/rate-limit.js';
import { checkResult } from '../ingest/validate.js';
import { countsInStats, normIsp, RollupBatch } from '../stats/rollup.js';
import { createRollupRepo } from '../storage/rollups.js';

const envelope = new Validator(IngestEnvelope);

export interface IngestRouteOptions {
  /** Clock, injectable for tests. */
  now?: () => number;
  /** Collector config (ingest.ratePerMinute, ingest.burst). */
  config?: CollectorConfig;
}

/** `POST /api/v1/results`: an agent pushes a batch; each result is accepted, a duplicate, or rejected with its reason. */
export async function ingestRoutes(app: FastifyInstance, opts: IngestRouteOptions) {
  const now = opts.now ?? Date.now;
  const limits = (opts.config ?? COLLECTOR_CONFIG_DEFAULTS).ingest;
  const limiter = new RateLimiter(limits.ratePerMinute, limits.burst);
  const rollups = createRollupRepo(app.db);

  /** preHandler after requireAgent: per-agent token bucket, 429 + Retry-After past it. */
  const rateLimit = async (req: FastifyRequest) => {
    const wait = limiter.take((req.agent as NonNullable<typeof req.agent>).id, now());
    if (wait > 0) {
      throw new HatangError('HATANG_ERR_RATE_LIMITED', `too many ingest requests from this agent; retry in ${wait} s`, {
        hint: 'Agents back off by the Retry-After header; raise ingest.ratePerMinute if this is expected.',
        details: { retryAfterS: wait },
      });
    }
  };

  // gzip bodies are inflated before parsing; the 1 MiB limit applies to the inflated JSON too.
  app.addHook('preParsing', async (req, _reply, payload) => {
    const enc = req.headers['content-encoding'];
    if (!enc || enc === 'identity') return payload;
    if (enc !== 'gzip') {
      throw new HatangError(
        'HATANG_ERR_UNSUPPORTED_MEDIA',
        `Content-Encoding ${enc} is not supported; use gzip or none`,
      );
    }
    // Fastify checks Content-Length (and its body limit) against `receivedEncodedLength`, the
    // compressed bytes; the inflated size is limited here, so a gzip bomb stops at 1 MiB.
    const inflated = Object.assign(new PassThrough(), { receivedEncodedLength: 0 });
    let size = 0;
    payload.on('data', (c: Buffer) => {
      inflated.receivedEncodedLength += c.length;
    });
    const gunzip = createGunzip();
    gunzip.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_INGEST_BODY_BYTES) {
        gunzip.destroy();
        inflated.destroy(
          new HatangError(
            'HATANG_ERR_PAYLOAD_TOO_LARGE',
            `inflated body is larger than ${MAX_INGEST_BODY_BYTES} bytes`,
            {
              hint: 'Send smaller batches.',
            },
          ),
        );
      }
    });
    gunzip.on('error', () => inflated.destroy(new HatangError('HATANG_ERR_VALIDATION', 'body is not valid gzip')));
    payload.pipe(gunzip).pipe(inflated);
    return inflated;
  });

  // JSON with a nesting guard: results nest about 5 deep, so anything past MAX_JSON_DEPTH is
  // refused before it is parsed. Plain JSON.parse otherwise: fastify's default parser refuses a
  // whole body holding a `__proto__` key, which would turn one odd result into a poison batch the
  // agent resends forever. Here such a key is an own property like any other and strict
  // validation rejects that result alone; nothing merges parsed objects, so nothing is polluted.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, raw, done) => {
    if (jsonDepthExceeds(raw as Buffer, MAX_JSON_DEPTH)) {
      done(new HatangError('HATANG_ERR_VALIDATION', `body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      return;
    }
    try {
      done(null, JSON.parse((raw as Buffer).toString('utf8')));
    } catch (err) {
      done(new HatangError('HATANG_ERR_VALIDATION', `body is not valid JSON: ${(err as Error).message}`), undefined);
    }
  });

  app.post(
    `${API_PREFIX}/results`,
    { bodyLimit: MAX_INGEST_BODY_BYTES, preHandler: [app.requireAgent, rateLimit] },
    async (req): Promise<IngestResponse> => {
      const agent = req.agent!;
      if (
        req.body &&
        typeof req.body === 'object' &&
        (Object.hasOwn(req.body, '__proto__') || Object.hasOwn(req.body, 'constructor'))
      ) {
        throw new HatangError('HATANG_ERR_VALIDATION', 'envelope: has a forbidden "__proto__" or "constructor" key');
      }
      const problem = envelope.explain(req.body);
      if (problem) throw new HatangError('HATANG_ERR_VALIDATION', `envelope: ${problem}`);
      const batch = req.body as IngestEnvelope;
      const receivedAt = now();
      const out: IngestResponse = { accepted: [], duplicate: [], rejected: [] };
      const batchRollup = new RollupBatch(rollups);
      let touched: number[] = [];
      const ingested: IngestedResult[] = [];

      app.repo.transaction(() => {
        let version: string | null = null;
        // Boot offsets looked up once per boot id in the batch.
        const offsets = new Map<string, number | undefined>();
        for (const raw of batch.results) {
          const c = checkResult(raw);
          if (!c.ok) {
            out.rejected.push({ id: c.id, code: 'HATANG_ERR_VALIDATION', message: c.message });
            continue;
          }
          const r = c.result;
          if (!offsets.has(r.clock.bootId)) offsets.set(r.clock.bootId, app.repo.bootOffset(agent.id, r.clock.bootId));
          const wallAt = Date.parse(r.startedAt);
          const t = rebase({
            result: r.clock,
            wallAt,
            batch: batch.clock,
            receivedAt,
            knownOffsetMs: offsets.get(r.clock.bootId),
          });
          const columns = headlineColumns(r);
          const flags = resultFlags({
            trusted: t.trusted,
            wallAt,
            receivedAt,
            skewMs: t.skewMs,
            agentLimited: r.agentLimited ?? false,
          });
          // Insert first; an id already stored is a duplicate (same agent) or taken (another agent).
          const inserted = app.repo.insertResult({
            id: r.id,
            agentId: agent.id,
            kind: r.kind,
            status: r.status,
            startedAt: t.startedAt,
            wallAt,
            receivedAt,
            timeTrusted: t.trusted,
            access: r.network.access,
            family: r.network.family,
            isp: r.network.isp ?? null,
            serverId: r.server?.id ?? null,
            ...columns,
            bytesUsed: r.bytesUsed,
            agentLimited: r.agentLimited ?? false,
            flags,
            body: JSON.stringify(r),
          });
          if (!inserted) {
            if (app.repo.resultOwner(r.id) === agent.id) out.duplicate.push(r.id);
            else out.rejected.push({ id: r.id, code: 'HATANG_ERR_ID_TAKEN', message: '/id belongs to another agent' });
            continue;
          }
          const counted = countsInStats({ kind: r.kind, status: r.status, flags, ...columns });
          if (counted) {
            batchRollup.add(agent.id, r.network.access, normIsp(agent.isp ?? r.network.isp), {
              at: t.startedAt,
              down: columns.downloadBps,
              up: columns.uploadBps,
              lat: columns.latencyMs,
            });
          }
          out.accepted.push(r.id);
          ingested.push({
            kind: r.kind,
            status: r.status,
            access: r.network.access,
            serverId: r.server?.id ?? null,
            downloadBps: columns.downloadBps,
            counted,
          });
          version = r.agentVersion;
        }
        touched = batchRollup.flush().days;
        // The agent's outbox status: one upsert (or, from an older agent, one delete) per batch.
        const status = batch.agentStatus
          ? agentStatusRow(batch.agentStatus, batch.clock, receivedAt, (bootId) => {
              if (!offsets.has(bootId)) offsets.set(bootId, app.repo.bootOffset(agent.id, bootId));
              return offsets.get(bootId);
            })
          : null;
        app.repo.setAgentStatus(agent.id, status);
        app.repo.recordBoot(agent.id, batch.clock.bootId, bootOffset(batch.clock, receivedAt), receivedAt);
        app.repo.touchAgent(agent.id, receivedAt, version);
      });
      if (touched.length && app.hasDecorator('stats')) app.stats.touch(touched);
      if (app.hasDecorator('ingestEvents')) {
        app.ingestEvents.emit({
          agentId: agent.id,
          accepted: ingested,
          duplicate: out.duplicate.length,
          rejected: out.rejected.map((x) => x.code),
        });
      }
      req.log.info(
        {
          agent: agent.id,
          accepted: out.accepted.length,
          duplicate: out.duplicate.length,
          rejected: out.rejected.length,
        },
        'ingest',
      );
      return out;
    },
  );
}
