import { type Static, Type } from '@sinclair/typebox';
import {
  DOWN_REQUEST_MAX_BYTES,
  MAX_SPEED_DOWN_BYTES,
  MAX_SPEED_UP_BYTES,
  SPEED_MAX_CONCURRENT_TRANSFERS,
  UDP_GLOBAL_RATE_PPS,
  UDP_IP_RATE_PPS,
  UDP_KEY_BURST,
  UDP_KEY_RATE_PPS,
  UP_REQUEST_MAX_BYTES,
} from '../spec.js';
import { StringEnum } from './common.js';

const strict = { additionalProperties: false } as const;

/**
 * The collector's configuration file (YAML; `hatang-collector serve --config FILE`). Every key is
 * documented in docs/collector.md; unknown keys are rejected. Each area owns one section.
 */
export const CollectorConfigSchema = Type.Object(
  {
    server: Type.Object(
      {
        host: Type.String({ minLength: 1, description: 'Address to listen on.' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, description: 'TCP port; 0 picks a free one.' }),
      },
      strict,
    ),
    dataDir: Type.String({ minLength: 1, description: 'State directory; the SQLite file is dataDir/hatang.db.' }),
    role: StringEnum(['all', 'speedtest'] as const, {
      description: 'all: the full collector; speedtest: only the stateless test endpoints.',
    }),
    log: Type.Object(
      {
        level: StringEnum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, {
          description: 'pino log level.',
        }),
      },
      strict,
    ),
    speed: Type.Object(
      {
        maxDownBytes: Type.Integer({
          minimum: DOWN_REQUEST_MAX_BYTES,
          maximum: 1024 * 1024 * 1024 * 16,
          description: 'Largest bytes= one GET /speed/down may ask for; larger asks get 400.',
        }),
        maxUpBytes: Type.Integer({
          minimum: UP_REQUEST_MAX_BYTES,
          maximum: 1024 * 1024 * 1024 * 16,
          description: 'Largest body one POST /speed/up may send; past it 413 and the connection closes.',
        }),
        maxConcurrentTransfers: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Most download and upload requests served at once; past it 429 with Retry-After.',
        }),
      },
      strict,
    ),
    udp: Type.Object(
      {
        enabled: Type.Boolean({ description: 'Run the UDP echo (packet-loss tests).' }),
        host: Type.Optional(Type.String({ minLength: 1, description: 'Address to bind; default server.host.' })),
        port: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 65535,
            description: 'UDP port; default the same number as the HTTP port; 0 picks a free one.',
          }),
        ),
        secret: Type.Optional(
          Type.String({
            minLength: 16,
            maxLength: 256,
            description:
              'Shared echo secret: packets signed with it are answered. Required for the echo with role speedtest.',
          }),
        ),
        keyRatePps: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Echoes per second per key (agent token or echo id), sustained.',
        }),
        keyBurst: Type.Integer({ minimum: 1, maximum: 100_000, description: 'Burst of echoes per key.' }),
        ipRatePps: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          description: 'Echoes per second per source address (burst twice that).',
        }),
        globalRatePps: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          description: 'Echoes per second of the whole server (burst twice that).',
        }),
      },
      strict,
    ),
    // Sections added per area go below, one key each (speed, ndt7, ingest, targets, metrics, dashboard, …).
  },
  strict,
);
export type CollectorConfig = Static<typeof CollectorConfigSchema>;

export const COLLECTOR_CONFIG_DEFAULTS: CollectorConfig = {
  server: { host: '127.0.0.1', port: 8080 },
  dataDir: './data',
  role: 'all',
  log: { level: 'info' },
  speed: {
    maxDownBytes: MAX_SPEED_DOWN_BYTES,
    maxUpBytes: MAX_SPEED_UP_BYTES,
    maxConcurrentTransfers: SPEED_MAX_CONCURRENT_TRANSFERS,
  },
  udp: {
    enabled: true,
    keyRatePps: UDP_KEY_RATE_PPS,
    keyBurst: UDP_KEY_BURST,
    ipRatePps: UDP_IP_RATE_PPS,
    globalRatePps: UDP_GLOBAL_RATE_PPS,
  },
};
