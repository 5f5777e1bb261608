// The official M-Lab JavaScript client (npm @m-lab/ndt7 0.0.6, the last release that runs on Node
// as shipped) against the collector's ndt7 server, over IPv4 and IPv6 loopback.

import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { startCollector, type TestCollector } from '@hatang/collector';
import { COLLECTOR_CONFIG_DEFAULTS, NDT7_DEFAULT_DURATION_MS } from '@hatang/shared';
import { afterEach, describe, expect, it } from 'vitest';

const require = createRequire(new URL('../../collector/package.json', import.meta.url));

interface Ndt7Js {
  test(config: Record<string, unknown>, callbacks: Record<string, (x: any) => void>): Promise<number>;
}

/** Why ::1 cannot be used here, or undefined when it can. */
async function v6Unavailable(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err) => resolve(`cannot listen on [::1]: ${(err as Error).message}`));
    s.listen(0, '::1', () => s.close(() => resolve(undefined)));
  });
}

const v6Reason = await v6Unavailable();
if (v6Reason) {
  if (process.env.CI) throw new Error(`IPv6 loopback is required in CI: ${v6Reason}`);
  console.warn(`SKIP ndt7 official client over IPv6: ${v6Reason}`);
}

let c: TestCollector | undefined;
afterEach(async () => {
  await c?.close();
  c = undefined;
});

/** Relative difference of two rates. */
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(a, b);

async function runOfficialClient(host: string) {
  // The ndt7 default (10 s): the 0.0.6 upload worker runs 10 s by itself, and its last client
  // measurement is only exact when it, not the server, ends the upload.
  c = await startCollector({
    host,
    config: {
      ...COLLECTOR_CONFIG_DEFAULTS,
      ndt7: { ...COLLECTOR_CONFIG_DEFAULTS.ndt7, durationMs: NDT7_DEFAULT_DURATION_MS },
    },
  });
  const ndt7 = require('@m-lab/ndt7') as Ndt7Js;
  const seen: Record<string, any> = {};
  const errors: unknown[] = [];
  // 0.0.6 runs each subtest in a child process (workerjs → child_process.fork), which inherits
  // vitest's `--conditions import` flags; under them the child's require('ws') would load ws's ESM
  // wrapper. Fork the children as a user's plain `node` would: without the test runner's flags.
  const saved = process.execArgv.splice(0);
  const rc = await ndt7
    .test(
      {
        server: new URL(c.url).host,
        protocol: 'ws',
        userAcceptedDataPolicy: true,
        metadata: { client_name: 'ndt7-js-interop-test' },
      },
      {
        downloadComplete: (d) => {
          seen.down = d;
        },
        uploadComplete: (d) => {
          seen.up = d;
        },
        error: (e) => errors.push(e),
      },
    )
    .finally(() => process.execArgv.push(...saved));
  await c.app.ndt7.idle();
  const rows = c.app.db.prepare('SELECT * FROM ndt7_tests ORDER BY started_at').all() as any[];
  return { rc, errors, seen, rows };
}

async function check(host: string, family: 4 | 6) {
  const { rc, errors, seen, rows } = await runOfficialClient(host);
  expect(errors).toEqual([]);
  expect(rc).toBe(0);
  expect(rows.map((r) => [r.test, r.family])).toEqual([
    ['download', family],
    ['upload', family],
  ]);
  const [down, up] = rows;
  // The client's own figures, as its UI would show them.
  const clientDown = seen.down.LastClientMeasurement.MeanClientMbps * 1e6;
  const clientUp = seen.up.LastClientMeasurement.MeanClientMbps * 1e6;
  // Our server measurements parse in the official client (JSON with AppInfo; TCPInfo on Linux).
  expect(seen.down.LastServerMeasurement.AppInfo.NumBytes).toBeGreaterThan(0);
  expect(seen.up.LastServerMeasurement.Test).toBe('upload');
  console.log(
    `ndt7-js 0.0.6 over IPv${family}: download client ${(clientDown / 1e6).toFixed(0)} vs server ${(down.server_bps / 1e6).toFixed(0)} Mbit/s (ratio ${(clientDown / down.server_bps).toFixed(3)}); ` +
      `upload client ${(clientUp / 1e6).toFixed(0)} vs server ${(up.server_bps / 1e6).toFixed(0)} Mbit/s (ratio ${(clientUp / up.server_bps).toFixed(3)})`,
  );
  expect(clientDown).toBeGreaterThan(0);
  expect(clientUp).toBeGreaterThan(0);
  expect(rel(clientDown, down.server_bps)).toBeLessThan(0.1);
  expect(rel(clientUp, up.server_bps)).toBeLessThan(0.1);
  // Both subtests ran to their time limit and the client's metadata was stored.
  expect(JSON.parse(down.metadata)).toMatchObject({
    client_name: 'ndt7-js-interop-test',
    client_library_name: 'ndt7-js',
    client_library_version: '0.0.6',
  });
  expect(down.end_reason).toBe('duration');
  expect(['duration', 'client-closed']).toContain(up.end_reason);
}

describe('official M-Lab client (@m-lab/ndt7 0.0.6) against the collector', () => {
  it('completes download and upload over IPv4 loopback; rates agree with the server within 10 %', async () => {
    await check('127.0.0.1', 4);
  }, 60_000);

  it.skipIf(!!v6Reason)(
    'completes download and upload over IPv6 loopback; rates agree with the server within 10 %',
    async () => {
      await check('::1', 6);
    },
    60_000,
  );
});
