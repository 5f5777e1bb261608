#!/usr/bin/env node
// pnpm bench:load [-- --agents 10000 --per-agent 50 --max-in-flight 32]
// N simulated agents reconnect at once after an outage, each with a full outbox, against one
// collector. Prints results/s, latency percentiles, peak RSS, shed requests; checks every backlog drained exactly once.
import { parseArgs } from 'node:util';
import { runLoad } from './load-lib.mjs';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    'per-agent': { type: 'string', default: '50' },
    'max-in-flight': { type: 'string', default: '32' },
    connections: { type: 'string', default: '4096' },
  },
});
const r = await runLoad({
  agents: Number(values.agents),
  perAgent: Number(values['per-agent']),
  maxInFlight: Number(values['max-in-flight']),
  connections: Number(values.connections),
  log: (m) => console.error(m),
});
const mb = (b) => (b / 1024 / 1024).toFixed(0);
console.log(`
load test: ${r.agents} agents × ${r.perAgent} queued results = ${r.expected} results
  drained in        ${r.seconds.toFixed(1)} s  → ${r.resultsPerSecond.toFixed(0)} results/s
  stored            ${r.stored} (expected ${r.expected}; duplicates acknowledged ${r.duplicate}, rejected ${r.rejected})
  200 answers       ${r.ok}   latency p50 ${r.p50OkMs.toFixed(0)} ms, p99 ${r.p99OkMs.toFixed(0)} ms
  shed (429)        ${r.shed}  (without Retry-After: ${r.retryAfterMissing}); all answers p99 ${r.p99AllMs.toFixed(0)} ms
  client errors     ${r.errors}; other statuses ${r.other}
  collector peak RSS ${mb(r.peakRssBytes)} MiB
  verdict           ${r.stored === r.expected && r.other === 0 ? 'every backlog drained exactly once, no 5xx' : 'FAILED'}`);
if (r.stored !== r.expected || r.other !== 0) process.exit(1);
