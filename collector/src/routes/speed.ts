import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig, HatangError } from '@hatang/shared';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Lease } from '../public/limits.js';
import { writePayload } from '../speed/payload.js';
import type { SpeedStats } from '../speed/stats.js';
import { UploadRecorder } from '../speed/upload.js';

const NO_CACHE = { 'cache-control': 'no-store, no-transform', pragma: 'no-cache' };

export interface SpeedRoutesOptions {
  config: CollectorConfig;
  stats: SpeedStats;
}

function timing(name: string, ms: number): string {
  return `${name};dur=${ms.toFixed(2)}`;
}

/**
 * HTTP speed-test endpoints (docs/protocol.md §2). Stateless: they also run alone with
 * `--role speedtest`. Download bodies cycle through one pre-generated incompressible buffer and are
 * never cached or compressed; upload bodies are counted and timed on the server's clock. Every
 * request has an explicit byte limit, and the number of transfers served at once is capped.
 */
export async function speedRoutes(app: FastifyInstance, opts: SpeedRoutesOptions) {
  const { maxDownBytes, maxUpBytes, maxConcurrentTransfers } = {
    ...COLLECTOR_CONFIG_DEFAULTS.speed,
    ...opts.config.speed,
  };
  const stats = opts.stats;
  const pub = app.publicLimits;

  // Upload bodies are streamed and discarded, whatever their content type (this plugin only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  /**
   * Take a slot for one transfer or answer 429: the client address's share (`public` limits, shared
   * with ndt7), then this server's transfer cap. Both are given back when the response closes, and
   * a transfer still running after `public.maxRequestSeconds` (a client that stopped reading, or
   * trickles its upload) is cut off so its slot cannot be held forever.
   */
  function admit(req: FastifyRequest, reply: FastifyReply, kind: 'downloads' | 'uploads', bytes: number): Lease {
    const client = pub.clientAddress(req.raw);
    const got = pub.acquire(client, bytes);
    if ('denied' in got) {
      stats.refused++;
      reply.header('connection', 'close');
      req.log.info({ reason: got.denied.reason, client }, 'public test request refused');
      throw pub.error(got.denied);
    }
    if (stats.active >= maxConcurrentTransfers) {
      got.lease.release();
      stats.refused++;
      reply.header('connection', 'close');
      throw new HatangError(
        'HATANG_ERR_RATE_LIMITED',
        `this test server is running ${maxConcurrentTransfers} transfers already`,
        { hint: 'Retry after the time given, or use another test server.', details: { retryAfterS: 2 } },
      );
    }
    stats.active++;
    stats[kind]++;
    const cutoff = setTimeout(() => {
      stats.cutOff++;
      req.log.info({ limitS: pub.config.maxRequestSeconds, kind }, 'speed-test transfer hit its time limit; dropped');
      // A reset, not a FIN: a client that stopped reading would keep a FIN'd socket's unsent
      // buffers alive in the kernel for minutes.
      const sock = req.raw.socket;
      if (typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
      else sock.destroy();
    }, pub.config.maxRequestSeconds * 1000);
    cutoff.unref();
    reply.raw.once('close', () => {
      clearTimeout(cutoff);
      stats.active--;
      got.lease.release();
    });
    return got.lease;
  }

  app.get<{ Querystring: { bytes?: string } }>('/speed/down', async (req, reply) => {
    const t0 = performance.now();
    const raw = req.query.bytes;
    const bytes = Number(raw);
    if (
      raw === undefined ||
      !/^\d{1,16}$/.test(raw) ||
      !Number.isSafeInteger(bytes) ||
      bytes < 1 ||
      bytes > maxDownBytes
    ) {
      throw new HatangError(
        'HATANG_ERR_OUT_OF_RANGE',
        `bytes must be an integer from 1 to ${maxDownBytes}${raw === undefined ? ' (missing)' : `, got "${String(raw).slice(0, 32)}"`}`,
        { hint: `Ask for at most ${maxDownBytes} bytes per request; use several requests for more.` },
      );
    }
    const lease = admit(req, reply, 'downloads', bytes);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...NO_CACHE,
      'content-type': 'application/octet-stream',
      'content-length': String(bytes),
      'server-timing': timing('app', performance.now() - t0),
    });
    await writePayload(res, bytes, (n) => {
      stats.bytesSent += n;
      lease.count(n);
    });
  });

  app.post('/speed/up', async (req, reply) => {
    const t0 = performance.now();
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxUpBytes) {
      reply.header('connection', 'close');
      throw new HatangError('HATANG_ERR_PAYLOAD_TOO_LARGE', `upload body may be at most ${maxUpBytes} bytes`, {
        hint: 'Send at most that much per request; use several requests for more.',
      });
    }
    const lease = admit(req, reply, 'uploads', declared === undefined ? 0 : Number(declared) || 0);
    // Received bytes count against the address's hourly budget; past it the upload is cut off.
    const budget = pub.remaining(pub.clientAddress(req.raw));
    const body = req.body as NodeJS.ReadableStream | undefined;
    const rec = new UploadRecorder();
    if (body && typeof body.on === 'function') {
      // 'data' events, not async iteration: no promise per chunk at multi-Gbit/s.
      await new Promise<void>((resolve, reject) => {
        const stop = (err: Error) => {
          reply.header('connection', 'close');
          body.removeAllListeners('data');
          body.pause();
          reject(err);
        };
        body.on('data', (chunk: Buffer) => {
          rec.add(chunk.length);
          stats.bytesReceived += chunk.length;
          lease.count(chunk.length);
          if (rec.bytes > budget) {
            stats.refused++;
            stop(
              pub.error({
                reason: 'ip-bytes',
                retryAfterS: 600,
                message: `data limit reached: ${pub.config.maxBytesPerIpPerHour} bytes per hour per address`,
              }),
            );
          } else if (rec.bytes > maxUpBytes) {
            stop(
              new HatangError('HATANG_ERR_PAYLOAD_TOO_LARGE', `upload body may be at most ${maxUpBytes} bytes`, {
                hint: 'Send at most that much per request; use several requests for more.',
              }),
            );
          }
        });
        body.once('end', () => resolve());
        body.once('error', reject);
        body.once('close', () => resolve());
      });
    }
    const answer = rec.answer();
    reply.headers({
      ...NO_CACHE,
      'server-timing': `${timing('recv', answer.durationMs)}, ${timing('app', performance.now() - t0)}`,
    });
    return answer;
  });

  app.get('/speed/ping', async (_req, reply) => {
    const t0 = performance.now();
    reply.headers({ ...NO_CACHE, 'server-timing': timing('app', performance.now() - t0) });
    return reply.code(204).send();
  });
}
