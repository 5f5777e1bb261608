import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { API_PREFIX, formatBytes } from '@hatang/shared';
import { Budget, type BudgetState } from './budget.js';
import type { LoadedConfig } from './central.js';
import { Cron } from './cron.js';
import { scheduleJobs } from './daemon.js';
import { type Identity, readIdentity } from './enroll.js';
import { httpRequest, netErrorCode } from './net/lite-http.js';
import { type DeadLetter, Outbox, type OutboxStats } from './outbox/outbox.js';
import type { UplinkState } from './uplink.js';
import { VERSION } from './version.js';

/**
 * `hatang-agent status` (docs/agent.md "Status"): everything a technician 100 km away needs to
 * know whether the box works, as data (`--json`) and as lines a person reads. Each problem also
 * lands in `attention` with what to do; the command exits 7 when there is any.
 */

export interface StatusReport {
  version: string;
  checkedAt: number;
  configFile: string | undefined;
  identity: Identity | null;
  daemon: { running: boolean; pid?: number; startedAt?: number; stoppedAt?: number };
  collector: {
    url: string;
    checked: boolean;
    reachable?: boolean;
    tokenAccepted?: boolean;
    ms?: number;
    error?: string;
  };
  uplink: UplinkState | null;
  outbox: (OutboxStats & { oldestAgeMs: number | null }) | null;
  deadLetters: DeadLetter[];
  lastResults: Array<{
    kind: string;
    at: number | null;
    outcome: string;
    status: string | null;
    summary: string | null;
    detail: string | null;
  }>;
  nextRuns: Array<{ kind: string; at: number; reason: string }>;
  nextRunsFrom: 'daemon' | 'schedule';
  budget: BudgetState | null;
  central: {
    enabled: boolean;
    fetchedAt?: number;
    etag?: string;
    lastCheck?: { at: number; outcome: string; error?: string };
    ignoredLocal: string[];
  };
  notes: string[];
  /** Problems, each with what to do. Empty when all is well. */
  attention: string[];
}

/** A queue older than this means pushes are not getting through. */
const STALE_OUTBOX_MS = 24 * 3_600_000;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function checkCollector(url: string, token: string | undefined): Promise<StatusReport['collector']> {
  const t0 = performance.now();
  try {
    const res = await httpRequest(new URL(token ? `${API_PREFIX}/agent/config` : '/healthz', url), {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      timeoutMs: 10_000,
    });
    const ms = Math.round(performance.now() - t0);
    if (!token) return { url, checked: true, reachable: res.status < 500, ms };
    if (res.status === 401 || res.status === 403)
      return { url, checked: true, reachable: true, tokenAccepted: false, ms, error: `HTTP ${res.status}` };
    if (res.status >= 400) return { url, checked: true, reachable: true, ms, error: `HTTP ${res.status}` };
    return { url, checked: true, reachable: true, tokenAccepted: true, ms };
  } catch (err) {
    return { url, checked: true, reachable: false, error: netErrorCode(err) };
  }
}

