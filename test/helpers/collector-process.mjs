// A real collector process (compiled dist/) for fault tests: start, SIGKILL, restart on the same port.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

export async function freePort(host = '127.0.0.1') {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Start `hatang-collector serve` with dataDir `dir`; resolves once /healthz answers. */
export async function startCollectorProcess({ dir, host = '127.0.0.1', port, extraYaml = '', netns } = {}) {
  const p = port ?? (await freePort(host));
  const cfg = join(dir, 'collector.yaml');
  writeFileSync(cfg, `server: { host: "${host}", port: ${p} }\ndataDir: ${dir}\nlog: { level: warn }\n${extraYaml}`);
  const argv = [process.execPath, join(root, 'collector/dist/cli.js'), 'serve', '-c', cfg];
  const child = netns
    ? spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'inherit', 'inherit'] })
    : spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${p}`;
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`collector exited with ${child.exitCode}`);
    if (!netns) {
      try {
        const r = await fetch(`${url}/healthz`);
        if (r.ok) break;
      } catch {}
    } else if (i > 15) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port: p,
    child,
    /** Send a signal; a process that has not exited 5 s after SIGTERM is killed. */
    kill(signal = 'SIGKILL') {
      if (child.exitCode !== null) return Promise.resolve();
      return new Promise((r) => {
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(t);
          r();
        });
        child.kill(signal);
      });
    },
  };
}
