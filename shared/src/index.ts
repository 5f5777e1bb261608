export * from './errors.js';
export * from './schemas/common.js';
export * from './schemas/ingest.js';
export * from './schemas/results.js';
export * from './spec.js';
export * from './stats/basic.js';
export * from './units.js';
export * from './validate.js';
