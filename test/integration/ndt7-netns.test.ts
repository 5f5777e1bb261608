// Short CI variant of bench/ndt7 (pnpm bench:ndt7): hatang's ndt7 client against hatang's server
// across a tbf-shaped namespace link at 40/10 Mbit/s, IPv4 and IPv6. The benchmark holds each
// rate to ±5 % of the link's TCP goodput ceiling over ndt7's 10 s subtests; here subtests last 4 s
// to keep CI short, so the start-up (process and TCP ramp, counted in ndt7's figure) weighs 2.5×
// more and a busy CI machine can cost a few percent: the bound is ±10 %. Needs root and dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helper shared with bench/
import { runShapedNdt7 } from '../../bench/ndt7/shaped.mjs';
// @ts-expect-error plain ESM helper shared with bench/
import { requireNetns } from '../helpers/netns.mjs';

const ns = requireNetns('ndt7 shaped-link test');

describe.skipIf(!!ns.skip)('ndt7 on a tbf-shaped link (40/10 Mbit/s)', () => {
  it('reads within ±10 % of the TCP goodput ceiling in 4 s subtests, both directions, IPv4 and IPv6', async () => {
    for (const f of ['collector/dist/cli.js', 'agent/dist/index.js']) {
      const p = fileURLToPath(new URL(`../../${f}`, import.meta.url));
      if (!existsSync(p)) throw new Error(`${p} is missing: run pnpm build first (pnpm test does)`);
    }
    const runs = await runShapedNdt7({ downMbps: 40, upMbps: 10, durationMs: 4000, families: [4, 6] });
    for (const r of runs) {
      const down = r.downloadBps / r.downloadCeilingBps;
      const up = r.uploadBps / r.uploadCeilingBps;
      console.log(
        `ndt7 IPv${r.family} 40/10: download ${(r.downloadBps / 1e6).toFixed(2)} Mbit/s (×${down.toFixed(3)} of ceiling), upload ${(r.uploadBps / 1e6).toFixed(2)} Mbit/s (×${up.toFixed(3)})`,
      );
      expect(r.status, JSON.stringify(r.error)).toBe('ok');
      expect(r.resultFamily).toBe(r.family);
      expect(down).toBeGreaterThan(0.9);
      expect(down).toBeLessThan(1.05);
      expect(up).toBeGreaterThan(0.9);
      expect(up).toBeLessThan(1.05);
    }
  }, 90_000);
});
