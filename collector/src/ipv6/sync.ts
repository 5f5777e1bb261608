import { type Ipv6Body, ipv6TargetFacts } from '@hatang/shared';
import type { Db } from '../storage/db.js';

/** Results read per transaction while catching up. */
export const IPV6_SYNC_BATCH = 2_000;

const b = (v: boolean | null) => (v === null ? null : v ? 1 : 0);

/**
 * Bring the IPv6 observation tables up to date with the results table: every ipv6 result stored
 * since the last call is reduced (shared ipv6TargetFacts) to one host row and one row per target.
 * Idempotent and incremental (a watermark on results.seq); called before each IPv6 query, so the
 * ingest path needs no change. Returns the number of results read.
 */
export function syncIpv6(db: Db): number {
  const s = {
    last: db.prepare('SELECT last_seq FROM ipv6_sync WHERE id = 1').pluck(),
    next: db.prepare(
      `SELECT seq, agent_id, started_at, body FROM results INDEXED BY results_ipv6_seq
        WHERE kind = 'ipv6' AND seq > ? ORDER BY seq LIMIT ?`,
    ),
    host: db.prepare(
      `INSERT OR REPLACE INTO ipv6_host_obs (result_seq, agent_id, started_at, global_address, default_route)
       VALUES (?, ?, ?, ?, ?)`,
    ),
    target: db.prepare(
      `INSERT OR REPLACE INTO ipv6_target_obs
         (result_seq, target, agent_id, started_at, checked, v6_ok, aaaa, v4_ms, v6_ms, he_family, pmtu_ok, v6_code)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    mark: db.prepare('UPDATE ipv6_sync SET last_seq = ? WHERE id = 1'),
  };
  let total = 0;
  const step = db.transaction(() => {
    const from = s.last.get() as number;
    const rows = s.next.all(from, IPV6_SYNC_BATCH) as {
      seq: number;
      agent_id: string;
      started_at: number;
      body: string;
    }[];
    for (const r of rows) {
      // Bodies were validated at ingest; a result without an ipv6 body (an error) has nothing to add.
      const body = (JSON.parse(r.body) as { ipv6?: Ipv6Body }).ipv6;
      if (!body) continue;
      s.host.run(r.seq, r.agent_id, r.started_at, b(body.host.globalAddress), b(body.host.defaultRoute));
      for (const f of ipv6TargetFacts(body)) {
        s.target.run(
          r.seq,
          f.name,
          r.agent_id,
          r.started_at,
          b(f.checked),
          b(f.v6Ok),
          b(f.aaaa),
          f.v4Ms,
          f.v6Ms,
          f.heFamily,
          b(f.pmtuOk),
          f.v6Code,
        );
      }
    }
    const last = rows.at(-1);
    if (last) s.mark.run(last.seq);
    return rows.length;
  });
  for (;;) {
    const n = step();
    total += n;
    if (n < IPV6_SYNC_BATCH) return total;
  }
}
