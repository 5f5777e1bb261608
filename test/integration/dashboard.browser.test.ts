import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAccountStore,
  DEMO_BACKLOG,
  DEMO_DISTRICTS,
  DEMO_XSS_AGENT,
  DEMO_XSS_COMMUNE,
  type DemoData,
  hashPassword,
  parseCsv,
  seedDashboardDemo,
  startCollector,
  type TestCollector,
} from '@hatang/collector';
import { median, periodOf, shiftPeriod } from '@hatang/shared';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
 * collector on 127.0.0.1:0 seeded through the ingest API with twelve weeks of realistic results.
 * Each page is checked for the figures computed here from the seeded results, drawn charts, a CSV
 * equal to the table, no console errors, escaped names, and district scoping; each page is
 * screenshotted into build/screenshots/ for review.
 */

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '../../build/screenshots');
/** Wednesday 14:00 in Vietnam: week 2025-W11 is under way. */
const NOW = Date.parse('2025-03-12T07:00:00Z');
const WEEK = periodOf('week', NOW);
const TREND_WEEKS = 12;
const PASSWORD = 'mat khau du dai 2025';
const TARGET = { fixed: 90, mobile: 40 };

let c: TestCollector;
let demo: DemoData;
let ctx: BrowserContext;
let page: Page;
let userDir: string;
let refusedAgent = '';
const consoleErrors: string[] = [];
const dialogs: string[] = [];

let clockBase = NOW;
let clockReal = Date.now();
const now = () => clockBase + (Date.now() - clockReal);

const mbps1 = (bps: number) => Math.round(bps / 1e5) / 10;
const vi = (n: number, digits = 1) =>
  new Intl.NumberFormat('vi-VN', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);

/** Median download of the seeded speed tests matching `f` in a week, Mbit/s (null: none). */
function expectedMedian(f: (s: DemoData['outcome']['speeds'][number]) => boolean, p = WEEK): number | null {
  const v = demo.outcome.speeds.filter((s) => s.startedAt >= p.startMs && s.startedAt < p.endMs && f(s));
  return v.length ? mbps1(median(v.map((s) => s.downloadBps))) : null;
}

/** Visible text of a table as rows of cells. */
async function tableText(id: string): Promise<string[][]> {
  return page.$$eval(`table#${id} tbody tr`, (trs) =>
    trs.map((tr) =>
      [...tr.querySelectorAll('td')]
        .filter((td) => !td.classList.contains('visual'))
        .map((td) => (td.textContent ?? '').trim()),
    ),
  );
}

async function tableHead(id: string): Promise<string[]> {
  return page.$$eval(`table#${id} thead tr:last-child th:not(.visual)`, (ths) =>
    ths.map((th) => (th.textContent ?? '').replace(/[▲▼↕]/g, '').trim()),
  );
}

/** A page cell as the CSV writes it: Vietnamese decimals to dots, units and badges stripped. */
function norm(cell: string): string {
  const s = cell
    .replace(/\u00a0/g, ' ')
    .replace(/\*$/, '')
    .trim();
  if (s === '—') return '';
  let m = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2})$/.exec(s);
  if (m) return `${m[3]}-${m[2]}-${m[1]} ${m[4]}:${m[5]}`;
  m = /^([+−±-]?)(\d{1,3}(?:\.\d{3})*(?:,\d+)?)( %)?$/.exec(s);
  if (m) {
    const n = Number((m[2] as string).replaceAll('.', '').replace(',', '.'));
    return String(m[1] === '−' || m[1] === '-' ? -n : n);
  }
  return s;
}

async function csvOf(href: string): Promise<string[][]> {
  const res = await page.request.get(new URL(href, c.url).href);
  expect(res.status()).toBe(200);
  expect(res.headers()['content-type']).toContain('text/csv');
  return parseCsv(await res.text()).map((r) => r.fields);
}