export async function gatherStatus(
  loaded: LoadedConfig,
  o: {
    now?: number;
    /** Contact the collector (default true). */
    live?: boolean;
    /** Test kinds this agent has (the probe registry). */
    kinds: readonly string[];
  },
): Promise<StatusReport> {
  const c = loaded.config;
  const now = o.now ?? Date.now();
  const attention: string[] = [];
  const identity = readIdentity(c.stateDir) ?? null;
  const token = c.collector.token;
  if (!token) attention.push('not enrolled: run hatang-agent enroll --collector URL --code CODE');

  const report: StatusReport = {
    version: VERSION,
    checkedAt: now,
    configFile: loaded.file,
    identity,
    daemon: { running: false },
    collector: { url: c.collector.url, checked: false },
    uplink: null,
    outbox: null,
    deadLetters: [],
    lastResults: [],
    nextRuns: [],
    nextRunsFrom: 'schedule',
    budget: null,
    central: {
      enabled: c.central.enabled,
      ...(loaded.central ? { fetchedAt: loaded.central.fetchedAt } : {}),
      ...(loaded.central?.etag ? { etag: loaded.central.etag } : {}),
      ignoredLocal: loaded.ignoredLocal,
    },
    notes: [],
    attention,
  };

  try {
    report.notes = scheduleJobs(c, o.kinds, loaded.localKinds).notes;
  } catch (err) {
    attention.push(`${(err as Error).message}: fix the config (hatang-agent config check)`);
  }

  const live = o.live ?? true;
  const collectorCheck = live ? checkCollector(c.collector.url, token) : undefined;

  const dbPath = join(c.stateDir, 'outbox.db');
  if (existsSync(dbPath)) {
    const outbox = Outbox.inDir(c.stateDir);
    try {
      const pid = Number(outbox.get('daemon.pid'));
      const startedAt = Number(outbox.get('daemon.startedAt')) || undefined;
      const stoppedAt = Number(outbox.get('daemon.stoppedAt')) || undefined;
      const running = pid > 0 && pidAlive(pid);
      report.daemon = {
        running,
        ...(running ? { pid } : {}),
        ...(startedAt ? { startedAt } : {}),
        ...(stoppedAt ? { stoppedAt } : {}),
      };
      const stats = outbox.stats();
      report.outbox = { ...stats, oldestAgeMs: stats.oldest === null ? null : now - stats.oldest };
      report.uplink = outbox.getJson<UplinkState>('uplink.state') ?? null;
      report.deadLetters = outbox.deadLetters(5);
      report.lastResults = outbox.latestRuns().map((r) => ({
        kind: r.kind,
        at: r.started_at,
        outcome: r.outcome,
        status: r.status,
        summary: r.summary,
        detail: r.detail,
      }));
      const check = outbox.getJson<{ at: number; outcome: string; error?: string }>('central.checked');
      if (check) report.central.lastCheck = check;
      report.budget = new Budget(outbox, c.budget, c.schedule.timezone).state(now);
      const plan = outbox.getJson<Array<{ kind: string; at: number; reason: string }>>('scheduler.plan');
      if (running && plan) {
        report.nextRuns = plan.filter((p) => Number.isFinite(p.at));
        report.nextRunsFrom = 'daemon';
      }
      if (!running) {
        const seed = Number(outbox.get('schedule.splaySeed') ?? 0);
        report.nextRuns = staticPlan(loaded, now, seed * c.schedule.splayMinutes * 60_000, o.kinds);
      }
    } finally {
      outbox.close();
    }
  } else {
    report.nextRuns = staticPlan(loaded, now, 0, o.kinds);
  }

  if (collectorCheck) report.collector = await collectorCheck;

  // What needs doing.
  if (token && !report.daemon.running)
    attention.push(
      'the agent daemon is not running: systemctl start hatang-agent (journalctl -u hatang-agent for why it stopped)',
    );
  if (report.collector.checked && report.collector.reachable === false)
    attention.push(
      `collector unreachable (${report.collector.error}): check the line and ${c.collector.url}; results wait in the outbox`,
    );
  if (report.collector.tokenAccepted === false)
    attention.push('the collector refused the agent token: ask the province for a new code and enrol again');
  if (report.outbox && report.outbox.oldestAgeMs !== null && report.outbox.oldestAgeMs > STALE_OUTBOX_MS)
    attention.push(
      `${report.outbox.count} results waiting for more than a day: pushes are not getting through (see uplink)`,
    );
  if (report.outbox && report.outbox.dropped > 0)
    attention.push(
      `${report.outbox.dropped} undelivered results were dropped because the outbox was full (outbox.maxMegabytes)`,
    );
  if (report.outbox && report.outbox.deadLetters > 0)
    attention.push(
      `${report.outbox.deadLetters} results rejected by the collector (dead letters): send the lines below to the province`,
    );
  if (report.budget?.level === 'paused')
    attention.push(`data budget used up: speed tests paused until ${new Date(report.budget.periodEnd).toISOString()}`);
  for (const r of report.lastResults) {
    if (r.outcome === 'abandoned' || r.outcome === 'failed')
      attention.push(`last ${r.kind} run ${r.outcome}: ${r.detail ?? ''}`.trim());
  }
  return report;
}

function staticPlan(
  loaded: LoadedConfig,
  now: number,
  splayMs: number,
  kinds: readonly string[],
): StatusReport['nextRuns'] {
  try {
    const { jobs } = scheduleJobs(loaded.config, kinds, []);
    return jobs
      .map((j) => {
        const cron = new Cron(j.cron, loaded.config.schedule.timezone);
        const base = cron.next(now - splayMs);
        cron.destroy();
        return { kind: j.kind, at: base === undefined ? Number.NaN : base + splayMs, reason: 'scheduled' };
      })
      .filter((p) => Number.isFinite(p.at))
      .sort((a, b) => a.at - b.at);
  } catch {
    return [];
  }
}

