export * from './config-loader.js';
export * from './errors.js';
export * from './ipv6.js';
export * from './schemas/agent-config.js';
export * from './schemas/collector-config.js';
export * from './schemas/common.js';
export * from './schemas/ingest.js';
export * from './schemas/results.js';
export * from './schemas/stats.js';
export * from './spec.js';
export * from './stats/aggregate.js';
export * from './stats/basic.js';
export * from './stats/ipv6.js';
export * from './stats/periods.js';
// stats/periods.ts (collector) and time.ts (ipv6) both define the ISO week of an instant in
// Vietnam time, with the same shape; the explicit export settles which one the package exports.
export { type IsoWeek, isoWeekOf } from './stats/periods.js';
export * from './stats/throughput.js';
export * from './time.js';
export * from './units.js';
export * from './validate.js';
