// Load test: N simulated agents reconnecting after an outage with full outboxes, against one
// collector process. Used by bench/load.mjs (full form) and test/integration/load.test.ts (short form).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AGENT_CONFIG_DEFAULTS } from '@hatang/shared';
import { Agent, request } from 'undici';
import { v7 as uuidv7 } from 'uuid';

const root = resolve(import.meta.dirname, '..');

function percentile(sorted, p) {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i];
}

function resultJson(i, bootId, t0) {
  const id = uuidv7({ msecs: t0 - 3_600_000 * (1000 - i) });
  return [
    id,
    JSON.stringify({
      id,
      kind: 'latency',
      startedAt: new Date(t0 - 60_000 * i).toISOString(),
      clock: { bootId, uptimeMs: 1_000 + i * 1000 },
      durationMs: 30,
      status: 'ok',
      network: { access: i % 3 ? 'fixed' : 'mobile', family: 4, isp: 'VNPT' },
      server: { id: 'collector', url: 'http://127.0.0.1' },
      bytesUsed: 5700,
      agentVersion: '0.1.0',
      latency: {
        method: 'http',
        stats: { samples: 19, minMs: 8, medianMs: 9 + (i % 7), meanMs: 10, p90Ms: 14, jitterMs: 1, stdDevMs: 1.5 },
      },
    }),
  ];
}

/** CPU seconds (user + system) a process has used so far (Linux, /proc/PID/stat). */
function cpuOf(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
}

/**
 * Server-side latency of ingest requests from the collector's own histogram
 * (hatang_http_request_duration_seconds, route /api/v1/results): the upper bucket edge under
 * which the given share of answers with that status fell. This is the time inside the collector,
 * from the request's first byte being read to the end of its answer; the client's figure adds the
 * time the request waited in its connection pool and the kernel's socket buffers.
 */
function histogramQuantile(metricsText, status, q) {
  const rows = [];
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('hatang_http_request_duration_seconds_bucket')) continue;
    if (!line.includes('route="/api/v1/results"') || !line.includes(`status_code="${status}"`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    rows.push([le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), Number(line.split(' ').pop())]);
  }
  if (!rows.length) return Number.NaN;
  rows.sort((a, b) => a[0] - b[0]);
  const total = rows[rows.length - 1][1];
  return (rows.find(([, n]) => n >= q * total)?.[0] ?? Number.NaN) * 1000;
}

