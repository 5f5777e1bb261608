#!/usr/bin/env node
// pnpm bench:load [-- --agents 10000 --per-agent 50 --max-in-flight 32 --connections 4096 --compare]
// N simulated agents reconnect at once after an outage, each with a full outbox, against one
// collector. Prints results/s, latency percentiles, peak RSS, shed requests; checks every backlog
// drained exactly once. --compare runs the same storm a second time with the saturation gate off
// (load.maxEventLoopUtilization 1: only the in-flight limit sheds, agents queue in the kernel) and
// prints the ratios of the two runs.
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runLoad } from './load-lib.mjs';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    'per-agent': { type: 'string', default: '50' },
    'max-in-flight': { type: 'string', default: '32' },
    connections: { type: 'string', default: '4096' },
    'max-elu': { type: 'string', default: '0.9' },
    compare: { type: 'boolean', default: false },
  },
});
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));
const mb = (b) => (b / 1024 / 1024).toFixed(0);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function run(maxEventLoopUtilization, label) {
  console.log(`\n# ${label} — load average before: ${load()}`);
  const r = await runLoad({
    agents: Number(values.agents),
    perAgent: Number(values['per-agent']),
    maxInFlight: Number(values['max-in-flight']),
    connections: Number(values.connections),
    maxEventLoopUtilization,
    log: (m) => console.error(m),
  });
  console.log(`load test: ${r.agents} agents × ${r.perAgent} queued results = ${r.expected} results, ${values.connections} client connections, load.maxEventLoopUtilization ${maxEventLoopUtilization}
  drained in        ${r.seconds.toFixed(1)} s  → ${r.resultsPerSecond.toFixed(0)} results/s
  stored            ${r.stored} (expected ${r.expected}; duplicates acknowledged ${r.duplicate}, rejected ${r.rejected})
  first answer      per agent, any status, from its first attempt: p50 ${r.p50FirstAnswerMs.toFixed(0)} ms, p99 ${r.p99FirstAnswerMs.toFixed(0)} ms
  outbox empty      per agent, from the storm's start: p50 ${r.p50DoneS.toFixed(1)} s, p99 ${r.p99DoneS.toFixed(1)} s
  200 answers       ${r.ok}   latency p50 ${r.p50OkMs.toFixed(0)} ms, p99 ${r.p99OkMs.toFixed(0)} ms
  inside collector  200 p50 ≤ ${r.serverP50OkMs} ms, p99 ≤ ${r.serverP99OkMs} ms; 429 p99 ≤ ${r.serverP99ShedMs} ms (histogram bucket edges)
  shed (429)        ${r.shed}  (in-flight limit ${r.shedInFlight}, saturation ${r.shedSaturated}; without Retry-After: ${r.retryAfterMissing}); all answers p99 ${r.p99AllMs.toFixed(0)} ms
  client            timeouts ${r.timeouts} (a push abandoned after ${r.timeoutMs / 1000} s like an agent's, then retried), errors ${r.errors}; other statuses ${r.other}
  collector         peak RSS ${mb(r.peakRssBytes)} MiB, CPU ${r.collectorCpuS.toFixed(0)} s; capacity estimate at the end ${r.capacityPerS.toFixed(0)} requests/s
  load average after ${load()} (2 cores shared by the collector, this client and anything else running)
  verdict           ${r.stored === r.expected && r.other === 0 ? 'every backlog drained exactly once, no 5xx' : 'FAILED'}`);
  return r;
}

const maxElu = Number(values['max-elu']);
const r = await run(maxElu, 'collector defaults');
let failed = r.stored !== r.expected || r.other !== 0;
if (values.compare) {
  const b = await run(1, 'compared against: the saturation gate off (in-flight limit only)');
  failed ||= b.stored !== b.expected || b.other !== 0;
  const ratio = (x, y) => (y > 0 ? (x / y).toFixed(2) : 'n/a');
  console.log(`
ratios, defaults ÷ gate off (< 1: the defaults are better):
  drain time              ${ratio(r.seconds, b.seconds)}
  first answer p99        ${ratio(r.p99FirstAnswerMs, b.p99FirstAnswerMs)}
  200 answer p99          ${ratio(r.p99OkMs, b.p99OkMs)}
  outbox empty p50        ${ratio(r.p50DoneS, b.p50DoneS)}
  outbox empty p99        ${ratio(r.p99DoneS, b.p99DoneS)}
  peak RSS                ${ratio(r.peakRssBytes, b.peakRssBytes)}`);
}
if (failed) process.exit(1);
