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
export { type Db, migrate, openDb } from './storage/db.js';
export { migrations } from './storage/migrations.js';
export { createRepo, type Repo } from './storage/repo.js';
export { startCollector, type TestCollector } from './testing.js';
export { VERSION } from './version.js';
