import { latencyStats } from '@hatang/shared';
import { idleLatency, selectServer } from './latency-core.js';
import { errorCode, errorMessage, type Probe } from './probe.js';

/**
 * Latency probe (DESIGN.md §3): the configured server with the lowest idle latency, then 20 HTTP
 * pings on a warm connection, the first discarded.
 */
export const latencyProbe: Probe<'latency'> = {
  kind: 'latency',
  title: 'Latency',
  async run(ctx) {
    const pref = ctx.config.speed.family;
    let phase = 'select';
    let sel: Awaited<ReturnType<typeof selectServer>> | undefined;
    try {
      sel = await selectServer(ctx.servers, pref, ctx.signal);
      phase = 'ping';
      ctx.onProgress?.({ phase: 'latency', message: sel.server.url });
      const stats = latencyStats(await idleLatency(sel.server.url, sel.conn.dispatcher, ctx.signal));
      if (!stats) throw new Error('no ping answered');
      return {
        status: 'ok',
        body: { method: 'http', stats },
        family: sel.conn.family() ?? (pref === '6' ? 6 : 4),
        server: sel.server,
        // ~300 bytes per request and answer, 20 of them.
        bytesUsed: stats.samples * 300 + 300,
      };
    } catch (err) {
      return {
        status: 'error',
        error: { code: errorCode(err), phase, message: errorMessage(err) },
        family: sel?.conn.family() ?? (pref === '6' ? 6 : 4),
        ...(sel ? { server: sel.server } : ctx.servers[0] ? { server: ctx.servers[0] } : {}),
        bytesUsed: 0,
      };
    } finally {
      await sel?.conn.dispatcher.close();
    }
  },
};
