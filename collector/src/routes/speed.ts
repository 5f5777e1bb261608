import {
  type CollectorConfig,
  HatangError,
  MAX_SPEED_DOWN_BYTES,
  MAX_SPEED_UP_BYTES,
  type SpeedUpResponse,
} from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { incompressibleStream } from '../speed/payload.js';

const NO_CACHE = { 'cache-control': 'no-store, no-transform', pragma: 'no-cache' };

/**
 * HTTP speed-test endpoints (docs/protocol.md §Speed). Stateless: they also run alone with
 * `--role speedtest`. Bodies are incompressible and never cached or compressed.
 */
export async function speedRoutes(app: FastifyInstance, _opts: { config: CollectorConfig }) {
  // Upload bodies are streamed and discarded, whatever their content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  app.get<{ Querystring: { bytes?: string } }>('/speed/down', async (req, reply) => {
    const raw = req.query.bytes ?? '';
    const bytes = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(bytes) || bytes < 1 || bytes > MAX_SPEED_DOWN_BYTES) {
      throw new HatangError('HATANG_ERR_OUT_OF_RANGE', `bytes must be an integer from 1 to ${MAX_SPEED_DOWN_BYTES}`);
    }
    reply.headers({ ...NO_CACHE, 'content-type': 'application/octet-stream', 'content-length': String(bytes) });
    return reply.send(incompressibleStream(bytes));
  });

  app.post('/speed/up', async (req, reply) => {
    const body = req.body as NodeJS.ReadableStream | undefined;
    let bytes = 0;
    let firstByteAt = 0;
    let lastByteAt = 0;
    const started = performance.now();
    if (body && typeof (body as AsyncIterable<Buffer>)[Symbol.asyncIterator] === 'function') {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        const t = Date.now();
        if (bytes === 0) firstByteAt = t;
        lastByteAt = t;
        bytes += chunk.length;
        if (bytes > MAX_SPEED_UP_BYTES) {
          reply.header('connection', 'close');
          throw new HatangError(
            'HATANG_ERR_PAYLOAD_TOO_LARGE',
            `upload body is larger than ${MAX_SPEED_UP_BYTES} bytes`,
          );
        }
      }
    }
    const res: SpeedUpResponse = {
      bytes,
      durationMs: bytes === 0 ? 0 : lastByteAt - firstByteAt,
      firstByteAt,
      lastByteAt,
    };
    reply.headers({ ...NO_CACHE, 'server-timing': `recv;dur=${(performance.now() - started).toFixed(1)}` });
    return res;
  });

  app.get('/speed/ping', async (_req, reply) => {
    reply.headers({ ...NO_CACHE, 'server-timing': `app;dur=0` });
    return reply.code(204).send();
  });
}
