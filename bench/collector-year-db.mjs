// One year of speed tests for 1 000 agents in a fresh collector database, reusable by every
// benchmark that needs "the one-year database" (collector ingest and queries, dashboard pages).
//
//   import { buildYearDb, planYear, yearResult } from './collector-year-db.mjs';
//   const year = await buildYearDb({ path: '/tmp/hatang-year.db' });
//
// Agents: 5 per commune over Son La's 200 communes (the shipped unit list), one in five on a
// mobile line, ISPs VNPT / Viettel / FPT. Each runs a speed test every 2 h ± 30 min for 365 days
// ending at `end` (≈ 4.4 M results). Speeds: per-agent lognormal around a commune level (fixed
// ≈ 60–140 Mbit/s, mobile ≈ 20–70), 10 % better by the end of the year, 20 % slower in the
// evening peak; 1 % of tests fail. Deterministic for a given seed.
//
// The bulk goes in through prepared statements (the same columns and rollups as ingest); the
// last `httpDays` days are left out so a benchmark can send them through the HTTP API.
import { randomBytes } from 'node:crypto';
import {
  createAdminTokenRepo,
  createRepo,
  createRollupRepo,
  loadDefaultUnits,
  normIsp,
  openDb,
  RollupBatch,
} from '@hatang/collector';
import { dayStartMs, localDayOf } from '@hatang/shared';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const ISPS = ['VNPT', 'Viettel', 'FPT'];

