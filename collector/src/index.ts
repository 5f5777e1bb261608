export { centralConfigFor, etagOf } from './agents/central-config.js';
export {
  createEnrollCodes,
  type EnrollCodeRow,
  type EnrollCodes,
  normaliseCode,
  parseTtl,
} from './agents/enroll-codes.js';
export { type BuildAppOptions, buildApp, type Role } from './app.js';
export { COLLECTOR_CONFIG_SPEC, loadCollectorConfig } from './config.js';
export { parseCsv, toCsv } from './csv.js';
export {
  DEMO_BACKLOG,
  DEMO_DISTRICTS,
  DEMO_XSS_AGENT,
  DEMO_XSS_COMMUNE,
  type DemoAgent,
  type DemoData,
  seedDashboardDemo,
} from './dashboard/demo.js';
export { hashPassword, verifyPassword } from './dashboard/password.js';
export { type SeededSpeed, seedThroughIngest } from './dashboard/seed.js';
export { createAccountStore, type UserRole } from './dashboard/store.js';
export { DEFAULT_UNITS_FILE, loadDefaultUnits } from './geography/defaults.js';
export { type Scope, type UnitState, UnitTree } from './geography/tree.js';
export { importUnits, mergeUnits, readUnitsCsv, renameUnit, saveGroup, type UnitInput } from './geography/units.js';
export { ipv6Csv } from './ipv6/csv.js';
export {
  type Ipv6CommuneRow,
  type Ipv6TargetRow,
  type Ipv6WeekReport,
  ipv6Observations,
  ipv6WeekReport,
  type UnitNames,
  unitNames,
} from './ipv6/query.js';
export { type CheckStatus, type Ipv6AgentStatus, type Ipv6TargetStatus, ipv6Status } from './ipv6/status.js';
export { syncIpv6 } from './ipv6/sync.js';
export type { Principal, ReaderResolver } from './plugins/access.js';
export { checkAgentInput, registerAgent, updateAgent } from './registry/agents.js';
export { normIsp, RollupBatch, rebuildRollups } from './stats/rollup.js';
export {
  createStatsService,
  localIso,
  type PeriodInfo,
  periodInfo,
  type StatsService,
  type TrendPoint,
  type TrendQuery,
  type TrendReport,
  type UnitInfo,
  type UnitStatsRow,
  type UnitsQuery,
  type UnitsReport,
} from './stats/service.js';
export { createAdminTokenRepo } from './storage/admin-tokens.js';
export { type AgentRecord, createAgentsRepo } from './storage/agents.js';
export { type Db, migrate, openDb } from './storage/db.js';
export { migrations } from './storage/migrations.js';
export { createRepo, type Repo } from './storage/repo.js';
export { backupDb, pruneRawResults } from './storage/retention.js';
export { createRollupRepo, decodeSamples, downloadsOf, encodeSamples } from './storage/rollups.js';
export { createUnitsRepo, UNIT_LEVELS, type UnitLevel, type UnitRow } from './storage/units.js';
export { ingestEnvelope, type SpeedSeed, speedResult, startCollector, type TestCollector } from './testing.js';
export { VERSION } from './version.js';