function localTime(t: number, tz: string): string {
  return new Date(t).toLocaleString('sv-SE', { timeZone: tz }).slice(0, 16);
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86_400)} days`;
}

/** The report as lines for a person (times in the agent's time zone). */
export function formatStatus(r: StatusReport, tz: string): string {
  const L: Array<[string, string]> = [];
  const t = (ms: number) => localTime(ms, tz);
  const id = r.identity;
  L.push([
    'identity',
    id
      ? `agent ${id.agentId} · ${id.name} · commune ${id.commune ?? '—'} · ${id.access}${id.isp ? ` · ${id.isp}` : ''}`
      : 'not enrolled',
  ]);
  L.push([
    'daemon',
    r.daemon.running
      ? `running (pid ${r.daemon.pid}${r.daemon.startedAt ? `, since ${t(r.daemon.startedAt)}` : ''})`
      : `not running${r.daemon.stoppedAt ? ` (stopped ${t(r.daemon.stoppedAt)})` : ''}`,
  ]);
  const col = r.collector;
  L.push([
    'collector',
    !col.checked
      ? `${col.url} (not checked)`
      : col.reachable === false
        ? `${col.url} UNREACHABLE: ${col.error}`
        : col.tokenAccepted === false
          ? `${col.url} reachable, TOKEN REFUSED`
          : `${col.url} reachable${col.tokenAccepted ? ', token accepted' : ''}${col.ms !== undefined ? ` (${col.ms} ms)` : ''}${col.error ? `, ${col.error}` : ''}`,
  ]);
  const up = r.uplink;
  L.push([
    'uplink',
    !up
      ? 'nothing pushed yet'
      : [
          up.lastSuccessAt
            ? `last push ${t(up.lastSuccessAt)} (${ago(r.checkedAt - up.lastSuccessAt)} ago)`
            : 'no push succeeded yet',
          up.lastError ? `last error: ${up.lastError}` : undefined,
          up.notBefore && up.notBefore > r.checkedAt ? `next try ${t(up.notBefore)}` : undefined,
        ]
          .filter(Boolean)
          .join(' · '),
  ]);
  const ob = r.outbox;
  L.push([
    'outbox',
    !ob
      ? 'no outbox yet (the agent has not run)'
      : `${ob.count} waiting${ob.count ? ` (${formatBytes(ob.bytes)}, oldest ${ago(ob.oldestAgeMs ?? 0)} ago)` : ''} · ${ob.dropped} dropped · file ${formatBytes(ob.fileBytes)}`,
  ]);
  L.push(['dead letters', ob ? `${ob.deadLetters}` : '0']);
  for (const d of r.deadLetters) L.push(['', `${d.kind} ${d.id} ${t(d.failed_at)}: ${d.code} ${d.message}`]);
  const b = r.budget;
  L.push([
    'budget',
    !b || b.level === 'unlimited'
      ? `no limit · ${b ? formatBytes(b.usedBytes) : '0 B'} used since ${b ? t(b.periodStart).slice(0, 10) : '—'}`
      : `${formatBytes(b.usedBytes)} of ${formatBytes(b.limitBytes)} (${b.percent.toFixed(0)} %) since ${t(b.periodStart).slice(0, 10)} · ${b.heavyKinds.join('/')}: ${b.level === 'normal' ? 'normal' : b.level === 'halved' ? 'half as often' : `paused until ${t(b.periodEnd).slice(0, 10)}`}`,
  ]);
  const ce = r.central;
  L.push([
    'central cfg',
    !ce.enabled
      ? 'disabled (central.enabled: false)'
      : `${ce.fetchedAt ? `in use, fetched ${t(ce.fetchedAt)}` : 'none yet (defaults and local file)'}${ce.lastCheck ? ` · last check ${t(ce.lastCheck.at)} ${ce.lastCheck.outcome}${ce.lastCheck.error ? `: ${ce.lastCheck.error}` : ''}` : ''}`,
  ]);
  if (ce.ignoredLocal.length) L.push(['', `local keys overridden by the province: ${ce.ignoredLocal.join(', ')}`]);
  if (r.lastResults.length === 0) L.push(['last results', 'none yet']);
  r.lastResults.forEach((x, i) => {
    L.push([
      i === 0 ? 'last results' : '',
      `${x.kind.padEnd(8)} ${x.at ? t(x.at) : '—'}  ${x.outcome === 'done' ? (x.summary ?? x.status ?? '') : `${x.outcome}: ${x.summary ?? x.detail ?? ''}`}`,
    ]);
  });
  if (r.nextRuns.length === 0) L.push(['next runs', 'none scheduled']);
  r.nextRuns.forEach((x, i) => {
    L.push([
      i === 0 ? 'next runs' : '',
      `${x.kind.padEnd(8)} ${t(x.at)}${x.reason !== 'scheduled' ? ` (${x.reason})` : ''}${r.nextRunsFrom === 'schedule' && i === 0 ? '  (from the schedule; the daemon adds jitter)' : ''}`,
    ]);
  });
  for (const n of r.notes) L.push(['note', n]);
  const width = 13;
  const lines = [
    `hatang-agent ${r.version}${r.configFile ? ` · ${r.configFile}` : ''} · ${t(r.checkedAt)} ${tz}`,
    ...L.map(([k, v]) => `${k.padEnd(width)}${v}`),
  ];
  lines.push(
    r.attention.length === 0
      ? `${'status'.padEnd(width)}OK`
      : `${'ATTENTION'.padEnd(width)}${r.attention.map((a, i) => (i === 0 ? a : `${' '.repeat(width)}${a}`)).join('\n')}`,
  );
  return lines.join('\n');
}
