import { COLLECTOR_CONFIG_DEFAULTS, type CollectorConfig, HatangError } from '@hatang/shared';
import type { FastifyInstance, FastifyReply } from 'fastify';
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

  // Upload bodies are streamed and discarded, whatever their content type (this plugin only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  /** Take a transfer slot or answer 429; the slot is given back when the response closes. */
  function admit(reply: FastifyReply, kind: 'downloads' | 'uploads'): void {
    if (stats.active >= maxConcurrentTransfers) {
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
    reply.raw.once('close', () => {
      stats.active--;
    });
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
    admit(reply, 'downloads');
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
    admit(reply, 'uploads');
    const body = req.body as NodeJS.ReadableStream | undefined;
    const rec = new UploadRecorder();
    if (body && typeof body.on === 'function') {
      // 'data' events, not async iteration: no promise per chunk at multi-Gbit/s.
      await new Promise<void>((resolve, reject) => {
        const tooLarge = () =>
          new HatangError('HATANG_ERR_PAYLOAD_TOO_LARGE', `upload body may be at most ${maxUpBytes} bytes`, {
            hint: 'Send at most that much per request; use several requests for more.',
          });
        body.on('data', (chunk: Buffer) => {
          rec.add(chunk.length);
          stats.bytesReceived += chunk.length;
          if (rec.bytes > maxUpBytes) {
            reply.header('connection', 'close');
            body.removeAllListeners('data');
            body.pause();
            reject(tooLarge());
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
