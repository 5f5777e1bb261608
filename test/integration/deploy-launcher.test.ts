// The launcher (deploy/bin/hatang-launcher.sh, installed as /usr/local/bin/hatang-agent and
// hatang-collector): started by root it runs the command as the service user, so the files a
// command creates (SQLite -wal/-shm, backups) stay writable by the service; `enroll` runs as root
// and hands the state directory back. Checked with a stand-in cli.js that reports who ran it,
// and the system's `nobody` user as the service user. Needs root (CI runs as root).
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, requireTools, run, tmp } from '../helpers/deploy.js';

function rootUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (switches to another user)';
  if (run('id', ['nobody']).status !== 0) return 'needs the user nobody';
  return undefined;
}
const why = rootUnavailable();
if (why && process.env.CI) throw new Error(`launcher tests cannot run in CI: ${why}`);
if (why) console.warn(`SKIP launcher tests: ${why}`);
const tools = requireTools(['setpriv'], 'launcher tests');

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const uidOf = (user: string) => Number(run('id', ['-u', user]).stdout.trim());
const gidOf = (user: string) => Number(run('id', ['-g', user]).stdout.trim());

/** base/{releases/1.0.0/{bin/hatang-agent,dist/cli.js},current,install.env}, state and config. */
function layout() {
  const top = tmp('hatang-launcher-');
  dirs.push(top);
  chmodSync(top, 0o755);
  const base = join(top, 'opt/hatang/agent');
  const app = join(base, 'releases/1.0.0');
  mkdirSync(join(app, 'bin'), { recursive: true });
  mkdirSync(join(app, 'dist'), { recursive: true });
  copyFileSync(join(repoRoot, 'deploy/bin/hatang-launcher.sh'), join(app, 'bin/hatang-agent'));
  chmodSync(join(app, 'bin/hatang-agent'), 0o755);
  // Stand-in for the agent: who runs me, and a file created in the state directory.
  writeFileSync(
    join(app, 'dist/cli.js'),
    `const fs = require('node:fs');
const cmd = process.argv[2] ?? 'none';
fs.writeFileSync(process.env.HATANG_STATE_DIR + '/made-by-' + cmd, 'x');
console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), args: process.argv.slice(2), home: process.env.HOME }));
`,
  );
  writeFileSync(join(app, 'package.json'), '{"type":"commonjs"}\n');
  symlinkSync('releases/1.0.0', join(base, 'current'));
  const state = join(top, 'var/lib/hatang-agent');
  mkdirSync(state, { recursive: true });
  chmodSync(state, 0o750);
  run('chown', ['nobody:', state]);
  const config = join(top, 'etc/hatang/agent.yaml');
  mkdirSync(join(top, 'etc/hatang'), { recursive: true });
  writeFileSync(config, 'collector:\n  url: http://127.0.0.1:1\n', { mode: 0o640 });
  run('chgrp', [String(gidOf('nobody')), config]);
  writeFileSync(
    join(base, 'install.env'),
    `HATANG_NODE='${process.execPath}'\nHATANG_RUN_AS='nobody'\nHATANG_STATE_DIR='${state}'\nHATANG_CONFIG='${config}'\n`,
  );
  const bin = join(top, 'usr/local/bin');
  mkdirSync(bin, { recursive: true });
  symlinkSync(join(base, 'current/bin/hatang-agent'), join(bin, 'hatang-agent'));
  return { launcher: join(bin, 'hatang-agent'), state, config };
}

describe.skipIf(!!why || !!tools.skip)('launcher', () => {
  it('run by root, a command runs as the service user and its files are theirs', () => {
    const l = layout();
    const r = run(l.launcher, ['status', '--json']);
    expect(r.status, r.out).toBe(0);
    const who = JSON.parse(r.stdout) as { uid: number; gid: number; args: string[]; home: string };
    expect(who).toEqual({ uid: uidOf('nobody'), gid: gidOf('nobody'), args: ['status', '--json'], home: l.state });
    expect(statSync(join(l.state, 'made-by-status')).uid).toBe(uidOf('nobody'));
  });

  it('enroll runs as root, then the state directory goes back to the service user', () => {
    const l = layout();
    const r = run(l.launcher, ['enroll', '--code', 'X']);
    expect(r.status, r.out).toBe(0);
    expect((JSON.parse(r.stdout) as { uid: number }).uid).toBe(0);
    const made = statSync(join(l.state, 'made-by-enroll'));
    expect([made.uid, made.gid]).toEqual([uidOf('nobody'), gidOf('nobody')]);
    const cfg = statSync(l.config);
    expect([cfg.uid, cfg.gid, cfg.mode & 0o777]).toEqual([0, gidOf('nobody'), 0o640]);
  });

  it('someone who cannot read the config is told to use sudo', () => {
    const l = layout();
    chmodSync(l.config, 0o600);
    const r = run('setpriv', ['--reuid=nobody', `--regid=${gidOf('nobody')}`, '--clear-groups', l.launcher, 'status']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('Run it with sudo: sudo hatang-agent status');
    expect(readFileSync(l.config, 'utf8')).toContain('collector');
  });
});
