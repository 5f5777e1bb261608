export { Budget, type BudgetState, periodEnd, periodStart } from './budget.js';
export {
  checkCentral,
  effectiveConfig,
  fetchCentral,
  type LoadedConfig,
  loadAgentConfig,
  readCentralCache,
  writeCentralCache,
} from './central.js';
export {
  type Clock,
  type DaemonClock,
  skewedClock,
  systemClock,
  systemDaemonClock,
  systemTimers,
  type Timers,
} from './clock.js';
export { AGENT_CONFIG_SPEC, envNames, loadConfig, validateConfig } from './config.js';
export { Cron } from './cron.js';
export { Daemon, type DaemonOptions, type RunValue, scheduleJobs, splayOf } from './daemon.js';
export { enroll, type Identity, readIdentity } from './enroll.js';
export { describeResult, summarise } from './format.js';
export { readHostIpv6 } from './ipv6/host.js';
export { createLogger, type Logger } from './log.js';
export { LocateError, type LocateTarget, locateNdt7, parseLocateBody, withoutQuery } from './mlab/locate.js';
export { type DeadLetter, Outbox, type OutboxLimits } from './outbox/outbox.js';
export { COLLECTOR_TARGET, ipv6Probe, ipv6TargetsOf } from './probes/ipv6.js';
export { latencyProbe } from './probes/latency.js';
export { defaultUserAgent, ndt7Probe, ndt7Url } from './probes/ndt7.js';
export { Ndt7ClientError, type Ndt7SubtestResult, runNdt7Subtest } from './probes/ndt7-client.js';
export type { Probe, ProbeContext, ProbeOutcome, Progress } from './probes/probe.js';
export { probeFor, probes } from './probes/registry.js';
export { speedProbe } from './probes/speed.js';
export { udpProbe } from './probes/udp.js';
export { failedResult, runProbe, serversOf } from './result.js';
export { childProcessRunner, inProcessRunner, type ProbeRunner } from './runner.js';
export { type JobSpec, type RunEvent, Scheduler } from './scheduler.js';
export { formatStatus, gatherStatus, type StatusReport } from './status.js';
export { ManualClock } from './testing.js';
export { parseRetryAfter, Uplink } from './uplink.js';
export { VERSION } from './version.js';
