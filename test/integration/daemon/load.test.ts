/**
 * Load without leaks: many containers run to completion and removed by concurrent clients on the
 * default bridge leave nothing behind (mounts, cgroups, veths, conmon directories and processes,
 * berthd's file descriptors), and berthd answers throughout.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from '../../../src/sys/index.js';
import { eventually, mountsUnder, startTestDaemon, type TestDaemon } from '../harness.js';

// 200 runs keep the suite's time in bounds; BERTH_LOAD_RUNS_PER_CLIENT=25 gives the 500.
const CLIENTS = 20;
const RUNS_PER_CLIENT = Number(process.env['BERTH_LOAD_RUNS_PER_CLIENT'] ?? 10);

interface Footprint {
  mounts: number;
  cgroups: number;
  links: number;
  conmonDirs: number;
  conmons: number;
  fds: number;
}

describe('load: concurrent clients leave nothing behind', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  async function footprint(): Promise<Footprint> {
    const cgroups = await readdir('/sys/fs/cgroup/memory/berth').catch(() => readdir('/sys/fs/cgroup/berth').catch(() => [] as string[]));
    const links = (await runCommand('ip', ['-o', 'link'])).stdout.split('\n').filter((line) => line.trim() !== '').length;
    const conmons = (await runCommand('ps', ['-eo', 'args='])).stdout.split('\n').filter((line) => line.startsWith('/usr/bin/conmon') && line.includes(daemon.execRoot)).length;
    const fds = (await readdir(`/proc/${daemon.pid()}/fd`)).length;
    return {
      mounts: (await mountsUnder(daemon.dir)).length,
      cgroups: cgroups.filter((name) => /^[0-9a-f]{64}$/.test(name)).length,
      links,
      conmonDirs: (await readdir(join(daemon.execRoot, 'conmon')).catch(() => [] as string[])).length,
      conmons,
      fds,
    };
  }

  /** One client: `runs` containers, each created, started, waited for and removed through the API. */
  async function client(index: number, runs: number): Promise<void> {
    for (let run = 0; run < runs; run += 1) {
      const created = await daemon.api('POST', `/containers/create?name=load-${index}-${run}`, JSON.stringify({ Image: 'busybox', Cmd: ['sh', '-c', 'echo hi; ip -o addr show eth0 >/dev/null'] }));
      assert.equal(created.status, 201, created.body);
      const id = (JSON.parse(created.body) as { Id: string }).Id;
      const started = await daemon.api('POST', `/containers/${id}/start`);
      assert.equal(started.status, 204, started.body);
      const waited = await daemon.api('POST', `/containers/${id}/wait`);
      assert.equal((JSON.parse(waited.body) as { StatusCode: number }).StatusCode, 0, waited.body);
      const logs = await daemon.api('GET', `/containers/${id}/logs?stdout=1`);
      assert.match(logs.body, /hi/);
      const removed = await daemon.api('DELETE', `/containers/${id}`);
      assert.equal(removed.status, 204, removed.body);
    }
  }

  it(`runs ${CLIENTS * RUNS_PER_CLIENT} containers from ${CLIENTS} concurrent clients with no leak`, { timeout: 600_000 }, async () => {
    // One run first, so what is made once per daemon (the default bridge, lazily loaded code) is in the baseline.
    await client(CLIENTS, 1);
    const baseline = await footprint();
    await Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(index, RUNS_PER_CLIENT)));
    assert.equal((await daemon.api('GET', '/_ping')).status, 200);
    const listed = JSON.parse((await daemon.api('GET', '/containers/json?all=1')).body) as unknown[];
    assert.equal(listed.length, 0);
    // Exits are cleaned up as they are reported; give the last ones a moment rather than a sleep.
    const settled = await eventually(async () => {
      const now = await footprint();
      const { fds, ...rest } = now;
      const { fds: baseFds, ...baseRest } = baseline;
      return JSON.stringify(rest) === JSON.stringify(baseRest) && fds <= baseFds + 2 ? now : undefined;
    }, 'the footprint to return to its baseline', 30_000).catch(async (err: Error) => {
      assert.deepEqual(await footprint(), baseline, err.message);
      throw err;
    });
    assert.ok(settled);
    assert.equal(await readFile(`/proc/${daemon.pid()}/status`, 'utf8').then(() => true), true, 'berthd still runs');
  });
});
