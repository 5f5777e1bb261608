// Loads M-Lab's JavaScript ndt7 client for Node tests.
// - 0.0.6 runs on Node as shipped (its workers are child processes via workerjs, with ws).
// - 0.1.x is browser-only: it needs the Worker and WebSocket globals. We provide Worker with
//   node:worker_threads and WebSocket with the `ws` package inside each worker, and load the
//   package's own worker files unchanged.
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { Worker as ThreadWorker } from 'node:worker_threads';

const collectorPkg = new URL('../../collector/package.json', import.meta.url);
const collectorRequire = createRequire(collectorPkg);

/** @m-lab/ndt7 0.0.6 (collector devDependency). */
export function loadNdt7js006() {
  return collectorRequire('@m-lab/ndt7');
}

// Runs in each worker thread: the browser's worker globals, then the package's worker script.
const BOOT = `
const { parentPort, workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
const ws = createRequire(workerData.base)('ws');
globalThis.WebSocket = ws.WebSocket ?? ws.default ?? ws;
globalThis.self = globalThis;
globalThis.postMessage = (m) => parentPort.postMessage(m);
const code = require('node:fs').readFileSync(workerData.file, 'utf8');
require('node:vm').runInThisContext(code, { filename: workerData.file });
parentPort.on('message', (data) => globalThis.self.onmessage({ data }));
`;

/** A browser-style Worker on worker_threads: new Worker(file), onmessage({data}), postMessage, terminate. */
function workerShim(srcDir, base) {
  return class NodeWorker {
    constructor(file) {
      this.onmessage = undefined;
      this.onerror = undefined;
      const path = isAbsolute(file) ? file : join(srcDir, file);
      this.thread = new ThreadWorker(BOOT, { eval: true, workerData: { file: path, base } });
      this.thread.on('message', (data) => this.onmessage?.({ data }));
      this.thread.on('error', (err) => this.onerror?.(err));
    }
    postMessage(m) {
      this.thread.postMessage(m);
    }
    terminate() {
      void this.thread.terminate();
    }
  };
}

/**
 * @m-lab/ndt7 0.1.4 (collector devDependency under the alias ndt7-js-0.1). Its `test()` looks up
 * the global Worker when it starts a subtest, so `run` installs the shim only for its own call.
 */
export function loadNdt7js014() {
  const main = collectorRequire.resolve('ndt7-js-0.1');
  const Shim = workerShim(dirname(main), collectorPkg.pathname);
  const lib = collectorRequire('ndt7-js-0.1');
  return {
    async test(config, callbacks) {
      const saved = globalThis.Worker;
      globalThis.Worker = Shim;
      try {
        return await lib.test(config, callbacks);
      } finally {
        globalThis.Worker = saved;
      }
    },
  };
}
