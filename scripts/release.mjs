#!/usr/bin/env node
// `pnpm release`: versioned tarballs for the agent and the collector, with dist/ and production
// node_modules only (no TypeScript, no dev tools), plus the systemd units, the install script and a
// small launcher. Layout of release/hatang-agent-<version>.tar.gz:
//
//   hatang-agent-<version>/
//     package.json        clean: exact dependency versions, no workspace links
//     dist/               compiled JavaScript (no .d.ts)
//     node_modules/       production dependencies, flat (hoisted) so `npm rebuild` works on a Pi
//     bin/hatang-agent    launcher (deploy/bin/hatang-launcher.sh)
//     deploy/             the systemd unit(s) and install script of this version
//     RELEASE.json        version, commit, and the Node ABI/platform the native module was built for
//
// better-sqlite3 is native: the bundled binary matches the build machine (Node ABI, OS, CPU). The
// install script checks that it loads and otherwise runs `npm rebuild better-sqlite3` on the box
// (docs/deploy.md, "Native module").
//
// Options: --out DIR (default release/), --only agent|collector, --no-build (skip `tsc -b`),
//          --stage-only (leave the unpacked directory, no tarball; used by the Dockerfile).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');

const { values: opts } = parseArgs({
  options: {
    out: { type: 'string', default: join(root, 'release') },
    only: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'stage-only': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opts.help) {
  console.log('usage: node scripts/release.mjs [--out DIR] [--only agent|collector] [--no-build] [--stage-only]');
  process.exit(0);
}

/** What goes into each tarball besides the package itself: [source in repo, path in tarball, mode]. */
const PRODUCTS = {
  agent: {
    pkg: '@hatang/agent',
    dir: 'agent',
    extra: [
      ['deploy/bin/hatang-launcher.sh', 'bin/hatang-agent', 0o755],
      ['deploy/systemd/hatang-agent.service', 'deploy/hatang-agent.service', 0o644],
      ['deploy/install-agent.sh', 'deploy/install-agent.sh', 0o755],
      ['deploy/lib/common.sh', 'deploy/lib/common.sh', 0o644],
      ['docs/deploy.md', 'docs/deploy.md', 0o644],
    ],
  },
  collector: {
    pkg: '@hatang/collector',
    dir: 'collector',
    extra: [
      ['deploy/bin/hatang-launcher.sh', 'bin/hatang-collector', 0o755],
      ['deploy/bin/hatang-collector-backup.sh', 'bin/hatang-collector-backup', 0o755],
      ['deploy/systemd/hatang-collector.service', 'deploy/hatang-collector.service', 0o644],
      ['deploy/systemd/hatang-collector-backup.service', 'deploy/hatang-collector-backup.service', 0o644],
      ['deploy/systemd/hatang-collector-backup.timer', 'deploy/hatang-collector-backup.timer', 0o644],
      ['deploy/install-collector.sh', 'deploy/install-collector.sh', 0o755],
      ['deploy/lib/common.sh', 'deploy/lib/common.sh', 0o644],
      ['deploy/nginx/hatang.conf', 'deploy/nginx/hatang.conf', 0o644],
      ['docs/deploy.md', 'docs/deploy.md', 0o644],
    ],
  },
};

const t0 = Date.now();
const say = (m) => console.log(`[release ${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);

/** Run a command; on failure print its output and exit, unless `soft` (then throw). */
function run(cmd, args, { soft = false, ...o } = {}) {
  try {
    return execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...o });
  } catch (err) {
    if (soft) throw err;
    console.error(
      `[release] ${cmd} ${args.join(' ')} failed (exit ${err.status}):\n${err.stderr ?? ''}${err.stdout ?? ''}`,
    );
    process.exit(1);
  }
}

function gitInfo() {
  try {
    const commit = run('git', ['rev-parse', 'HEAD'], { soft: true }).trim();
    const epoch = Number(run('git', ['log', '-1', '--format=%ct'], { soft: true }).trim());
    const dirty = run('git', ['status', '--porcelain'], { soft: true }).trim() !== '';
    return { commit, epoch, dirty };
  } catch {
    return { commit: 'unknown', epoch: Math.floor(Date.now() / 1000), dirty: true };
  }
}

/** Remove what a running install never needs; keep better-sqlite3's sources so it can be rebuilt. */
function prune(dir) {
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.d\.ts(\.map)?$|\.tsbuildinfo$/.test(e.name)) rmSync(p);
    }
  };
  walk(join(dir, 'dist'));
  const sharedDist = join(dir, 'node_modules/@hatang/shared/dist');
  if (existsSync(sharedDist)) walk(sharedDist);
  // node-gyp leaves object files (~16 MB) beside the one binary that is loaded.
  const rel = join(dir, 'node_modules/better-sqlite3/build/Release');
  if (existsSync(rel)) {
    for (const e of readdirSync(rel)) if (e !== 'better_sqlite3.node') rmSync(join(rel, e), { recursive: true });
  }
  for (const p of ['pnpm-lock.yaml', 'node_modules/.pnpm', 'node_modules/.modules.yaml']) {
    rmSync(join(dir, p), { recursive: true, force: true });
  }
  // Dependencies' tests, docs, type declarations and source maps: a third of the files and never
  // loaded at run time. Fewer files unpack faster on a Pi's SD card.
  const junkDirs = new Set(['test', 'tests', '__tests__', 'benchmark', 'benchmarks', 'bench', 'example', 'examples']);
  const junkDirs2 = new Set(['.github', 'coverage']);
  const junkFile =
    /\.(d\.ts|d\.mts|d\.cts|d\.ts\.map|map|md|markdown)$|^(\.npmignore|\.eslintrc.*|\.prettierrc.*|\.travis\.yml|\.editorconfig|tsconfig\.json)$/i;
  let removed = 0;
  const sweep = (d, depth) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        // Only below a package's own root (depth >= 1), never node_modules/<name> itself.
        if (depth >= 1 && (junkDirs.has(e.name) || junkDirs2.has(e.name))) {
          rmSync(p, { recursive: true });
          removed++;
        } else sweep(p, e.name === 'node_modules' ? 0 : e.name.startsWith('@') && depth === 0 ? 0 : depth + 1);
      } else if (junkFile.test(e.name) && !/^licen[cs]e/i.test(e.name)) {
        rmSync(p);
        removed++;
      }
    }
  };
  sweep(join(dir, 'node_modules'), 0);
  return removed;
}

/** A package.json without workspace links: exact versions of what is in node_modules. */
function cleanPackageJson(dir, version) {
  const src = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const deps = {};
  for (const name of Object.keys(src.dependencies ?? {})) {
    const p = join(dir, 'node_modules', name, 'package.json');
    deps[name] = JSON.parse(readFileSync(p, 'utf8')).version;
  }
  const out = {
    name: src.name,
    version,
    description: src.description,
    type: src.type,
    license: src.license,
    engines: src.engines,
    bin: src.bin,
    dependencies: deps,
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(out, null, 2)}\n`);
  return deps;
}

let store;
function storeDir() {
  store ??= run('pnpm', ['store', 'path']).trim();
  return store;
}

function libc() {
  const report = process.report?.getReport?.();
  return report?.header?.glibcVersionRuntime ? `glibc ${report.header.glibcVersionRuntime}` : 'musl or unknown';
}

function stage(name, product, git, outDir) {
  const version = JSON.parse(readFileSync(join(root, product.dir, 'package.json'), 'utf8')).version;
  const base = `hatang-${name}-${version}`;
  const dir = join(outDir, base);
  rmSync(dir, { recursive: true, force: true });
  say(`${base}: pnpm deploy --prod`);
  // inject-workspace-packages copies @hatang/shared (its dist) instead of linking it, and makes
  // pnpm use the workspace lockfile, so the tarball holds exactly the locked versions.
  run('pnpm', [
    '--filter',
    product.pkg,
    'deploy',
    '--prod',
    '--prefer-offline',
    '--config.inject-workspace-packages=true',
    '--config.node-linker=hoisted',
    // The workspace's store even when --out is on another filesystem: pnpm would otherwise start a
    // new store at that filesystem's root, and build better-sqlite3 there from source again.
    `--config.store-dir=${storeDir()}`,
    dir,
  ]);
  prune(dir);
  const deps = cleanPackageJson(dir, version);
  for (const [src, dest, mode] of product.extra) {
    const to = join(dir, dest);
    mkdirSync(join(to, '..'), { recursive: true });
    copyFileSync(join(root, src), to);
    chmodSync(to, mode);
  }
  const release = {
    name: `hatang-${name}`,
    version,
    commit: git.commit,
    dirty: git.dirty,
    builtAt: new Date(git.epoch * 1000).toISOString(),
    // The native module in node_modules was built for exactly this; elsewhere it is rebuilt.
    native: {
      module: 'better-sqlite3',
      node: process.versions.node,
      abi: process.versions.modules,
      platform: process.platform,
      arch: process.arch,
      libc: libc(),
    },
    engines: { node: '>=20.18' },
    dependencies: deps,
  };
  writeFileSync(join(dir, 'RELEASE.json'), `${JSON.stringify(release, null, 2)}\n`);
  return { base, dir, version };
}

function tarball(outDir, base, epoch) {
  const file = join(outDir, `${base}.tar.gz`);
  const tmp = `${file}.tmp`;
  // Reproducible: sorted names, fixed owner and times.
  const args = ['--sort=name', `--mtime=@${epoch}`, '--owner=0', '--group=0', '--numeric-owner', '-czf', tmp];
  // GNU tar exits 1 when a file changed while it was read; that is worth one more try.
  for (let attempt = 1; ; attempt++) {
    try {
      run('tar', [...args, '-C', outDir, base], { soft: attempt === 1 });
      break;
    } catch (err) {
      console.error(`[release] tar exit ${err.status}, retrying once: ${err.stderr ?? ''}`);
    }
  }
  renameSync(tmp, file);
  rmSync(join(outDir, base), { recursive: true, force: true });
  const sha = createHash('sha256').update(readFileSync(file)).digest('hex');
  return { file, sha, bytes: statSync(file).size };
}

const names = opts.only ? [opts.only] : Object.keys(PRODUCTS);
for (const n of names) {
  if (!(n in PRODUCTS)) {
    console.error(`[release] --only must be agent or collector, not ${n}`);
    process.exit(2);
  }
}

const outDir = resolve(opts.out);
mkdirSync(outDir, { recursive: true });
if (!opts['no-build']) {
  say('tsc -b');
  run(join(root, 'node_modules/.bin/tsc'), ['-b']);
}
const git = gitInfo();
const sums = [];
for (const n of names) {
  const s = stage(n, PRODUCTS[n], git, outDir);
  if (opts['stage-only']) {
    say(`staged ${s.dir}`);
    continue;
  }
  const t = tarball(outDir, s.base, git.epoch);
  sums.push(`${t.sha}  ${s.base}.tar.gz`);
  say(`${t.file} (${(t.bytes / 1e6).toFixed(1)} MB) sha256 ${t.sha}`);
}
if (sums.length) {
  // Merge with sums of earlier runs (e.g. --only agent then --only collector).
  const file = join(outDir, 'SHA256SUMS');
  const mine = new Set(sums.map((l) => l.split('  ')[1]));
  const old = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l && !mine.has(l.split('  ')[1]))
    : [];
  writeFileSync(file, `${[...old, ...sums].sort().join('\n')}\n`);
}
