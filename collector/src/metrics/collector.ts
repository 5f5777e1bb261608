import { IPV6_MAX_TARGETS, type TargetTable } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IngestEvent } from '../ingest/events.js';
import { ipv6Status } from '../ipv6/status.js';
import type { MetricsConfig } from '../plugins/metrics.js';
import { type AgentLabels, type AgentLatest, createAgentQueries, type DistrictOf } from './agents.js';
import { bytesPerSecond, downloadBuckets, mbpsToBytesPerSecond, targetValuesMbps } from './buckets.js';
import { districtOf as districtInTree, type UnitFigures, type UnitsSnapshot, unitsSnapshot } from './units.js';

/** Labels of every per-agent series, in this order (DESIGN.md §6). */
export const AGENT_LABEL_NAMES = ['agent', 'commune', 'district', 'access', 'isp'] as const;
/** Labels of every per-unit series. */
export const UNIT_LABEL_NAMES = ['level', 'district', 'commune', 'access'] as const;

/** `server` label for test servers past metrics.maxServerLabels. */
export const OTHER_SERVER = 'other';
/** `target` label for IPv6 targets past the most one agent may check (IPV6_MAX_TARGETS + the collector). */
export const OTHER_TARGET = 'other';
const MAX_IPV6_TARGET_LABELS = IPV6_MAX_TARGETS + 1;

/**
 * Caches a computation for `ttlMs`, and always for the rest of the current scrape: prom-client runs
 * every metric's collect() in the same tick, so a snapshot is computed at most once per scrape.
 */
export function cached<T>(ttlMs: number, now: () => number, compute: () => T): () => T {
  let value: T | undefined;
  let at = Number.NEGATIVE_INFINITY;
  let pinned = false;
  return () => {
    const t = now();
    if (value === undefined || (!pinned && t - at >= ttlMs)) {
      value = compute();
      at = t;
      pinned = true;
      setImmediate(() => {
        pinned = false;
      });
    }
    return value;
  };
}

/** Keeps the first `max` distinct values of a label; later ones become `other`. */
function boundedLabel(max: number, other: string) {
  const seen = new Set<string>();
  return (v: string) => {
    if (seen.has(v)) return v;
    if (seen.size < max) {
      seen.add(v);
      return v;
    }
    return other;
  };
}

interface AgentsSnapshot {
  agents: AgentLatest[];
  /** agent id → 1 / 0 (IPv6 present on its line), from the IPv6 area's status. */
  ipv6: Map<string, number>;
  /** IPv6 target name → agents that checked it and agents that reached it over IPv6. */
  targets: Map<string, { checked: number; reachable: number }>;
}

/**
 * The full collector's series: ingest counters, per-agent and per-unit gauges, targets, IPv6 per
 * target, the download histogram. Database-derived gauges read in collect() through one cached
 * snapshot per part (agents, units).
 */
