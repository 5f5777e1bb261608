import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** One accepted result, as far as listeners (metrics) need it: no ids, no free text. */
export interface IngestedResult {
  kind: string;
  status: string;
  access: string;
  /** Configured test-server id the result names, if any. */
  serverId: string | null;
  downloadBps: number | null;
  /** The result feeds the statistics (stats/rollup.ts countsInStats). */
  counted: boolean;
}

/** What one ingest batch did, emitted after its transaction committed. */
export interface IngestEvent {
  agentId: string;
  accepted: IngestedResult[];
  duplicate: number;
  /** Stable error code of each rejected result. */
  rejected: string[];
}

export type IngestListener = (e: IngestEvent) => void;

declare module 'fastify' {
  interface FastifyInstance {
    /** Ingest hook: listeners run after each committed batch; a throwing listener is logged, never fails ingest. */
    ingestEvents: { on(listener: IngestListener): void; emit(e: IngestEvent): void };
  }
}

export const ingestEventsPlugin = fp(
  async (app: FastifyInstance) => {
    const listeners: IngestListener[] = [];
    app.decorate('ingestEvents', {
      on(listener: IngestListener) {
        listeners.push(listener);
      },
      emit(e: IngestEvent) {
        for (const l of listeners) {
          try {
            l(e);
          } catch (err) {
            app.log.error({ err }, 'ingest listener failed');
          }
        }
      },
    });
  },
  { name: 'hatang-ingest-events' },
);