let pool = Buffer.alloc(0);
let poolAt = 0;
/** A UUIDv7 for a time (48-bit ms, version, variant, random), as agents make them. */
export function uuidv7At(ms) {
  if (poolAt + 16 > pool.length) {
    pool = randomBytes(16 * 8192);
    poolAt = 0;
  }
  const b = Buffer.from(pool.subarray(poolAt, poolAt + 16));
  poolAt += 16;
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Small fast deterministic PRNG (mulberry32). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gauss(r) {
  const u = Math.max(r(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
}

/**
 * The agents and the schedule of the year, without touching a database.
 * @param {{ agents?: number, days?: number, end?: number, seed?: number, communes: string[] }} o
 */
export function planYear(o) {
  const agents = o.agents ?? 1000;
  const days = o.days ?? 365;
  const endDay = localDayOf(o.end ?? Date.now());
  const firstDay = endDay - days; // the last full day is endDay - 1
  const r = rng(o.seed ?? 7);
  const communeLevel = new Map(o.communes.map((c) => [c, Math.exp(gauss(r) * 0.2)]));
  const list = [];
  for (let i = 0; i < agents; i++) {
    const commune = o.communes[i % o.communes.length];
    const access = i % 5 === 4 ? 'mobile' : 'fixed';
    const base = (access === 'fixed' ? 95 : 40) * communeLevel.get(commune) * Math.exp(gauss(r) * 0.15);
    list.push({
      i,
      name: `bench-${String(i).padStart(4, '0')}`,
      commune,
      access,
      isp: ISPS[(i * 7 + (i >> 3)) % ISPS.length],
      base,
      phaseMs: Math.floor(r() * 2 * HOUR),
      seed: (o.seed ?? 7) * 100_003 + i,
    });
  }
  return { agents: list, firstDay, endDay, days };
}

/** The tests one agent ran on one local day: [{ at, down, up, lat, ok }] (bit/s, ms). */
export function testsOfDay(agent, day, plan) {
  const r = rng(agent.seed * 1_000_003 + day);
  const out = [];
  const start = dayStartMs(day);
  const progress = (day - plan.firstDay) / plan.days; // 0 → 1 over the year
  for (let k = 0; k < 12; k++) {
    const at = start + k * 2 * HOUR + agent.phaseMs + Math.floor((r() - 0.5) * HOUR);
    const hour = (((at + 7 * HOUR) % DAY) + DAY) % DAY;
    const evening = hour >= 19 * HOUR && hour < 23 * HOUR;
    const ok = r() >= 0.01;
    const mbps = agent.base * (1 + 0.1 * progress) * (evening ? 0.8 : 1) * Math.exp(gauss(r) * 0.25);
    out.push({
      at,
      ok,
      down: ok ? Math.round(mbps * 1e6) : null,
      up: ok ? Math.round(mbps * (agent.access === 'fixed' ? 0.45 : 0.3) * 1e6) : null,
      lat: ok ? Math.round((agent.access === 'fixed' ? 12 : 35) * Math.exp(gauss(r) * 0.3) * 10) / 10 : null,
    });
  }
  return out;
}

/** A wire result for one test (what an agent sends). */
export function yearResult(agent, t, clock) {
  const dir = (bps) => ({
    bps,
    bytes: Math.round((bps * 8.5) / 8),
    durationMs: 10_000,
    warmupMs: 1_500,
    streams: agent.access === 'fixed' ? 8 : 4,
    stopReason: 'window',
    trimmedMeanBps: Math.round(bps * 0.97),
    p90Bps: Math.round(bps * 1.08),
  });
  return {
    id: uuidv7At(t.at),
    kind: 'speed',
    startedAt: new Date(t.at).toISOString(),
    clock,
    durationMs: 24_000,
    status: t.ok ? 'ok' : 'error',
    ...(t.ok ? {} : { error: { code: 'TIMEOUT', phase: 'download', message: 'no bytes for 5 s' } }),
    network: { access: agent.access, family: 4, isp: agent.isp, iface: 'eth0', linkMbps: 1000 },
    server: { id: 'son-la-1', url: 'http://speed.son-la.example/' },
    bytesUsed: t.ok ? Math.round(((t.down + t.up) * 8.5) / 8) : 0,
    agentVersion: '0.1.0',
    speed: t.ok
      ? {
          profile: agent.access === 'fixed' ? 'fixed' : 'metered',
          download: dir(t.down),
          upload: { ...dir(t.up), serverMeasured: true },
          idle: {
            samples: 19,
            minMs: t.lat * 0.8,
            medianMs: t.lat,
            meanMs: t.lat * 1.05,
            p90Ms: t.lat * 1.4,
            jitterMs: t.lat * 0.1,
            stdDevMs: t.lat * 0.15,
          },
        }
      : { profile: 'fixed' },
  };
}

/**
 * Build the one-year database at `path` (which must not exist yet).
 * @param {{ path: string, agents?: number, days?: number, httpDays?: number, end?: number, seed?: number,
 *           onProgress?: (p: { day: number, days: number, results: number }) => void }} o
 * @returns the plan, agent tokens (id → token), an admin token and counts.
 */
export async function buildYearDb(o) {
  const db = openDb({ path: o.path });
  // A fresh file that is thrown away on failure: no fsync while seeding.
  db.pragma('synchronous = OFF');
  try {
    loadDefaultUnits(db, Date.now());
    const communes = db
      .prepare("SELECT code FROM units WHERE level = 'commune' AND valid_to IS NULL ORDER BY code")
      .pluck()
      .all();
    const plan = planYear({ ...o, communes });
    const repo = createRepo(db);
    const rollups = createRollupRepo(db);
    const tokens = new Map();
    const created = dayStartMs(plan.firstDay) - DAY;
    db.transaction(() => {
      for (const a of plan.agents) {
        const { agent, token } = repo.addAgent(
          { name: a.name, access: a.access, isp: a.isp, communeCode: a.commune },
          created,
        );
        a.id = agent.id;
        tokens.set(agent.id, token);
      }
    })();
    const admin = createAdminTokenRepo(db).create('bench', Date.now()).token;
    const httpDays = o.httpDays ?? 0;
    const lastBulkDay = plan.endDay - 1 - httpDays;
    let results = 0;
    for (let day = plan.firstDay; day <= lastBulkDay; day++) {
      const batch = new RollupBatch(rollups);
      db.transaction(() => {
        for (const a of plan.agents) {
          for (const t of testsOfDay(a, day, plan)) {
            const r = yearResult(a, t, { bootId: `boot-${a.i}`, uptimeMs: 1000 });
            repo.insertResult({
              id: r.id,
              agentId: a.id,
              kind: 'speed',
              status: r.status,
              startedAt: t.at,
              wallAt: t.at,
              receivedAt: t.at + 30_000,
              timeTrusted: true,
              access: a.access,
              family: 4,
              isp: a.isp,
              serverId: 'son-la-1',
              downloadBps: t.down,
              uploadBps: t.up,
              latencyMs: t.lat,
              jitterMs: t.lat === null ? null : t.lat * 0.1,
              lossPct: null,
              bytesUsed: r.bytesUsed,
              agentLimited: false,
              flags: 0,
              body: JSON.stringify(r),
            });
            if (t.ok) batch.add(a.id, a.access, normIsp(a.isp), { at: t.at, down: t.down, up: t.up, lat: t.lat });
            results++;
          }
        }
        batch.flush();
      })();
      o.onProgress?.({ day: day - plan.firstDay + 1, days: lastBulkDay - plan.firstDay + 1, results });
    }
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('ANALYZE');
    return { plan, tokens, admin, bulkResults: results, lastBulkDay };
  } finally {
    db.close();
  }
}