/** The page's CSV for `table` holds exactly the rows the page shows. */
async function expectCsvMatchesTable(table: string): Promise<void> {
  const href = await page.getAttribute(`a[data-csv="${table}"]`, 'href');
  expect(href, `CSV link of ${table}`).toBeTruthy();
  const csv = await csvOf(href as string);
  const shown = await tableText(table);
  const head = await tableHead(table);
  expect(csv[0]?.map((h) => h.replace(/^[^:]*: /, ''))).toEqual(head);
  const body = csv.slice(1);
  expect(body.length).toBe(shown.length);
  body.forEach((row, i) => {
    expect(row.map((c) => c.replace(/^'/, ''))).toEqual((shown[i] as string[]).map(norm));
  });
}

async function shot(name: string, opts: { print?: boolean } = {}): Promise<void> {
  if (opts.print) await page.emulateMedia({ media: 'print' });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  if (opts.print) await page.emulateMedia({ media: 'screen' });
}

async function goto(path: string): Promise<void> {
  const res = await page.goto(new URL(path, c.url).href);
  expect(res?.status(), path).toBeLessThan(400);
  await page.waitForSelector('html[data-ready="1"]');
}

async function login(username: string): Promise<void> {
  await ctx.clearCookies();
  await page.goto(`${c.url}/login`);
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

/** Pixels of the series colour on the chart canvases in `selector`: the lines were drawn. */
async function seriesPixels(selector: string, rgb: [number, number, number]): Promise<number> {
  return page.$$eval(
    `${selector} canvas`,
    (canvases, [r, g, b]) => {
      let n = 0;
      for (const cv of canvases as HTMLCanvasElement[]) {
        const d = cv.getContext('2d')?.getImageData(0, 0, cv.width, cv.height).data;
        if (!d) continue;
        for (let i = 0; i < d.length; i += 4) {
          if (
            Math.abs((d[i] as number) - r) < 30 &&
            Math.abs((d[i + 1] as number) - g) < 30 &&
            Math.abs((d[i + 2] as number) - b) < 30 &&
            (d[i + 3] as number) > 100
          )
            n++;
        }
      }
      return n;
    },
    rgb,
  );
}

describe('dashboard in Chromium', () => {
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    mkdirSync(SHOTS, { recursive: true });
    c = await startCollector({ now });
    const t0 = performance.now();
    demo = await seedDashboardDemo({
      app: c.app,
      url: c.url,
      now: NOW,
      weeks: TREND_WEEKS,
      // Fewer, larger pushes than real agents make, to keep the test short; every commune still
      // gets about 56 tests a week per agent.
      speedEveryH: 3,
      pushEveryH: 72,
      setClock: (ms) => {
        clockBase = ms;
        clockReal = Date.now();
      },
    });
    console.log(
      `seeded ${demo.outcome.accepted} results in ${demo.outcome.batches} batches, ${Math.round(performance.now() - t0)} ms`,
    );
    clockBase = NOW;
    clockReal = Date.now();
    // The dashboard warms its figure cache when the collector starts listening (before the seed).
    c.app.dashboardCache.clear();
    // One agent sends a result the collector refuses (it ends in the agent's dead letters).
    const refused = demo.agents.find((a) => a.access === 'fixed' && a !== demo.silentAgent)!;
    const bad = await fetch(`${c.url}/api/v1/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${refused.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        schema: 1,
        sentAt: new Date(NOW).toISOString(),
        clock: { bootId: 'b', uptimeMs: 1000 },
        results: [{ id: '01958a00-0000-7000-8000-000000000001', kind: 'speed', status: 'ok' }],
        // As its version does: the status as it stood before this answer.
        ...(refused.outbox ? { agentStatus: { queued: 0, deadLetters: 0, dropped: 0 } } : {}),
      }),
    });
    expect(((await bad.json()) as { rejected: unknown[] }).rejected).toHaveLength(1);
    refusedAgent = refused.name;
    const store = createAccountStore(c.app.db);
    const hash = await hashPassword(PASSWORD);
    store.addUser(
      { username: 'tinh', passwordHash: hash, role: 'viewer', scopeUnit: '14', fullName: 'Sở KH&CN Sơn La' },
      NOW,
    );
    store.addUser(
      {
        username: 'quynhnhai',
        passwordHash: hash,
        role: 'viewer',
        scopeUnit: '118',
        fullName: 'Phòng VH-TT Quỳnh Nhai',
      },
      NOW,
    );
    userDir = mkdtempSync(join(tmpdir(), 'hatang-chromium-'));
    ctx = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1366, height: 768 },
      locale: 'vi-VN',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  }, 120_000);

  afterAll(async () => {
    await ctx?.close();
    await c?.close();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  it('logs in and shows the province overview with each district’s median against the target', async () => {
    await page.goto(`${c.url}/`);
    expect(page.url()).toContain('/login?next=');
    await shot('login');
    await login('tinh');
    await page.waitForSelector('html[data-ready="1"]');
    expect(new URL(page.url()).pathname).toBe('/');
    const rows = await tableText('districts');
    for (const d of DEMO_DISTRICTS) {
      const communes = new Set(demo.communes.filter((x) => x.districtCode === d).map((x) => x.code));
      const name = c.app.stats.tree().get(d)?.name as string;
      const row = rows.find((r) => r[0] === name);
      expect(row, name).toBeTruthy();
      const fixed = expectedMedian((s) => s.access === 'fixed' && communes.has(s.communeCode));
      const mobile = expectedMedian((s) => s.access === 'mobile' && communes.has(s.communeCode));
      expect(norm(row?.[1] ?? ''), `${name} fixed`).toBe(fixed === null ? '' : String(fixed));
      expect(row?.[1]).toBe(fixed === null ? '—' : vi(fixed));
      expect(norm(row?.[4] ?? ''), `${name} mobile`).toBe(mobile === null ? '' : String(mobile));
      expect(row?.[3]).toBe(fixed === null ? 'Chưa có số liệu' : fixed >= TARGET.fixed ? 'Đạt' : 'Chưa đạt');
    }
    // Sparklines drawn: one per district and access type with data.
    const drawn = await page.$$eval('[data-spark][data-drawn="1"] canvas', (l) => l.length);
    expect(drawn).toBeGreaterThanOrEqual(DEMO_DISTRICTS.length * 2);
    expect(await seriesPixels('td.visual', [31, 111, 178])).toBeGreaterThan(50);
    await expectCsvMatchesTable('districts');
    await shot('overview');
  });

  it('district page: communes by shortfall, weeks short, a trend chart with the target line, escaped names', async () => {
    await goto('/district/116');
    const communes = demo.communes.filter((x) => x.districtCode === '116');
    const rows = await tableText('communes');
    // Every commune of the district is listed, with or without an agent (12 in the GSO list + the demo one).
    const all = c.app.stats.tree().unitsAt('commune', '116', WEEK);
    expect(rows).toHaveLength(all.length);
    // Default order: largest fixed shortfall first.
    const shortfalls = rows.map((r) => Number(norm(r[2] ?? '') || -1));
    expect(shortfalls).toEqual([...shortfalls].sort((a, b) => b - a));
    for (const cm of communes) {
      const row = rows.find((r) => r[0] === cm.name);
      expect(row, cm.name).toBeTruthy();
      const fixed = expectedMedian((s) => s.access === 'fixed' && s.communeCode === cm.code);
      expect(norm(row?.[1] ?? ''), cm.name).toBe(fixed === null ? '' : String(fixed));
      if (fixed !== null) {
        expect(norm(row?.[2] ?? '')).toBe(String(Math.round(Math.max(0, TARGET.fixed - fixed) * 10) / 10));
        // Weeks short: consecutive weeks up to this one below target, from the seeded tests.
        let streak = 0;
        for (let i = 0; i < TREND_WEEKS; i++) {
          const m = expectedMedian((s) => s.access === 'fixed' && s.communeCode === cm.code, shiftPeriod(WEEK, -i));
          if (m !== null && m < TARGET.fixed) streak++;
          else break;
        }
        const shown = row?.[3] ?? '';
        if (fixed < TARGET.fixed) expect(shown.replace('≥ ', '')).toBe(String(streak));
        else expect(shown).toBe('0');
      }
    }
    // The commune named like a script tag is text in the table, and nothing ran.
    expect(rows.some((r) => r[0] === DEMO_XSS_COMMUNE.name)).toBe(true);
    expect(await page.locator('script', { hasText: 'alert(1)' }).count()).toBe(0);
    expect(dialogs).toEqual([]);
    // The chart: fixed and mobile medians drawn, the target lines among the series.
    await page.waitForSelector('[data-chart][data-drawn="1"] canvas');
    expect(await seriesPixels('[data-chart]', [31, 111, 178])).toBeGreaterThan(200);
    expect(await seriesPixels('[data-chart]', [217, 115, 13])).toBeGreaterThan(200);
    const legend = await page.$$eval('[data-chart] .u-legend .u-series th', (l) => l.map((x) => x.textContent?.trim()));
    expect(legend).toEqual(expect.arrayContaining(['Cố định', 'Di động', 'Chỉ tiêu cố định', 'Chỉ tiêu di động']));
    await expectCsvMatchesTable('communes');
    await shot('district');
    // Sort by commune name through the header link; the CSV follows the same order.
    await Promise.all([page.waitForNavigation(), page.click('th[data-col="commune"] a')]);
    await page.waitForSelector('html[data-ready="1"]');
    const names = (await tableText('communes')).map((r) => r[0] as string);
    const sorted = [...names].sort((a, b) => a.localeCompare(b, 'vi'));
    expect(names.join('|') === sorted.join('|') || names.join('|') === [...sorted].reverse().join('|')).toBe(true);
    await expectCsvMatchesTable('communes');
  });

  it('commune page: agents, recent tests, latency and IPv6', async () => {
    const cm = demo.communes.find((x) => x.districtCode === '116' && x.code !== DEMO_XSS_COMMUNE.code)!;
    await goto(`/commune/${cm.code}`);
    const agents = await tableText('agents');
    expect(agents.map((r) => r[0]).sort()).toEqual(
      demo.agents
        .filter((a) => a.communeCode === cm.code)
        .map((a) => a.name)
        .sort(),
    );
    expect(await tableText('recent')).toHaveLength(50);
    const lat = await tableText('latency');
    expect(lat.length).toBeGreaterThanOrEqual(1);
    expect(Number(norm(lat[0]?.[1] ?? ''))).toBeGreaterThan(0);
    const hasV6 = demo.agents.find((a) => a.communeCode === cm.code)?.ipv6;
    expect(await page.textContent('[data-kpi="ipv6"] .k-value')).toBe(hasV6 ? 'Có' : 'Không');
    expect((await tableText('ipv6')).length).toBe(3);
    await page.waitForSelector('[data-chart][data-drawn="1"] canvas');
    await expectCsvMatchesTable('recent');
    await shot('commune');
    // The agent named like markup is text too.
    await goto(`/commune/${DEMO_XSS_COMMUNE.code}`);
    expect((await tableText('agents')).map((r) => r[0])).toContain(DEMO_XSS_AGENT);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.textContent('h1')).toBe(DEMO_XSS_COMMUNE.name);
    expect(dialogs).toEqual([]);
  });

  it('agents page: the silent agent is highlighted at the top', async () => {
    await goto('/agents');
    const rows = await tableText('agents');
    expect(rows).toHaveLength(demo.agents.length);
    expect(rows[0]?.[0]).toBe(demo.silentAgent.name);
    expect(rows[0]?.at(-1)).toBe('Mất liên lạc');
    expect(await page.$$eval('table#agents tr.silent', (l) => l.length)).toBe(1);
    expect(rows.filter((r) => r.at(-1) === 'Hoạt động')).toHaveLength(demo.agents.length - 1);
    // Refused results (the agent's dead letters), last 7 days: one agent has one.
    const head = await tableHead('agents');
    const col = head.indexOf('Kết quả bị từ chối (7 ngày)');
    expect(col).toBeGreaterThan(0);
    expect(rows.filter((r) => r[col] !== '0').map((r) => [r[0], r[col]])).toEqual([[refusedAgent, '1']]);
    // The outbox as each agent reported it with its latest batch: the backlog agent's figures,
    // zeros from the other current agents, nothing ("—") from agents of the older version.
    const cols = ['Chờ gửi', 'Chờ lâu nhất', 'Kết quả lỗi', 'Bị bỏ'].map((h) => head.indexOf(h));
    expect(await page.textContent('table#agents thead th.group')).toBe('Hàng đợi tại trạm');
    expect(cols.every((i) => i > col)).toBe(true);
    const outboxOf = (r: string[]) => cols.map((i) => r[i]);
    const withStatus = demo.agents.filter((a) => a.outbox);
    expect(withStatus.length).toBeGreaterThan(1);
    expect(withStatus.length).toBeLessThan(demo.agents.length);
    for (const a of demo.agents) {
      const row = rows.find((r) => r[0] === a.name);
      expect(row, a.name).toBeTruthy();
      const want =
        a === demo.backlogAgent
          ? [
              String(DEMO_BACKLOG.backlog.queued),
              '2 ngày',
              String(DEMO_BACKLOG.deadLetters),
              String(DEMO_BACKLOG.dropped),
            ]
          : a.outbox
            ? ['0', '—', '0', '0']
            : ['—', '—', '—', '—'];
      expect(outboxOf(row as string[]), a.name).toEqual(want);
    }
    // Its oldest waiting result, re-based on the collector clock, in Vietnam time on hover.
    const stored = c.app.repo.agentStatus(demo.backlogAgent.id);
    expect(stored?.oldestTrusted).toBe(true);
    const vn = new Date((stored?.oldestQueuedAt as number) + 7 * 3_600_000).toISOString();
    const title = `${vn.slice(8, 10)}/${vn.slice(5, 7)}/${vn.slice(0, 4)} ${vn.slice(11, 16)} (UTC+7)`;
    expect(await page.getAttribute('table#agents tr.attention td[data-col="oldest-queued"]', 'title')).toBe(title);
    // Highlighted for its dead letters and its two-day backlog; the silent agent stays red.
    const attention = await page.$$eval('table#agents tr.attention td[data-col="agent"]', (l) =>
      l.map((td) => td.textContent),
    );
    expect(attention).toEqual([demo.backlogAgent.name]);
    expect(await page.textContent('table#agents tr.attention td[data-col="oldest-queued"]')).toBe('2 ngày');
    await expectCsvMatchesTable('agents');
    await shot('agents');
  });

  it('IPv6 page: targets × communes', async () => {
    await goto('/ipv6');
    const rows = await tableText('matrix');
    // Communes with an IPv6 check this week: all but one whose only agent went silent before it.
    const reporting = demo.communes.filter((cm) =>
      demo.agents.some((a) => a.communeCode === cm.code && (a.silentFrom ?? Number.POSITIVE_INFINITY) > WEEK.startMs),
    );
    expect(rows).toHaveLength(reporting.length);
    for (const cm of reporting) {
      const row = rows.find((r) => r[0] === cm.name);
      const v6 = demo.agents.find((a) => a.communeCode === cm.code)?.ipv6;
      expect(row?.[2], cm.name).toBe(v6 ? 'Có' : 'Không');
    }
    await expectCsvMatchesTable('matrix');
    await shot('ipv6');
  });

  it('weekly report: printable on A4, with the units, the communes short and the silent agents', async () => {
    await goto('/report');
    expect(await page.textContent('h1')).toBe('Báo cáo tốc độ băng rộng tuần 11/2025');
    const short = await tableText('short');
    expect(short.length).toBeGreaterThan(0);
    expect((await tableText('silent')).map((r) => r[0])).toEqual([demo.silentAgent.name]);
    await expectCsvMatchesTable('short');
    await shot('report');
    await page.setViewportSize({ width: 794, height: 1123 });
    await page.waitForTimeout(400); // app.js resizes the charts to the new width (debounced)
    await shot('report-print', { print: true });
    await page.pdf({ path: join(SHOTS, 'report.pdf'), format: 'A4', printBackground: true });
    await page.setViewportSize({ width: 1366, height: 768 });
  });

  it('switches to English and back', async () => {
    await goto('/district/118');
    await Promise.all([page.waitForNavigation(), page.click('a[data-lang="en"]')]);
    await page.waitForSelector('html[data-ready="1"]');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    expect(await page.textContent('.main-nav a[href="/agents"]')).toBe('Agents');
    const head = await tableHead('communes');
    expect(head).toContain('Median (Mbit/s)');
    // Numbers in English use a decimal point.
    const first = (await tableText('communes')).find((r) => r[1] !== '—')?.[1] ?? '';
    expect(first).toMatch(/^\d+\.\d\*?$/);
    await shot('district-en');
    await goto('/agents');
    expect(await page.textContent('h1')).toBe('Agents');
    await Promise.all([page.waitForNavigation(), page.click('a[data-lang="vi"]')]);
    expect(await page.getAttribute('html', 'lang')).toBe('vi');
  });

  it('a district viewer reads only their district, in pages and in the API', async () => {
    await login('quynhnhai');
    expect(new URL(page.url()).pathname).toBe('/district/118');
    await page.waitForSelector('html[data-ready="1"]');
    expect(await page.textContent('h1')).toBe(c.app.stats.tree().get('118')?.name);
    const other = demo.communes.find((x) => x.districtCode === '116')!;
    const errorsBefore = consoleErrors.length;
    const denied = [
      '/district/116',
      `/commune/${other.code}`,
      '/district/116?format=csv',
      '/report?unit=116',
      '/report?unit=14',
    ];
    for (const path of denied) {
      const res = await page.goto(`${c.url}${path}`);
      expect(res?.status(), path).toBe(403);
    }
    // The browser logs each refused page load; those, and only those, are expected here.
    expect(consoleErrors.slice(errorsBefore).every((e) => e.includes('status of 403'))).toBe(true);
    expect(consoleErrors.length - errorsBefore).toBe(denied.length);
    consoleErrors.splice(errorsBefore);
    expect(await page.textContent('h1')).toBe('Không có quyền truy cập');
    for (const path of [
      '/api/v1/stats/trend?unit=116',
      '/api/v1/stats/units?level=commune&parent=116',
      '/api/v1/stats/trend?unit=14',
      '/api/v1/export/stats.csv?level=commune&parent=116',
      '/api/v1/export/results.csv?unit=116',
    ]) {
      const res = await page.request.get(`${c.url}${path}`);
      expect(res.status(), path).toBe(403);
    }
    const mine = await page.request.get(`${c.url}/api/v1/stats/units?level=commune&parent=118&at=${WEEK.key}`);
    expect(mine.status()).toBe(200);
    const body = (await mine.json()) as { rows: Array<{ unit: { code: string } }> };
    expect(body.rows.length).toBeGreaterThan(0);
    const all = await page.request.get(`${c.url}/api/v1/stats/units?level=district&at=${WEEK.key}`);
    const districts = ((await all.json()) as { rows: Array<{ unit: { code: string } }> }).rows.map((r) => r.unit.code);
    expect([...new Set(districts)]).toEqual(['118']);
    // Exports and the IPv6 report hold only their district's communes.
    const inDistrict = new Set(demo.communes.filter((x) => x.districtCode === '118').map((x) => x.code));
    const raw = parseCsv(
      await (await page.request.get(`${c.url}/api/v1/export/results.csv?from=2025-03-10&to=2025-03-12`)).text(),
    );
    const codeCol = raw[0]?.fields.findIndex((h) => /commune|xã/i.test(h)) ?? -1;
    expect(codeCol).toBeGreaterThanOrEqual(0);
    expect(raw.length).toBeGreaterThan(1);
    expect(raw.slice(1).every((r) => inDistrict.has(r.fields[codeCol] as string))).toBe(true);
    const v6 = (await (await page.request.get(`${c.url}/api/v1/stats/ipv6?week=${WEEK.key}`)).json()) as {
      communes: Array<{ code: string }>;
    };
    expect(v6.communes.length).toBeGreaterThan(0);
    expect(v6.communes.every((x) => inDistrict.has(x.code))).toBe(true);
    // Their agents page lists only their agents.
    await goto('/agents');
    expect(await tableText('agents')).toHaveLength(demo.agents.filter((a) => a.districtCode === '118').length);
    await goto('/district/118');
    await shot('district-viewer');
  });

  it('logged no console errors and ran no injected script on any page', () => {
    expect(consoleErrors).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
