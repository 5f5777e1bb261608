import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentCentralConfig } from '@hatang/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkCentral,
  effectiveConfig,
  loadAgentConfig,
  overrideAllowed,
  readCentralCache,
  writeCentralCache,
} from './central.js';

const doc = (settings: AgentCentralConfig['settings'], allow: string[] = []): AgentCentralConfig => ({
  schema: 1,
  agent: { id: 'a1', name: 'x', commune: '03670', access: 'fixed', isp: null },
  settings,
  allowLocalOverride: allow,
});

const local = { collector: { url: 'http://c' }, agent: { access: 'fixed' } };

describe('central config', () => {
  it('lays central settings over defaults', () => {
    const { config, ignoredLocal } = effectiveConfig(
      local,
      doc({
        schedule: { tests: { speed: { cron: '0 */3 * * *' } } },
        servers: [{ id: 's1', url: 'http://s1' }],
        budget: { monthlyMegabytes: 5000 },
        ipv6: { targets: [{ name: 'portal', url: 'https://sonla.gov.vn' }] },
      }),
    );
    expect(config.schedule.tests.speed).toEqual({ cron: '0 */3 * * *' });
    expect(config.schedule.timezone).toBe('Asia/Ho_Chi_Minh');
    expect(config.servers).toEqual([{ id: 's1', url: 'http://s1' }]);
    expect(config.budget).toMatchObject({ monthlyMegabytes: 5000, resetDay: 1, halveAtPercent: 80 });
    expect(config.ipv6.targets).toHaveLength(1);
    expect(ignoredLocal).toEqual([]);
  });

  it('the local file wins only where the province allows; elsewhere its value is ignored and listed', () => {
    const file = {
      ...local,
      servers: [{ id: 'mine', url: 'http://mine' }],
      schedule: { splayMinutes: 3, tests: { speed: { cron: '* * * * *', jitterMinutes: 5 } } },
      budget: { monthlyMegabytes: 2000, resetDay: 15 },
    };
    const { config, ignoredLocal } = effectiveConfig(
      file,
      doc(
        {
          servers: [{ id: 's1', url: 'http://s1' }],
          schedule: { tests: { speed: { cron: '0 */2 * * *' } } },
          budget: { monthlyMegabytes: 5000, resetDay: 1 },
        },
        ['budget.monthlyMegabytes'],
      ),
    );
    expect(config.servers).toEqual([{ id: 's1', url: 'http://s1' }]);
    expect(config.schedule.tests.speed).toEqual({ cron: '0 */2 * * *', jitterMinutes: 5 });
    expect(config.schedule.splayMinutes).toBe(3); // not set centrally: the local value stands
    expect(config.budget).toMatchObject({ monthlyMegabytes: 2000, resetDay: 1 });
    expect(ignoredLocal.sort()).toEqual(['budget.resetDay', 'schedule.tests.speed.cron', 'servers']);
  });

  it('a section name in allowLocalOverride allows every key under it', () => {
    expect(overrideAllowed('schedule.tests.speed.cron', ['schedule'])).toBe(true);
    expect(overrideAllowed('schedule.tests.speed.cron', ['schedule.tests.speed'])).toBe(true);
    expect(overrideAllowed('schedule.tests.speedy', ['schedule.tests.speed'])).toBe(false);
    expect(overrideAllowed('servers', [])).toBe(false);
  });

  it('drops sections a newer collector sends that this agent does not know; refuses bad values', () => {
    const raw = {
      ...doc({ budget: { monthlyMegabytes: 1 } }),
      settings: { budget: { monthlyMegabytes: 1 }, dns: { x: 1 } },
    };
    const ok = checkCentral(raw);
    expect(ok.ignored).toEqual(['settings.dns']);
    expect(ok.doc?.settings).toEqual({ budget: { monthlyMegabytes: 1 } });
    const bad = checkCentral(doc({ budget: { resetDay: 31 } }));
    expect(bad.problem).toBe('central config /settings/budget/resetDay must be <= 28');
  });

  describe('on disk', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'hatang-central-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('keeps the last good copy and loads it under the local file', () => {
      const state = join(dir, 'state');
      writeCentralCache(state, { etag: '"e1"', fetchedAt: 5, doc: doc({ budget: { monthlyMegabytes: 42 } }) });
      expect((statSync(join(state, 'central-config.json')).mode & 0o777).toString(8)).toBe('640');
      expect(readCentralCache(state)?.etag).toBe('"e1"');
      const file = join(dir, 'agent.yaml');
      writeFileSync(
        file,
        `collector:\n  url: http://c\n  token: t\nstateDir: ${state}\nbudget:\n  monthlyMegabytes: 7\n`,
      );
      const loaded = loadAgentConfig({ file, env: {} });
      expect(loaded.config.budget.monthlyMegabytes).toBe(42);
      expect(loaded.ignoredLocal).toEqual(['budget.monthlyMegabytes']);
      expect(loaded.config.collector.token).toBe('t');
      // A damaged copy is not used.
      writeFileSync(join(state, 'central-config.json'), '{"etag":');
      expect(loadAgentConfig({ file, env: {} }).config.budget.monthlyMegabytes).toBe(7);
      expect(readFileSync(file, 'utf8')).toContain('monthlyMegabytes: 7');
    });
  });
});