/** Peak and current RSS of a process, bytes (Linux). */
function rssOf(pid) {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/**
 * Run the load test. Returns figures; throws if the collector failed. Options:
 * agents, perAgent (results queued in each outbox), batch (results per push), maxInFlight,
 * retryAfterMinS/MaxS (collector config), connections (client sockets), timeoutMs (one push's
 * limit, as an agent's uplink.timeoutMs: a push that takes longer is abandoned and retried after
 * 0.5–1.5 s; the collector may still store it, and the retry is then acknowledged as duplicate),
 * log (progress sink).
 */
export async function runLoad({
  agents = 10_000,
  perAgent = 50,
  batch = 500,
  maxInFlight = 32,
  retryAfterMinS = 1,
  retryAfterMaxS = 120,
  connections = 4096,
  maxEventLoopUtilization = 0.9,
  timeoutMs = AGENT_CONFIG_DEFAULTS.uplink.timeoutMs,
  log = () => {},
} = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'hatang-load-'));
  const { openDb, createRepo } = await import(join(root, 'collector/dist/index.js'));
  // Register the agents directly in the database (enrolment is not what this measures).
  const db = openDb({ path: join(dir, 'hatang.db') });
  const repo = createRepo(db);
  const tokens = [];
  db.transaction(() => {
    for (let i = 0; i < agents; i++)
      tokens.push(repo.addAgent({ name: `load-${i}`, access: 'fixed' }, Date.now()).token);
  })();
  db.close();
  log(`registered ${agents} agents`);

  const cfg = join(dir, 'collector.yaml');
  writeFileSync(
    cfg,
    `server: { host: 127.0.0.1, port: 0 }\ndataDir: ${dir}\nlog: { level: warn }\nload: { maxInFlightIngest: ${maxInFlight}, retryAfterMinS: ${retryAfterMinS}, retryAfterMaxS: ${retryAfterMaxS}, maxEventLoopUtilization: ${maxEventLoopUtilization} }\n`,
  );
  const child = spawn(
    process.execPath,
    [join(root, 'collector/dist/cli.js'), 'serve', '-c', cfg, '--log-level', 'info'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  // The collector never outlives this process, even when the run is interrupted.
  const killChild = () => child.kill('SIGKILL');
  process.once('exit', killChild);
  const url = await new Promise((resolveUrl, reject) => {
    let buf = '';
    const onData = (d) => {
      buf += d;
      const m = /"address":"(http:\/\/[^"]+)"/.exec(buf);
      if (m) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolveUrl(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (c) => reject(new Error(`collector exited with ${c}`)));
  });
  log(`collector ${url} (pid ${child.pid}), maxInFlightIngest ${maxInFlight}`);

  // Every agent's outbox, pre-serialised so the client spends little CPU.
  const t0 = Date.now();
  const outboxes = tokens.map(() => {
    const bootId = randomBytes(16).toString('hex');
    return { bootId, items: Array.from({ length: perAgent }, (_, i) => resultJson(i, bootId, t0)) };
  });
  const expected = agents * perAgent;
  log(`${expected} results queued in ${agents} outboxes`);

  const dispatcher = new Agent({
    connections,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    headersTimeout: 120_000,
    bodyTimeout: 120_000,
  });
  const latOk = [];
  const latAll = [];
  const firstAnswer = []; // per agent: how long its first request waited for any answer
  const doneAt = []; // per agent: seconds from the storm's start until its outbox was empty
  const counts = {
    ok: 0,
    shed: 0,
    other: 0,
    errors: 0,
    timeouts: 0,
    accepted: 0,
    duplicate: 0,
    rejected: 0,
    retryAfterMissing: 0,
  };
  let peak = { rss: 0, hwm: 0 };
  const sampler = setInterval(() => {
    try {
      const r = rssOf(child.pid);
      peak = { rss: Math.max(peak.rss, r.rss), hwm: Math.max(peak.hwm, r.hwm) };
    } catch {}
  }, 200);
  let delivered = 0;
  // Who is the bottleneck: the collector's CPU share of one core and the client's own event-loop
  // utilisation, per progress line (both processes share this machine's cores).
  let lastCpu = cpuOf(child.pid);
  let lastAt = performance.now();
  let lastElu = performance.eventLoopUtilization();
  const progress = setInterval(() => {
    const cpu = cpuOf(child.pid);
    const at = performance.now();
    const elu = performance.eventLoopUtilization();
    log(
      `  delivered ${delivered}/${expected}, 200 ${counts.ok}, shed ${counts.shed}; collector CPU ${(((cpu - lastCpu) * 1000) / (at - lastAt)).toFixed(2)} cores, client loop ${(performance.eventLoopUtilization(elu, lastElu).utilization * 100).toFixed(0)} % busy`,
    );
    lastCpu = cpu;
    lastAt = at;
    lastElu = elu;
  }, 5000);

  const start = performance.now();
  await Promise.all(
    outboxes.map(async (ob, a) => {
      // Reconnect storm: every agent comes back within the first second.
      await new Promise((r) => setTimeout(r, Math.random() * 1000));
      let firstAt; // this agent's first attempt, and whether it has had an answer since
      let answered = false;
      while (ob.items.length) {
        const slice = ob.items.slice(0, batch);
        const body = `{"schema":1,"sentAt":"${new Date().toISOString()}","clock":{"bootId":"${ob.bootId}","uptimeMs":${2_000_000}},"results":[${slice.map((x) => x[1]).join(',')}]}`;
        const t = performance.now();
        firstAt ??= t;
        let status;
        let headers;
        let text;
        try {
          const res = await request(`${url}/api/v1/results`, {
            method: 'POST',
            dispatcher,
            headers: { authorization: `Bearer ${tokens[a]}`, 'content-type': 'application/json' },
            body,
            signal: AbortSignal.timeout(timeoutMs),
          });
          status = res.statusCode;
          headers = res.headers;
          text = await res.body.text();
        } catch (err) {
          if (err?.name === 'TimeoutError' || err?.cause?.name === 'TimeoutError') counts.timeouts++;
          else counts.errors++;
          await new Promise((r) => setTimeout(r, 500 + Math.random() * 1000));
          continue;
        }
        const ms = performance.now() - t;
        latAll.push(ms);
        if (!answered) {
          firstAnswer.push(performance.now() - firstAt);
          answered = true;
        }
        if (status === 200) {
          latOk.push(ms);
          counts.ok++;
          const ack = JSON.parse(text);
          counts.accepted += ack.accepted.length;
          counts.duplicate += ack.duplicate.length;
          counts.rejected += ack.rejected.length;
          const done = new Set([...ack.accepted, ...ack.duplicate]);
          delivered += done.size;
          ob.items = ob.items.filter((x) => !done.has(x[0]));
          if (!ob.items.length) doneAt.push((performance.now() - start) / 1000);
        } else if (status === 429 || status === 503) {
          counts.shed++;
          const ra = Number(headers['retry-after']);
          if (!Number.isFinite(ra)) counts.retryAfterMissing++;
          await new Promise((r) => setTimeout(r, (Number.isFinite(ra) ? ra : 1) * 1000));
        } else {
          counts.other++;
          throw new Error(`collector answered ${status}: ${text.slice(0, 200)}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  clearInterval(sampler);
  clearInterval(progress);
  await dispatcher.close();
  const final = rssOf(child.pid);
  const collectorCpuS = cpuOf(child.pid);
  const metricsText = await (await request(`${url}/metrics`)).body.text();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  process.off('exit', killChild);
  const check = openDb({ path: join(dir, 'hatang.db') });
  const stored = check.prepare('SELECT count(*) AS n FROM results').get().n;
  check.close();
  rmSync(dir, { recursive: true, force: true });
  latOk.sort((x, y) => x - y);
  latAll.sort((x, y) => x - y);
  return {
    agents,
    perAgent,
    expected,
    stored,
    seconds,
    resultsPerSecond: expected / seconds,
    p50OkMs: percentile(latOk, 0.5),
    p99OkMs: percentile(latOk, 0.99),
    p99AllMs: percentile(latAll, 0.99),
    p50FirstAnswerMs: percentile(firstAnswer, 0.5),
    p99FirstAnswerMs: percentile(firstAnswer, 0.99),
    p50DoneS: percentile(doneAt, 0.5),
    p99DoneS: percentile(doneAt, 0.99),
    serverP50OkMs: histogramQuantile(metricsText, 200, 0.5),
    serverP99OkMs: histogramQuantile(metricsText, 200, 0.99),
    serverP99ShedMs: histogramQuantile(metricsText, 429, 0.99),
    collectorCpuS,
    timeoutMs,
    shedInFlight: Number(/^hatang_ingest_shed_total\{reason="in_flight"\} (\S+)$/m.exec(metricsText)?.[1] ?? 0),
    shedSaturated: Number(/^hatang_ingest_shed_total\{reason="saturated"\} (\S+)$/m.exec(metricsText)?.[1] ?? 0),
    capacityPerS: Number(/^hatang_ingest_capacity_requests_per_second (\S+)$/m.exec(metricsText)?.[1] ?? Number.NaN),
    peakRssBytes: Math.max(peak.hwm, final.hwm),
    ...counts,
  };
}
