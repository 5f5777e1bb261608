// Test beds in network namespaces (DESIGN.md §8): two namespaces joined by a veth pair, shaped
// with `tc qdisc tbf`, addressed from the benchmark ranges 198.18.0.0/15 and 2001:db8::/32.
// Used by integration tests (vitest) and by benchmarks in bench/ (plain node). Root only.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Why namespaces cannot be used here, or undefined when they can. */
export function netnsUnavailable() {
  if (process.getuid?.() !== 0) return 'needs root (ip netns, veth, tc)';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('tc', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'needs iproute2 (ip, tc)';
  }
  const probe = `hprobe-${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  } catch {
    return 'cannot create network namespaces here';
  }
  return undefined;
}

/**
 * For vitest: `const ns = requireNetns(); describe.skipIf(!!ns.skip)(…)`. Outside CI a missing
 * capability prints its reason and skips; with CI set it throws so nothing silently skips.
 */
export function requireNetns(what = 'network-namespace tests') {
  const reason = netnsUnavailable();
  if (!reason) return { skip: undefined };
  if (process.env.CI) throw new Error(`${what} cannot run in CI: ${reason}`);
  console.warn(`SKIP ${what}: ${reason}`);
  return { skip: reason };
}

function sh(args, opts = {}) {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

let counter = 0;

/**
 * Two namespaces, `client` and `server`, joined by veth.
 * Addresses: client 198.18.N.1 / 2001:db8:N::1, server 198.18.N.2 / 2001:db8:N::2.
 * `downMbps` shapes server→client, `upMbps` client→server (tbf on each egress); omit for no shaping.
 * `ipv4`/`ipv6` choose the families of both ends; `clientIpv4`/`clientIpv6` override them for the
 * client alone (an IPv6-only or IPv4-only commune against a dual-stack server).
 */
export function createLink({
  downMbps,
  upMbps,
  mtu = 1500,
  ipv4 = true,
  ipv6 = true,
  clientIpv4 = ipv4,
  clientIpv6 = ipv6,
} = {}) {
  const id = `${process.pid % 10000}${counter++}${randomBytes(2).toString('hex')}`;
  const n = ((process.pid + counter) % 250) + 1;
  const client = `hc${id}`;
  const server = `hs${id}`;
  const vc = `vc${id}`.slice(0, 15);
  const vs = `vs${id}`.slice(0, 15);
  const addr = {
    client4: `198.18.${n}.1`,
    server4: `198.18.${n}.2`,
    client6: `2001:db8:${n.toString(16)}::1`,
    server6: `2001:db8:${n.toString(16)}::2`,
  };
  const cleanup = () => {
    for (const ns of [client, server]) {
      try {
        sh(['ip', 'netns', 'del', ns]);
      } catch {}
    }
  };
  /** tbf on one egress; burst at least one MTU and ~1 ms of data, queue (latency) 50 ms. */
  const shape = (ns, dev, mbps) => {
    if (!mbps) return;
    // burst: at least one MTU and ~1 ms of data; queue (latency) 50 ms.
    const burst = Math.max(mtu + 14, Math.ceil((mbps * 1e6) / 8 / 1000) * 2);
    sh([
      'tc',
      '-n',
      ns,
      'qdisc',
      'add',
      'dev',
      dev,
      'root',
      'tbf',
      'rate',
      `${mbps}mbit`,
      'burst',
      String(burst),
      'latency',
      '50ms',
    ]);
  };
  try {
    sh(['ip', 'netns', 'add', client]);
    sh(['ip', 'netns', 'add', server]);
    sh([
      'ip',
      'link',
      'add',
      vc,
      'mtu',
      String(mtu),
      'netns',
      client,
      'type',
      'veth',
      'peer',
      'name',
      vs,
      'mtu',
      String(mtu),
      'netns',
      server,
    ]);
    for (const [ns, dev, a4, a6, v4, v6] of [
      [client, vc, addr.client4, addr.client6, clientIpv4, clientIpv6],
      [server, vs, addr.server4, addr.server6, ipv4, ipv6],
    ]) {
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      if (v4) sh(['ip', '-n', ns, 'addr', 'add', `${a4}/24`, 'dev', dev]);
      if (v6) sh(['ip', '-n', ns, 'addr', 'add', `${a6}/64`, 'dev', dev, 'nodad']);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      // Offloads make tbf see 64 KB super-packets; real lines see MTU-sized frames.
      try {
        sh(['ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
      } catch {}
    }
    shape(server, vs, downMbps);
    shape(client, vc, upMbps);
  } catch (err) {
    cleanup();
    throw err;
  }
  return {
    client,
    server,
    clientDev: vc,
    serverDev: vs,
    addr,
    /** Run a command inside a namespace and return its stdout. */
    exec(ns, argv, opts = {}) {
      return sh(['ip', 'netns', 'exec', ns, ...argv], opts);
    },
    /** Spawn a long-running process inside a namespace. */
    spawn(ns, argv, opts = {}) {
      return spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    },
    /** Take the link down or up (an outage). */
    setLink(up) {
      sh(['ip', '-n', client, 'link', 'set', vc, up ? 'up' : 'down']);
    },
    /** Change shaping of one direction. */
    reshape(direction, mbps) {
      const [ns, dev] = direction === 'down' ? [server, vs] : [client, vc];
      try {
        sh(['tc', '-n', ns, 'qdisc', 'del', 'dev', dev, 'root']);
      } catch {}
      shape(ns, dev, mbps);
    },
    close: cleanup,
  };
}

/**
 * TCP goodput ceiling of a tbf-shaped Ethernet link, bits/s: the tbf rate counts whole frames
 * (payload + 14 B Ethernet header as tbf sees it on veth), and TCP carries MSS bytes per
 * frame. With a 1500-byte MTU and TCP timestamps, MSS = 1448 and the frame is 1514 B.
 */
export function tcpCeilingBps(mbps, { mtu = 1500, timestamps = true } = {}) {
  const mss = mtu - 20 - 20 - (timestamps ? 12 : 0);
  return mbps * 1e6 * (mss / (mtu + 14));
}
