// Helpers for tests that drive the agent daemon: configs, synthetic results, and the real agent
// process from agent/dist.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { effectiveConfig, type LoadedConfig } from '@hatang/agent';
import type { Result } from '@hatang/shared';

/** A UUIDv7 (time-ordered) as agents make them. */
export function uuidv7(now = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const AGENT_BIN = join(root, 'agent/dist/cli.js');

/** Kinds other helpers may add to the registry: disabled so only what a test asks for runs. */
export const QUIET_KINDS = ['speed', 'latency', 'udp', 'ipv6', 'ndt7'];

/** A validated config from a plain object (over defaults), as the daemon's loader returns it. */
export function loaded(obj: Record<string, unknown>): LoadedConfig {
  const { config } = effectiveConfig(obj, undefined, 'test');
  return {
    config,
    central: undefined,
    ignoredLocal: [],
    file: undefined,
    localKinds: Object.keys(config.schedule.tests),
  };
}

/** Every test kind disabled except those in `enable` (name → cron). */
export function onlyTests(enable: Record<string, string> = {}): Record<string, unknown> {
  const tests: Record<string, unknown> = {};
  for (const k of QUIET_KINDS) tests[k] = { enabled: false };
  for (const [k, cron] of Object.entries(enable)) tests[k] = { cron };
  return tests;
}

/** Write an agent config file (JSON is YAML). */
export function writeConfig(file: string, obj: Record<string, unknown>): string {
  writeFileSync(file, `${JSON.stringify(obj, null, 2)}\n`);
  return file;
}

/** A valid latency result the collector accepts. */
export function syntheticResult(over: Record<string, unknown> = {}): Result {
  return {
    id: uuidv7(),
    kind: 'latency',
    startedAt: new Date().toISOString(),
    clock: { bootId: 'synthetic-boot', uptimeMs: 1000 },
    durationMs: 250,
    status: 'ok',
    network: { access: 'fixed', family: 4 },
    server: { id: 'collector', url: 'http://127.0.0.1' },
    bytesUsed: 6000,
    agentVersion: '0.1.0',
    latency: {
      method: 'http',
      stats: { samples: 19, minMs: 1, medianMs: 2, meanMs: 2.1, p90Ms: 3, jitterMs: 0.4, stdDevMs: 0.5 },
    },
    ...over,
  } as Result;
}

export interface AgentProcess {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** Start the real agent (`node agent/dist/cli.js …`). */
export function spawnAgent(args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  if (!existsSync(AGENT_BIN)) throw new Error(`${AGENT_BIN} missing: run pnpm build first`);
  const child = spawn(process.execPath, [AGENT_BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  return { child, exited, stderr: () => err };
}

/** Run an agent command to completion; stdout, stderr and exit code. */
export async function runAgent(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(AGENT_BIN)) throw new Error(`${AGENT_BIN} missing: run pnpm build first`);
  const child = spawn(process.execPath, [AGENT_BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { code, stdout: out, stderr: err };
}

/** Poll `check` (real time) until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}
