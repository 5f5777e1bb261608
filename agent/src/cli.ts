#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';

/**
 * Entry of `hatang-agent`. For `run` (the daemon, which only schedules, stores and pushes; tests run
 * in child processes with V8's defaults) V8 is put in lite mode with a 1 MB young generation before
 * anything else loads: half the idle memory on a Raspberry Pi (docs/benchmarks.md "Agent
 * footprint"). HATANG_AGENT_LITE=0 turns this off.
 */
if (process.argv[2] === 'run' && process.env.HATANG_AGENT_LITE !== '0') {
  setFlagsFromString('--max-semi-space-size=1');
  setFlagsFromString('--lite-mode');
}

const { main } = await import('./commands.js');
await main();