export function registerCollectorMetrics(
  app: FastifyInstance,
  registry: Registry,
  config: MetricsConfig,
  deps: { now: () => number; targets: TargetTable },
) {
  const { now } = deps;
  const registers = [registry];
  const hasStats = () => app.hasDecorator('stats');
  /** Commune → district from the unit registry (recomputed with each snapshot; '' without units). */
  let districtCache = new Map<string, string>();
  const districtOf: DistrictOf = (commune) => {
    let d = districtCache.get(commune);
    if (d === undefined) {
      d = hasStats() ? districtInTree(app.stats.tree(), commune) : '';
      districtCache.set(commune, d);
    }
    return d;
  };

  // --- ingest (counters, updated by the ingest hook) -------------------------------------------
  const results = new Counter({
    name: 'hatang_ingest_results_total',
    help: 'Results received in ingest batches, by outcome: accepted, duplicate (stored before), rejected.',
    labelNames: ['outcome'],
    registers,
  });
  for (const outcome of ['accepted', 'duplicate', 'rejected']) results.inc({ outcome }, 0);
  const rejected = new Counter({
    name: 'hatang_ingest_rejected_results_total',
    help: 'Results rejected at ingest, by agent and stable error code (docs/errors.md).',
    labelNames: ['agent', 'code'],
    registers,
  });
  const serverTests = new Counter({
    name: 'hatang_server_tests_total',
    help: 'Accepted results that name a test server, by server id (first metrics.maxServerLabels ids, then "other"), kind and status.',
    labelNames: ['server', 'kind', 'status'],
    registers,
  });
  const serverLabel = boundedLabel(config.maxServerLabels, OTHER_SERVER);
  const downloadHist = new Histogram({
    name: 'hatang_speed_test_download_bytes_per_second',
    help: 'Download speed of the speed tests that count in the statistics, by district and access type; bucket edges include every target and 0.8 × each target (× 8 for bit/s).',
    labelNames: ['district', 'access'],
    buckets: downloadBuckets(targetValuesMbps(deps.targets)),
    registers,
  });

  // --- per agent (database, on scrape) ------------------------------------------------------------
  let q: ReturnType<typeof createAgentQueries> | undefined;
  const queries = () => {
    q ??= createAgentQueries(app.db);
    return q;
  };
  const collectDuration = new Gauge({
    name: 'hatang_metrics_collect_duration_seconds',
    help: 'Time the last database read for the per-agent and per-unit gauges took (once per metrics.cacheMs at most).',
    labelNames: ['part'],
    registers,
    collect() {
      // Registered before the gauges that read the snapshots: time this scrape's reads.
      agents();
      units();
    },
  });
  /** The snapshot each gauge last showed: a cached snapshot is not re-applied series by series. */
  const shown = new WeakMap<object, object>();
  let labelCache = new Map<string, AgentLabels>();
  const agents = cached(config.cacheMs, now, (): AgentsSnapshot => {
    const t0 = performance.now();
    districtCache = new Map();
    const rows = queries().latest(districtOf);
    labelCache = new Map(rows.map((r) => [r.labels.agent, r.labels]));
    const ipv6 = new Map<string, number>();
    const targets = new Map<string, { checked: number; reachable: number }>();
    const targetLabel = boundedLabel(MAX_IPV6_TARGET_LABELS, OTHER_TARGET);
    for (const s of ipv6Status(app.db)) {
      ipv6.set(s.agentId, s.ipv6Present ? 1 : 0);
      for (const t of s.targets) {
        const name = targetLabel(t.name);
        const c = targets.get(name) ?? { checked: 0, reachable: 0 };
        c.checked++;
        if (t.v6Reachable) c.reachable++;
        targets.set(name, c);
      }
    }
    collectDuration.set({ part: 'agents' }, (performance.now() - t0) / 1000);
    return { agents: rows, ipv6, targets };
  });
  const labelsOf = (agentId: string): AgentLabels | undefined => {
    let l = labelCache.get(agentId);
    if (!l) {
      l = queries().labels(agentId, districtOf);
      if (l) labelCache.set(agentId, l);
    }
    return l;
  };

  const agentGauge = (name: string, help: string, pick: (a: AgentLatest, s: AgentsSnapshot) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: AGENT_LABEL_NAMES,
      registers,
      collect() {
        const s = agents();
        if (s === shown.get(this)) return; // same snapshot as the last scrape: the values stand
        shown.set(this, s);
        this.reset();
        for (const a of s.agents) {
          const v = pick(a, s);
          if (v !== null && v !== undefined && Number.isFinite(v)) this.set({ ...a.labels }, v);
        }
      },
    });
  agentGauge(
    'hatang_agent_download_bytes_per_second',
    "Download speed of the agent's latest speed test (× 8 for bit/s).",
    (a) => bytesPerSecond(a.downloadBps),
  );
  agentGauge(
    'hatang_agent_upload_bytes_per_second',
    "Upload speed of the agent's latest speed test (× 8 for bit/s).",
    (a) => bytesPerSecond(a.uploadBps),
  );
  agentGauge(
    'hatang_agent_latency_seconds',
    "Median idle round-trip time of the agent's latest latency or speed test.",
    (a) => a.latencyS,
  );
  agentGauge(
    'hatang_agent_jitter_seconds',
    "Jitter (mean |Δ| of consecutive RTTs) of the agent's latest latency or speed test.",
    (a) => a.jitterS,
  );
  agentGauge('hatang_agent_udp_loss_ratio', "Packet loss (0–1) of the agent's latest UDP test.", (a) => a.lossRatio);
  agentGauge(
    'hatang_agent_ipv6_status',
    "1 when the agent's latest IPv6 check found IPv6 on its line (global address and default route), 0 when not.",
    (a, s) => s.ipv6.get(a.labels.agent) ?? null,
  );
  agentGauge(
    'hatang_agent_last_seen_timestamp_seconds',
    'When the agent last delivered a batch (its registration time until it has), seconds since epoch.',
    (a) => a.lastSeenS,
  );
  agentGauge(
    'hatang_agent_last_speed_test_timestamp_seconds',
    'When the speed test behind the download/upload gauges started, seconds since epoch.',
    (a) => a.lastSpeedTestS,
  );
  // The outbox status the agent sent with its latest batch (docs/protocol.md §1.1): no series for
  // an agent that sends none (an older version).
  agentGauge(
    'hatang_agent_outbox_queued_results',
    "Results waiting in the agent's outbox behind its latest batch, as the agent reported.",
    (a) => a.outbox?.queued ?? null,
  );
  agentGauge(
    'hatang_agent_outbox_oldest_timestamp_seconds',
    "Start of the oldest result waiting in the agent's outbox, re-based on the collector clock, seconds since epoch; no series when none waits.",
    (a) => a.outbox?.oldestS ?? null,
  );
  agentGauge(
    'hatang_agent_outbox_dead_letters',
    'Results the collector refused that the agent keeps as dead letters, as the agent reported.',
    (a) => a.outbox?.deadLetters ?? null,
  );
  agentGauge(
    'hatang_agent_outbox_dropped_results',
    'Results the agent dropped unsent because its outbox was full, running total as the agent reported.',
    (a) => a.outbox?.dropped ?? null,
  );

  // --- IPv6 per target (database, on scrape) --------------------------------------------------------
  new Gauge({
    name: 'hatang_ipv6_target_checked_agents',
    help: 'Agents whose latest IPv6 check tested this target (configured name).',
    labelNames: ['target'],
    registers,
    collect() {
      this.reset();
      for (const [target, c] of agents().targets) this.set({ target }, c.checked);
    },
  });
  new Gauge({
    name: 'hatang_ipv6_target_reachable_ratio',
    help: 'Share (0–1) of those agents that reached the target over IPv6 only (HTTP over IPv6 answered).',
    labelNames: ['target'],
    registers,
    collect() {
      this.reset();
      for (const [target, c] of agents().targets) if (c.checked > 0) this.set({ target }, c.reachable / c.checked);
    },
  });

  // --- per unit (statistics service, on scrape) -----------------------------------------------------
  const emptyUnits: UnitsSnapshot = { info: [], figures: [] };
  const units = cached(config.unitCacheMs ?? config.cacheMs, now, (): UnitsSnapshot => {
    if (!hasStats()) return emptyUnits;
    const t0 = performance.now();
    const s = unitsSnapshot(app.stats, config.recentWeeks);
    collectDuration.set({ part: 'units' }, (performance.now() - t0) / 1000);
    return s;
  });
  new Gauge({
    name: 'hatang_unit_info',
    help: 'Always 1; the `name` label carries the unit name for joins: * on(district) group_left(name) hatang_unit_info{level="district"}.',
    labelNames: ['level', 'district', 'commune', 'name'],
    registers,
    collect() {
      const u = units();
      if (u === shown.get(this)) return;
      shown.set(this, u);
      this.reset();
      for (const i of u.info) this.set({ ...i }, 1);
    },
  });
  // Units without data export nothing but hatang_unit_info: current-week series need a test this
  // week, recent-week series a completed week with data. An empty province costs ~200 series, not ~3 000.
  const unitGauge = (
    name: string,
    help: string,
    pick: (f: UnitFigures) => number | null,
    when: 'week' | 'recent' = 'week',
  ) =>
    new Gauge({
      name,
      help,
      labelNames: UNIT_LABEL_NAMES,
      registers,
      collect() {
        const u = units();
        if (u === shown.get(this)) return;
        shown.set(this, u);
        this.reset();
        for (const f of u.figures) {
          if (when === 'week' ? f.samples === 0 : f.recentMeasured === 0) continue;
          const v = pick(f);
          if (v !== null && Number.isFinite(v)) this.set({ ...f.labels }, v);
        }
      },
    });
  unitGauge(
    'hatang_unit_week_download_median_bytes_per_second',
    'Median download speed of the current ISO week (Asia/Ho_Chi_Minh) so far, per unit and access type (× 8 for bit/s).',
    (f) => bytesPerSecond(f.medianBps),
  );
  unitGauge(
    'hatang_unit_week_attainment_ratio',
    "The current week's median divided by this year's target (1 = exactly at target).",
    (f) => f.attainmentRatio,
  );
  unitGauge(
    'hatang_unit_week_attained',
    "1 when the current week's median is at or above this year's target, 0 when below.",
    (f) => f.attained,
  );
  unitGauge('hatang_unit_week_samples', "Speed tests behind the current week's figures.", (f) => f.samples);
  unitGauge(
    'hatang_unit_week_low_samples',
    '1 when the current week has fewer tests than the pro-rated floor of 300 a month (Công văn 5691/BTTTT-CVT).',
    (f) => (f.lowSamples ? 1 : 0),
  );
  unitGauge(
    'hatang_unit_week_tests_at_target_ratio',
    "Share (0–1) of the current week's tests at or above the target.",
    (f) => f.shareAtTarget,
  );
  unitGauge(
    'hatang_unit_recent_weeks_below_target',
    'Of the last metrics.recentWeeks completed ISO weeks, how many had a median below target (weeks without data do not count).',
    (f) => f.recentBelow,
    'recent',
  );
  unitGauge(
    'hatang_unit_recent_weeks_measured',
    'Of the last metrics.recentWeeks completed ISO weeks, how many had data.',
    (f) => f.recentMeasured,
    'recent',
  );

  // --- targets (config, through the statistics service) ----------------------------------------------
  new Gauge({
    name: 'hatang_target_download_bytes_per_second',
    help: "The plan's download target for the current ISO week's year by access type (× 8 for bit/s: 90 Mbit/s = 11250000).",
    labelNames: ['access'],
    registers,
    collect() {
      this.reset();
      if (!hasStats()) return;
      const year = app.stats.currentPeriod('week').year;
      for (const access of ['fixed', 'mobile'] as const) {
        const bps = app.stats.targetFor(year, access);
        if (bps !== null) this.set({ access }, mbpsToBytesPerSecond(bps / 1e6));
      }
    },
  });

  app.ingestEvents.on((e: IngestEvent) => {
    results.inc({ outcome: 'accepted' }, e.accepted.length);
    results.inc({ outcome: 'duplicate' }, e.duplicate);
    results.inc({ outcome: 'rejected' }, e.rejected.length);
    for (const code of e.rejected) rejected.inc({ agent: e.agentId, code });
    const district = e.accepted.some((r) => r.counted) ? (labelsOf(e.agentId)?.district ?? '') : '';
    for (const r of e.accepted) {
      if (r.serverId !== null) serverTests.inc({ server: serverLabel(r.serverId), kind: r.kind, status: r.status });
      if (r.counted && r.downloadBps !== null) downloadHist.observe({ district, access: r.access }, r.downloadBps / 8);
    }
  });
}
