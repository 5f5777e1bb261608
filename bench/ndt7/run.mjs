// Benchmark: hatang ndt7 client vs hatang ndt7 server on a tbf-shaped link (40/10 Mbit/s by
// default), 10 s subtests, IPv4 and IPv6, several rounds. Prints each figure, the TCP goodput
// ceiling it is compared with and their ratio. Root only (network namespaces).
//   pnpm bench:ndt7 [-- --rounds 3 --down 40 --up 10 --duration 10000]
import { parseArgs } from 'node:util';
import { netnsUnavailable } from '../../test/helpers/netns.mjs';
import { runShapedNdt7 } from './shaped.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    down: { type: 'string', default: '40' },
    up: { type: 'string', default: '10' },
    duration: { type: 'string', default: '10000' },
  },
});
const why = netnsUnavailable();
if (why) {
  console.error(`bench:ndt7 cannot run here: ${why}`);
  process.exit(1);
}
const downMbps = Number(values.down);
const upMbps = Number(values.up);
const durationMs = Number(values.duration);
const mbps = (bps) => (bps / 1e6).toFixed(2);
console.log(`ndt7 on a tbf-shaped veth link ${downMbps}/${upMbps} Mbit/s, ${durationMs} ms subtests, MTU 1500`);
console.log('round family direction measured_Mbps ceiling_Mbps ratio');
const ratios = { download: [], upload: [] };
for (let round = 1; round <= Number(values.rounds); round++) {
  const runs = await runShapedNdt7({ downMbps, upMbps, durationMs });
  for (const r of runs) {
    if (r.status !== 'ok') console.log(`${round} IPv${r.family} status ${r.status} ${JSON.stringify(r.error ?? {})}`);
    for (const dir of ['download', 'upload']) {
      const m = r[`${dir}Bps`] ?? 0;
      const ceil = r[`${dir}CeilingBps`];
      ratios[dir].push(m / ceil);
      console.log(`${round} IPv${r.family} ${dir} ${mbps(m)} ${mbps(ceil)} ${(m / ceil).toFixed(3)}`);
    }
  }
}
const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
let ok = true;
for (const dir of ['download', 'upload']) {
  const v = ratios[dir];
  const within = v.filter((x) => Math.abs(x - 1) <= 0.05).length;
  ok &&= within === v.length;
  console.log(
    `${dir}: median ratio ${median(v).toFixed(3)} (min ${Math.min(...v).toFixed(3)}, max ${Math.max(...v).toFixed(3)}), ${within}/${v.length} within ±5 % of the ceiling`,
  );
}
console.log(
  '(ceiling = tbf rate × MSS / frame: × 1448/1514 over IPv4, × 1428/1514 over IPv6; figures taken on a shared, loaded machine)',
);
process.exitCode = ok ? 0 : 1;
