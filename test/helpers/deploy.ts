// Helpers for the deployment tests (test/integration/deploy-*.test.ts): external tools, the
// release tarballs, and running a service the way its systemd unit would.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { openDb } from '@hatang/collector';

export const repoRoot = resolve(import.meta.dirname, '../..');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for messages in failed assertions. */
  out: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Run {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd ?? repoRoot,
    env: opts.env ?? process.env,
    input: opts.input ?? '',
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}\n${r.stderr}` };
}

export function hasTool(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Like requireNetns(): outside CI a missing tool prints why and skips; under CI=true it throws,
 * so nothing silently skips there (.ci/run installs the Debian packages these tools come from).
 */
export function requireTools(tools: string[], what: string): { skip: string | undefined } {
  const missing = tools.filter((t) => !hasTool(t));
  if (!missing.length) return { skip: undefined };
  const reason = `needs ${missing.join(', ')}`;
  if (process.env.CI) throw new Error(`${what} cannot run in CI: ${reason}`);
  console.warn(`SKIP ${what}: ${reason}`);
  return { skip: reason };
}

/**
 * Scratch space: tmpfs (/dev/shm) when there is one. Installs unpack thousands of small files,
 * and on a shared CI disk that is most of their time.
 */
const scratch = (() => {
  if (process.env.HATANG_TEST_TMP) return process.env.HATANG_TEST_TMP;
  // Only if programs can run from it (native modules and launchers; some hosts mount it noexec).
  try {
    accessSync('/dev/shm', constants.W_OK);
    const probe = mkdtempSync('/dev/shm/hatang-exec-');
    try {
      writeFileSync(join(probe, 'x'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      if (spawnSync(join(probe, 'x')).status === 0) return '/dev/shm';
    } finally {
      rmSync(probe, { recursive: true, force: true });
    }
  } catch {}
  return tmpdir();
})();

export function tmp(prefix: string): string {
  return mkdtempSync(join(scratch, prefix));
}

/** Every file under `dir` (relative to the repo) whose name matches. */
export function filesUnder(dir: string, match: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (match.test(e.name)) out.push(p);
    }
  };
  walk(resolve(repoRoot, dir));
  return out.sort();
}

export interface Release {
  dir: string;
  version: string;
  agent: string;
  collector: string;
}

/** `pnpm release` into a temporary directory (no `tsc -b`: the caller's build is used). */
export function buildRelease(): Release {
  const dir = tmp('hatang-release-');
  const r = run(process.execPath, [join(repoRoot, 'scripts/release.mjs'), '--out', dir], { timeoutMs: 300_000 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`release build failed:\n${r.out}`);
  }
  const version = (JSON.parse(readFileSync(join(repoRoot, 'agent/package.json'), 'utf8')) as { version: string })
    .version;
  return {
    dir,
    version,
    agent: join(dir, `hatang-agent-${version}.tar.gz`),
    collector: join(dir, `hatang-collector-${version}.tar.gz`),
  };
}

/**
 * A copy of a release tarball as another version: what a later `pnpm release` would make, for
 * upgrade tests. `mutate` may change the unpacked release before it is packed again.
 */
export function repack(
  tarball: string,
  product: 'agent' | 'collector',
  version: string,
  mutate?: (dir: string) => void,
) {
  // Beside the tarball (the release directory, which the caller removes).
  const work = mkdtempSync(join(dirname(tarball), 'repack-'));
  let r = run('tar', ['-xzf', tarball, '-C', work]);
  if (r.status !== 0) throw new Error(r.out);
  const [old] = readdirSync(work);
  const dir = join(work, `hatang-${product}-${version}`);
  renameSync(join(work, old!), dir);
  for (const f of ['RELEASE.json', 'package.json']) {
    const j = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { version: string };
    j.version = version;
    writeFileSync(join(dir, f), `${JSON.stringify(j, null, 2)}\n`);
  }
  mutate?.(dir);
  const out = join(work, `hatang-${product}-${version}.tar.gz`);
  r = run('tar', ['-czf', out, '-C', work, `hatang-${product}-${version}`]);
  if (r.status !== 0) throw new Error(r.out);
  rmSync(dir, { recursive: true, force: true });
  return out;
}

/** The ExecStart= command line of a unit file, split into words (our units use no quoting). */
export function execStartOf(unitFile: string): string[] {
  const line = readFileSync(unitFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error(`${unitFile} has no ExecStart=`);
  return line.slice('ExecStart='.length).trim().split(/\s+/);
}

export interface Service {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the first stdout line that satisfies `pred` (parsed as JSON when it is). */
  waitFor: (pred: (line: any) => boolean, timeoutMs?: number) => Promise<any>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** Start a service the way systemd would from its unit's ExecStart=. */
export function startService(argv: string[], env: NodeJS.ProcessEnv = process.env): Service {
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const lines: string[] = [];
  const waiters: { pred: (l: any) => boolean; res: (v: any) => void }[] = [];
  const parse = (l: string) => {
    try {
      return JSON.parse(l);
    } catch {
      return l;
    }
  };
  // Lines from both streams: the collector logs to stdout, the agent to stderr (stdout is for
  // command output); systemd's journal takes both.
  const onData = (stream: NodeJS.ReadableStream) => {
    let buf = '';
    stream.on('data', (d: Buffer) => {
      out += d;
      buf += d;
      let i = buf.indexOf('\n');
      while (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push(line);
        const v = parse(line);
        for (const w of [...waiters]) {
          if (w.pred(v)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.res(v);
          }
        }
        i = buf.indexOf('\n');
      }
    });
  };
  onData(child.stdout!);
  onData(child.stderr!);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return {
    child,
    output: () => out,
    waitFor(pred, timeoutMs = 20_000) {
      for (const l of lines) {
        const v = parse(l);
        if (pred(v)) return Promise.resolve(v);
      }
      return new Promise((res, rej) => {
        const t = setTimeout(
          () => rej(new Error(`timed out waiting for ${argv.join(' ')}; output:\n${out}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          res: (v) => {
            clearTimeout(t);
            res(v);
          },
        });
        void exited.then((code) => {
          clearTimeout(t);
          rej(new Error(`${argv.join(' ')} exited with ${code} before it was ready; output:\n${out}`));
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

/**
 * Isolated roots for the install scripts (HATANG_ROOT), their launchers, and services started
 * from the units they installed. `close()` stops every service and removes every directory.
 */
export function deployBed() {
  const user = userInfo().username;
  const cleanup: string[] = [];
  const services: Service[] = [];
  const track = (s: Service) => {
    services.push(s);
    return s;
  };

  const newRoot = (name: string) => {
    const d = tmp(`hatang-root-${name}-`);
    cleanup.push(d);
    return d;
  };

  /** The environment an installer runs with in these tests. */
  const envFor = (root: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    HATANG_ROOT: root,
    HATANG_USER: user,
    HATANG_NODE: process.execPath,
    ...extra,
  });

  /**
   * The repository's install script with --tarball (the release ships the same file; the agent
   * test also runs the copy inside an unpacked tarball, as a technician does).
   */
  const install = (product: 'agent' | 'collector', root: string, args: string[], extra: Record<string, string> = {}) =>
    run('bash', [join(repoRoot, `deploy/install-${product}.sh`), ...args], {
      env: envFor(root, extra),
      timeoutMs: 180_000,
    });

  /** The installed launcher (/usr/local/bin/hatang-PRODUCT under the root). */
  const cli = (product: 'agent' | 'collector', root: string, args: string[], extra: Record<string, string> = {}) =>
    run(join(root, `usr/local/bin/hatang-${product}`), args, { env: { ...process.env, ...extra } });

  const currentOf = (root: string, product: string) => readlinkSync(join(root, 'opt/hatang', product, 'current'));

  /** Start the collector from its installed unit; resolves with its base URL. */
  const startCollector = async (root: string, env: Record<string, string> = {}) => {
    const argv = execStartOf(join(root, 'etc/systemd/system/hatang-collector.service'));
    const s = track(startService(argv, { ...process.env, ...env }));
    const line = await s.waitFor((l) => l?.msg === 'collector listening');
    return { service: s, url: line.address as string };
  };

  const collectorDb = (root: string) =>
    openDb({ path: join(root, 'var/lib/hatang-collector/hatang.db'), readonly: true });

  const until = async <T>(what: string, f: () => T | undefined, timeoutMs = 30_000): Promise<T> => {
    const t0 = Date.now();
    for (;;) {
      const v = f();
      if (v !== undefined) return v;
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const close = async () => {
    for (const s of services) await s.stop('SIGKILL');
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  };

  return { user, cleanup, track, newRoot, envFor, install, cli, currentOf, startCollector, collectorDb, until, close };
}
