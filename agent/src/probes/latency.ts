import { connectionFor } from '../net/http.js';
import { idleLatency, latencyStats } from './latency-core.js';
import { errorCode, errorMessage, type Probe } from './probe.js';

/** Latency probe: 20 HTTP pings on a warm connection to the first server (DESIGN.md §3). */
export const latencyProbe: Probe<'latency'> = {
  kind: 'latency',
  title: 'Latency',
  async run(ctx) {
    const server = ctx.servers[0]!;
    const family = ctx.config.speed.family;
    const dispatcher = connectionFor(family);
    try {
      ctx.onProgress?.({ phase: 'latency', message: server.url });
      const rtts = await idleLatency(server.url, dispatcher, ctx.signal);
      return {
        status: 'ok',
        body: { method: 'http', stats: latencyStats(rtts) },
        family: family === '6' || (family === 'auto' && new URL(server.url).hostname.includes(':')) ? 6 : 4,
        server,
        bytesUsed: rtts.length * 300,
      };
    } catch (err) {
      return {
        status: 'error',
        error: { code: errorCode(err), phase: 'ping', message: errorMessage(err) },
        family: family === '6' ? 6 : 4,
        server,
        bytesUsed: 0,
      };
    } finally {
      await dispatcher.close();
    }
  },
};
