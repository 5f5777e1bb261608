export { type BuildAppOptions, buildApp, type Role } from './app.js';
export { COLLECTOR_CONFIG_SPEC, loadCollectorConfig } from './config.js';
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
export { type Db, migrate, openDb } from './storage/db.js';
export { migrations } from './storage/migrations.js';
export { createRepo, type Repo } from './storage/repo.js';
export { startCollector, type TestCollector } from './testing.js';
export { VERSION } from './version.js';
