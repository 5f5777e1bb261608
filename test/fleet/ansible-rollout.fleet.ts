// Fleet rollout for real: deploy/ansible/playbook.yml run by ansible-playbook against local
// "hosts" (ansible_connection: local), each an isolated root (HATANG_ROOT). The collector play
// installs the collector; the test starts it from its unit on 127.0.0.1 port 0; the agents play
// makes one enrolment code per commune on the collector (delegate_to), installs and enrols each
// commune, and a second run upgrades in place without making new codes.
//
// Slow (ansible is heavy: about 90 s on a loaded 2-core machine), so not part of `pnpm test`:
// run it with `pnpm test:fleet`. CI checks the playbook with `ansible-playbook --syntax-check`
// (test/integration/deploy-static.test.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRelease, deployBed, type Release, repoRoot, requireTools, run } from '../helpers/deploy.js';

const tools = requireTools(['ansible-playbook', 'bash', 'tar', 'setpriv'], 'Ansible rollout test');
const bed = deployBed();
afterAll(() => bed.close());

describe.skipIf(!!tools.skip)('fleet rollout with Ansible', () => {
  let rel: Release;
  beforeAll(() => {
    rel = buildRelease();
    bed.cleanup.push(rel.dir);
  }, 300_000);

  it('fleet rollout: the Ansible playbook installs the collector, enrols two communes with fresh codes, and re-runs as an upgrade', async () => {
    const croot = bed.newRoot('fleet-c');
    const communes = [
      { host: 'ubnd-phuong-chieng-le', code: '03646', name: 'Phường Chiềng Lề', access: 'fixed' },
      { host: 'ubnd-xa-phong-lap', code: '03745', name: 'Xã Phổng Lập', access: 'mobile' },
    ].map((c) => ({ ...c, root: bed.newRoot(`fleet-${c.code}`) }));
    const envOf = (root: string) => ({
      HATANG_ROOT: root,
      HATANG_USER: bed.user,
      HATANG_NODE: process.execPath,
    });
    const inventory = {
      all: {
        vars: {
          ansible_connection: 'local',
          ansible_python_interpreter: 'auto_silent',
          hatang_become: false,
          hatang_version: rel.version,
          hatang_release_dir: rel.dir,
          hatang_no_log: false,
          // Nothing starts services in an isolated root, so status asks for attention (exit 7).
          hatang_status_required: false,
        },
        children: {
          collector: {
            hosts: {
              'prov-collector': {
                hatang_root: croot,
                hatang_stage_dir: join(croot, 'stage'),
                hatang_install_env: envOf(croot),
                hatang_collector_install_args: ['--port', '0'],
              },
            },
          },
          communes: {
            hosts: Object.fromEntries(
              communes.map((c) => [
                c.host,
                {
                  hatang_root: c.root,
                  hatang_stage_dir: join(c.root, 'stage'),
                  hatang_install_env: envOf(c.root),
                  hatang_commune_code: c.code,
                  hatang_commune_name: c.name,
                  hatang_access: c.access,
                  hatang_isp: 'VNPT',
                },
              ]),
            ),
          },
        },
      },
    };
    const work = bed.newRoot('fleet-ansible');
    const inv = join(work, 'inventory.json');
    writeFileSync(inv, JSON.stringify(inventory, null, 2));
    const playbook = join(repoRoot, 'deploy/ansible/playbook.yml');
    const env = {
      ...process.env,
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_LOCAL_TEMP: join(work, 'tmp'),
      ANSIBLE_REMOTE_TEMP: join(work, 'tmp'),
      ANSIBLE_HOME: join(work, 'home'),
      ANSIBLE_RETRY_FILES_ENABLED: '0',
    };
    const play = (args: string[]) => {
      const t0 = Date.now();
      const res = run('ansible-playbook', ['-i', inv, playbook, ...args], { env, timeoutMs: 240_000 });
      console.log(`ansible-playbook ${args.slice(0, 2).join(' ')}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      return res;
    };

    let r = play(['--tags', 'collector']);
    expect(r.status, r.out).toBe(0);
    const { service, url } = await bed.startCollector(croot);

    r = play(['--tags', 'agents', '-e', `hatang_collector_url=${url}`]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/Make a one-time enrolment code on the collector[\s\S]*changed: \[ubnd-phuong-chieng-le/);
    const listAgents = () =>
      (
        JSON.parse(bed.cli('collector', croot, ['agents', 'list', '--json']).stdout) as {
          name: string;
          access: string;
        }[]
      )
        .map((a) => `${a.name}/${a.access}`)
        .sort();
    expect(listAgents()).toEqual(['Phường Chiềng Lề/fixed', 'Xã Phổng Lập/mobile']);
    for (const c of communes) {
      const st = JSON.parse(bed.cli('agent', c.root, ['status', '--json', '--offline']).stdout) as any;
      expect(st.identity).toMatchObject({ name: c.name, commune: c.code, access: c.access, collectorUrl: url });
    }

    // Again: enrolled boxes are upgraded in place, and no new codes are made.
    r = play(['--tags', 'agents', '-e', `hatang_collector_url=${url}`]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/Make a one-time enrolment code on the collector[\s\S]*skipping: \[ubnd-phuong-chieng-le/);
    expect(r.out).toContain(`upgrading hatang-agent ${rel.version} -> ${rel.version}`);
    const codes = JSON.parse(
      bed.cli('collector', croot, ['enroll-code', 'list', '--all', '--json']).stdout,
    ) as unknown[];
    expect(codes).toHaveLength(2);
    expect(listAgents()).toHaveLength(2);
    expect(await service.stop()).toBe(0);
  }, 600_000);
});
