// IPv6 test bed (docs/ipv6.md §Tests): a client namespace that is dual-stack, IPv6-only or
// IPv4-only, and a dual-stack server namespace holding a dnsmasq resolver for *.hatang.test and web
// servers on both families. The client's /etc/resolv.conf points at that dnsmasq (ip netns exec
// bind-mounts /etc/netns/<ns>/resolv.conf), so nothing is ever asked of a real resolver.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLink } from './netns.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const AGENT_CLI = join(here, '../../agent/dist/cli.js');

/** Why the IPv6 bed cannot run here (a missing tool), or undefined. Namespaces: requireNetns(). */
export function ipv6BedToolsMissing() {
  for (const tool of ['dnsmasq', 'openssl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      return `needs ${tool} (Debian: ${tool === 'dnsmasq' ? 'dnsmasq-base' : 'openssl'})`;
    }
  }
  return undefined;
}

/** Wait for the first stdout line of a child (or fail with its stderr). */
function firstLine(child, what, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${err}`)), timeoutMs);
    child.stdout.on('data', (c) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${err}`));
    });
  });
}

/** Wait until a child's stderr shows `text`. */
function stderrShows(child, text, what, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${err}`)), timeoutMs);
    child.stderr.on('data', (c) => {
      err += c;
      if (err.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${err}`));
    });
  });
}

/**
 * @param {{ client: 'dual' | 'v6' | 'v4', pmtuBlackhole?: boolean, certs?: object }} o
 * pmtuBlackhole: the server's link takes at most 1280-byte packets yet tells clients (TCP MSS)
 * it takes 1500, and sends no ICMPv6 Packet Too Big: large IPv6 packets vanish on the way in.
 */
export async function createIpv6Bed(o) {
  const link = createLink({ clientIpv4: o.client !== 'v6', clientIpv6: o.client !== 'v4' });
  const { addr } = link;
  const procs = [];
  const netnsDir = `/etc/netns/${link.client}`;
  const close = async () => {
    for (const p of procs) {
      if (p.exitCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(r, 2000);
          p.once('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
    }
    link.close();
    rmSync(netnsDir, { recursive: true, force: true });
  };
  try {
    // Default routes: a commune PC reaches everything through its router (here: the server).
    if (o.client !== 'v6') link.exec(link.client, ['ip', 'route', 'add', 'default', 'via', addr.server4]);
    if (o.client !== 'v4') link.exec(link.client, ['ip', '-6', 'route', 'add', 'default', 'via', addr.server6]);
    if (o.pmtuBlackhole) {
      link.exec(link.server, ['ip', 'link', 'set', link.serverDev, 'mtu', '1280']);
      const prefix = `${addr.server6.replace(/::2$/, '::')}/64`;
      link.exec(link.server, [
        'ip',
        '-6',
        'route',
        'change',
        prefix,
        'dev',
        link.serverDev,
        'metric',
        '256', // the kernel's own route for the link
        'advmss',
        '1440',
      ]);
    }

    const names = {
      ds: 'ds.hatang.test',
      v4: 'v4.hatang.test',
      v6: 'v6.hatang.test',
      nx: 'nx.hatang.test',
      brokenv6: 'brokenv6.hatang.test',
    };
    // An IPv6 address off the link, routed to the server, which black-holes it: packets to it are
    // dropped without a word (no neighbour discovery, no ICMPv6), so connects time out.
    const dead6 = '2001:db8:ffff::1';
    link.exec(link.server, ['ip', '-6', 'route', 'add', 'blackhole', '2001:db8:ffff::/48']);
    const dnsmasq = link.spawn(link.server, [
      'dnsmasq',
      '--no-daemon',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      `--listen-address=${addr.server4}`,
      `--listen-address=${addr.server6}`,
      '--port=53',
      '--user=root',
      '--group=root',
      '--pid-file=',
      '--log-facility=-',
      // Everything under hatang.test is answered here; a name not listed is NXDOMAIN.
      '--local=/hatang.test/',
      `--host-record=${names.ds},${addr.server4},${addr.server6}`,
      `--host-record=${names.v4},${addr.server4}`,
      `--host-record=${names.v6},${addr.server6}`,
      `--host-record=${names.brokenv6},${addr.server4},${dead6}`,
    ]);
    procs.push(dnsmasq);
    await stderrShows(dnsmasq, 'started', 'dnsmasq');

    mkdirSync(netnsDir, { recursive: true });
    writeFileSync(join(netnsDir, 'resolv.conf'), `nameserver ${o.client === 'v6' ? addr.server6 : addr.server4}\n`);

    const web = link.spawn(link.server, [
      process.execPath,
      join(here, 'ipv6-server.mjs'),
      JSON.stringify({ certs: o.certs }),
    ]);
    procs.push(web);
    const ports = JSON.parse(await firstLine(web, 'test web server'));

    return {
      link,
      names,
      ports,
      /**
       * Run `hatang-agent test ipv6 --no-push` in the client namespace with this config (an object,
       * written as YAML/JSON); resolves to { code, stdout, stderr }.
       */
      runAgent(config, args = ['--json'], env = {}) {
        if (!existsSync(AGENT_CLI)) throw new Error(`${AGENT_CLI} is missing: run pnpm build first`);
        const file = join(config.stateDir, 'agent.yaml');
        mkdirSync(config.stateDir, { recursive: true });
        writeFileSync(file, JSON.stringify(config));
        return new Promise((resolve) => {
          execFile(
            'ip',
            [
              'netns',
              'exec',
              link.client,
              process.execPath,
              AGENT_CLI,
              'test',
              'ipv6',
              '--no-push',
              '-c',
              file,
              ...args,
            ],
            { env: { ...process.env, ...env }, timeout: 60_000 },
            (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }),
          );
        });
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
