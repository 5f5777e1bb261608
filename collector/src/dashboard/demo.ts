import type { AccessType } from '@hatang/shared';
import type { FastifyInstance } from 'fastify';
import { importUnits } from '../geography/units.js';
import { type SeedAgentPlan, type SeedOutcome, seedRandom, seedThroughIngest } from './seed.js';

/**
 * A realistic dashboard data set on a running collector: four districts of the Son La list, five
 * communes each (plus one commune whose name is markup, to prove escaping), a fixed agent at every
 * commune and a mobile one at some, some communes below the plan's targets, one agent silent for
 * three days, one whose latest batch left a two-day backlog, dead letters and dropped results in
 * its outbox, agents of the older version (0.1.0) sending no outbox status, `weeks` weeks of
 * results pushed through the ingest API.
 */

export const DEMO_DISTRICTS = ['116', '118', '123', '126'] as const;
/** A commune (in district 116) named like an attack, shown as text or the escaping is broken. */
export const DEMO_XSS_COMMUNE = { code: '99901', name: '<script>alert(1)</script>', parent: '116' } as const;
/** An agent name that would run script if a page wrote it as markup. */
export const DEMO_XSS_AGENT = '"><img src=x onerror=alert(2)>';

export interface DemoAgent extends SeedAgentPlan {
  name: string;
  districtCode: string;
}

export interface DemoData {
  agents: DemoAgent[];
  communes: Array<{ code: string; name: string; districtCode: string }>;
  silentAgent: DemoAgent;
  /** Reports a backlog with its latest batch: BACKLOG below. */
  backlogAgent: DemoAgent;
  outcome: SeedOutcome;
}

export interface DemoOptions {
  app: FastifyInstance;
  url: string;
  /** "Now" for the data set, ms since epoch. */
  now: number;
  weeks?: number;
  /** Moves the collector's clock (see seedThroughIngest). */
  setClock?: (ms: number) => void;
  speedEveryH?: number;
  pushEveryH?: number;
  communesPerDistrict?: number;
}

const ISPS = ['VNPT', 'Viettel', 'FPT Telecom', 'MobiFone'];

/** The outbox status the backlog agent sends with its latest batch. */
export const DEMO_BACKLOG = {
  deadLetters: 2,
  dropped: 5,
  backlog: { queued: 37, oldestAgoMs: 2 * 86_400_000 },
} as const;

export async function seedDashboardDemo(o: DemoOptions): Promise<DemoData> {
  const { app } = o;
  const tree = app.stats.tree();
  if (!tree.get(DEMO_XSS_COMMUNE.code)) {
    importUnits(
      app.db,
      [
        {
          code: DEMO_XSS_COMMUNE.code,
          name: DEMO_XSS_COMMUNE.name,
          type: 'Xã',
          level: 'commune',
          parentCode: DEMO_XSS_COMMUNE.parent,
        },
      ],
      { effectiveAt: o.now - 400 * 86_400_000, now: o.now, source: 'demo' },
    );
    app.stats.invalidate();
  }
  const fresh = app.stats.tree();
  const r = seedRandom(7);
  const communes: DemoData['communes'] = [];
  for (const d of DEMO_DISTRICTS) {
    const list = fresh
      .all()
      .filter((u) => u.level === 'commune' && u.parent_code === d && u.code !== DEMO_XSS_COMMUNE.code)
      .sort((a, b) => (a.code < b.code ? -1 : 1))
      .slice(0, o.communesPerDistrict ?? 5);
    for (const c of list) communes.push({ code: c.code, name: c.name, districtCode: d });
    if (d === DEMO_XSS_COMMUNE.parent)
      communes.push({ code: DEMO_XSS_COMMUNE.code, name: DEMO_XSS_COMMUNE.name, districtCode: d });
  }
  const agents: DemoAgent[] = [];
  communes.forEach((c, i) => {
    // Every third commune is short of the fixed target (90 Mbit/s in 2025), some are close to it.
    const fixedBase = i % 3 === 1 ? 62 + r() * 14 : i % 3 === 2 ? 88 + r() * 10 : 104 + r() * 30;
    const isp = ISPS[i % 3] as string;
    const add = (access: AccessType, base: number, name: string): DemoAgent => {
      const { agent, token } = app.repo.addAgent({ name, access, communeCode: c.code, isp }, o.now - 100 * 86_400_000);
      const a: DemoAgent = {
        id: agent.id,
        token,
        name,
        communeCode: c.code,
        districtCode: c.districtCode,
        access,
        isp: access === 'mobile' ? 'Viettel' : isp,
        baseMbps: base,
        trendPerWeek: (r() - 0.35) * 0.02,
        ipv6: i % 4 !== 3,
        agentVersion: i % 5 === 4 ? '0.1.0' : '0.2.0',
      };
      // 0.1.0 predates the outbox status block in the envelope.
      if (a.agentVersion !== '0.1.0') a.outbox = { deadLetters: 0, dropped: 0 };
      agents.push(a);
      return a;
    };
    const officeName =
      c.code === DEMO_XSS_COMMUNE.code ? DEMO_XSS_AGENT : `UBND ${c.name.replace(/^(Xã|Phường|Thị trấn) /, '')}`;
    add('fixed', fixedBase, officeName);
    // A 4G router at some communes; the mobile target is 40 Mbit/s in 2025.
    if (i % 2 === 0) add('mobile', i % 4 === 0 ? 30 + r() * 6 : 44 + r() * 12, `${officeName} (4G)`);
  });
  // The second agent of district 118 went silent three days ago.
  const silentAgent = agents.find((a) => a.districtCode === '118' && a.access === 'fixed') as DemoAgent;
  silentAgent.silentFrom = o.now - 3 * 86_400_000;
  // A fixed agent of district 126 whose latest batch left a backlog behind it.
  const backlogAgent = agents.find(
    (a) => a.districtCode === '126' && a.access === 'fixed' && a.outbox !== undefined,
  ) as DemoAgent;
  backlogAgent.outbox = { ...DEMO_BACKLOG, backlog: { ...DEMO_BACKLOG.backlog } };
  app.stats.invalidate();
  const outcome = await seedThroughIngest({
    url: o.url,
    agents,
    from: o.now - (o.weeks ?? 12) * 7 * 86_400_000,
    to: o.now,
    speedEveryH: o.speedEveryH ?? 2,
    pushEveryH: o.pushEveryH ?? 24,
    ...(o.setClock ? { setClock: o.setClock } : {}),
  });
  return { agents, communes, silentAgent, backlogAgent, outcome };
}
