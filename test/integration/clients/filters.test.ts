/**
 * docker's filters as clients send them (the docker CLI, and dockerode's map form
 * `{"key": {"value": true}}`) on lists, prunes and events; a bad key or value is a 400 and
 * prunes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

const q = (filters: unknown): string => `filters=${encodeURIComponent(JSON.stringify(filters))}`;

describe('filters as clients send them', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  const ok = async (args: string[]): Promise<string> => {
    const result = await daemon.docker(args);
    assert.equal(result.exitCode, 0, `docker ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const lines = (text: string): string[] => text.trim().split('\n').filter((l) => l !== '').sort();

  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.cleanup();
  });

  it('networks: name as a regular expression, labels in both encodings, dangling checked', async () => {
    await ok(['network', 'create', '--label', 'team=a', 'flt-alpha']);
    await ok(['network', 'create', '--label', 'team=b', 'flt-alphabet']);
    assert.deepEqual(lines(await ok(['network', 'ls', '--filter', 'name=^flt-alpha$', '--format', '{{.Name}}'])), ['flt-alpha']);
    assert.deepEqual(lines(await ok(['network', 'ls', '--filter', 'name=flt-alpha', '--format', '{{.Name}}'])), ['flt-alpha', 'flt-alphabet']);
    const byMap = await daemon.api('GET', `/networks?${q({ label: { 'team=b': true } })}`);
    assert.deepEqual((JSON.parse(byMap.body) as Array<{ Name: string }>).map((n) => n.Name), ['flt-alphabet']);
    const maybe = await daemon.api('GET', `/networks?${q({ dangling: ['maybe'] })}`);
    assert.equal(maybe.status, 400);
    assert.equal(JSON.parse(maybe.body).message, "invalid filter 'dangling=maybe'");
    const badPrune = await daemon.api('POST', `/networks/prune?${q({ until: ['whenever'] })}`);
    assert.equal(badPrune.status, 400);
    const unknownKey = await daemon.api('POST', `/networks/prune?${q({ nosuch: ['x'] })}`);
    assert.equal(unknownKey.status, 400);
    assert.deepEqual(lines(await ok(['network', 'ls', '--filter', 'name=flt-', '--format', '{{.Name}}'])), ['flt-alpha', 'flt-alphabet'], 'a refused prune removed nothing');
    assert.match(await ok(['network', 'prune', '-f', '--filter', 'label=team=a']), /flt-alpha\n/);
    assert.deepEqual(lines(await ok(['network', 'ls', '--filter', 'name=flt-', '--format', '{{.Name}}'])), ['flt-alphabet']);
    await ok(['network', 'rm', 'flt-alphabet']);
  });

  it('images: a positional reference lists only that reference, once per ID with -q', async () => {
    const id = (await ok(['image', 'inspect', '-f', '{{.Id}}', 'busybox'])).trim();
    await ok(['tag', 'busybox', 'flt-img:1']);
    await ok(['tag', 'busybox', 'flt-img:2']);
    await ok(['tag', 'busybox', 'flt-other:1']);
    assert.deepEqual(lines(await ok(['images', 'flt-img', '--format', '{{.Repository}}:{{.Tag}}'])), ['flt-img:1', 'flt-img:2']);
    assert.deepEqual(lines(await ok(['images', 'flt-img:2', '--format', '{{.Repository}}:{{.Tag}}'])), ['flt-img:2']);
    assert.deepEqual(lines(await ok(['images', '-q', 'flt-img:1'])), [id.slice(7, 19)]);
    assert.deepEqual(lines(await ok(['images', '--filter', 'reference=flt-*', '--format', '{{.Repository}}:{{.Tag}}'])), ['flt-img:1', 'flt-img:2', 'flt-other:1']);
    const byMap = await daemon.api('GET', `/images/json?${q({ reference: { 'flt-other': true } })}`);
    assert.deepEqual((JSON.parse(byMap.body) as Array<{ RepoTags: string[] }>).map((i) => i.RepoTags), [['flt-other:1']]);
    for (const bad of [{ dangling: ['maybe'] }, { until: ['whenever'] }, { nosuch: ['x'] }]) {
      const prune = await daemon.api('POST', `/images/prune?${q(bad)}`);
      assert.equal(prune.status, 400, JSON.stringify(bad));
      assert.equal((await daemon.api('GET', `/images/json?${q(bad)}`)).status, 400, JSON.stringify(bad));
    }
    const untilDay = await daemon.api('POST', `/images/prune?${q({ until: ['24h'] })}`);
    assert.equal(untilDay.status, 200, untilDay.body);
    await ok(['rmi', 'flt-img:1', 'flt-img:2', 'flt-other:1']);
  });

  it('volumes and containers: labels in the map form, bad values refused before anything is removed', async () => {
    await ok(['volume', 'create', '--label', 'keep=yes', 'flt-keep']);
    await ok(['volume', 'create', 'flt-gone']);
    const byMap = await daemon.api('GET', `/volumes?${q({ label: { 'keep=yes': true } })}`);
    assert.deepEqual((JSON.parse(byMap.body) as { Volumes: Array<{ Name: string }> }).Volumes.map((v) => v.Name), ['flt-keep']);
    assert.deepEqual(lines(await ok(['volume', 'ls', '-q', '--filter', 'name=^flt-gone$'])), ['flt-gone']);
    const maybe = await daemon.api('POST', `/volumes/prune?${q({ all: ['maybe'] })}`);
    assert.equal(maybe.status, 400);
    assert.equal(JSON.parse(maybe.body).message, "invalid filter 'all=maybe'");
    assert.deepEqual(lines(await ok(['volume', 'ls', '-q', '--filter', 'name=flt-'])), ['flt-gone', 'flt-keep']);
    const pruned = await daemon.api('POST', `/volumes/prune?${q({ all: ['true'], 'label!': ['keep=yes'] })}`);
    assert.deepEqual(JSON.parse(pruned.body).VolumesDeleted, ['flt-gone']);
    await ok(['volume', 'rm', 'flt-keep']);
  });

  it('containers: every ps filter docker has, checked before anything is listed or pruned', async () => {
    await ok(['network', 'create', 'flt-cnet']);
    await ok(['volume', 'create', 'flt-cvol']);
    await ok(['create', '--name', 'flt-c1', '--label', 'tier=web', '-p', '127.0.0.1::8080', '--expose', '9000/udp', '--network', 'flt-cnet', 'busybox', 'true']);
    await ok(['create', '--name', 'flt-c2', '--label', 'tier=db', '-v', 'flt-cvol:/data', 'busybox', 'true']);
    await ok(['create', '--name', 'flt-c10', 'busybox', 'true']);
    const names = async (...filter: string[]): Promise<string[]> => lines(await ok(['ps', '-a', '--format', '{{.Names}}', ...filter.flatMap((f) => ['--filter', f])]));
    assert.deepEqual(await names('name=^flt-c1$'), ['flt-c1']);
    assert.deepEqual(await names('name=^/flt-c1$'), ['flt-c1']);
    assert.deepEqual(await names('name=flt-c1'), ['flt-c1', 'flt-c10']);
    assert.deepEqual(await names('label=tier'), ['flt-c1', 'flt-c2']);
    assert.deepEqual(await names('label=tier=db'), ['flt-c2']);
    assert.deepEqual(await names('network=flt-cnet'), ['flt-c1']);
    assert.deepEqual(await names('volume=flt-cvol'), ['flt-c2']);
    assert.deepEqual(await names('volume=/data'), ['flt-c2']);
    assert.deepEqual(await names('publish=8080'), ['flt-c1']);
    assert.deepEqual(await names('expose=9000/udp'), ['flt-c1']);
    assert.deepEqual(await names('expose=9000'), []);
    assert.deepEqual(await names('before=flt-c10', 'name=flt-'), ['flt-c1', 'flt-c2']);
    assert.deepEqual(await names('since=flt-c1', 'name=flt-'), ['flt-c10', 'flt-c2']);
    assert.deepEqual(await names('status=created', 'name=flt-'), ['flt-c1', 'flt-c10', 'flt-c2']);
    assert.deepEqual(await names('health=none', 'name=flt-'), ['flt-c1', 'flt-c10', 'flt-c2']);
    assert.deepEqual(await names('health=healthy', 'name=flt-'), []);
    const byMap = await daemon.api('GET', `/containers/json?all=1&${q({ label: { 'tier=web': true } })}`);
    assert.deepEqual((JSON.parse(byMap.body) as Array<{ Names: string[] }>).map((c) => c.Names), [['/flt-c1']]);
    for (const bad of [{ status: ['sleeping'] }, { exited: ['x'] }, { health: ['fine'] }, { publish: ['http'] }, { 'is-task': ['maybe'] }, { nosuch: ['x'] }]) {
      const answer = await daemon.api('GET', `/containers/json?all=1&${q(bad)}`);
      assert.equal(answer.status, 400, JSON.stringify(bad));
    }
    for (const bad of [{ until: ['whenever'] }, { until: ['1h', '2h'] }, { status: ['exited'] }]) {
      const answer = await daemon.api('POST', `/containers/prune?${q(bad)}`);
      assert.equal(answer.status, 400, JSON.stringify(bad));
    }
    assert.deepEqual(await names('name=flt-'), ['flt-c1', 'flt-c10', 'flt-c2'], 'a refused prune removed nothing');
    const pruned = JSON.parse((await daemon.api('POST', `/containers/prune?${q({ 'label!': ['tier'], until: ['-1h'] })}`)).body) as { ContainersDeleted: string[] };
    assert.equal(pruned.ContainersDeleted.length, 1);
    assert.deepEqual(await names('name=flt-'), ['flt-c1', 'flt-c2']);
    await ok(['rm', 'flt-c1', 'flt-c2']);
    await ok(['network', 'rm', 'flt-cnet']);
    await ok(['volume', 'rm', 'flt-cvol']);
  });

  it('events: since and until in docker formats, labels in the map form', async () => {
    await ok(['create', '--name', 'flt-ev', '--label', 'ev=1', 'busybox', 'true']);
    const until = String(Math.floor(Date.now() / 1000) + 1);
    for (const since of ['10m', new Date(Date.now() - 600_000).toISOString(), String(Math.floor(Date.now() / 1000) - 600)]) {
      const events = await daemon.api('GET', `/events?since=${encodeURIComponent(since)}&until=${until}&${q({ label: { 'ev=1': true }, type: ['container'] })}`);
      assert.equal(events.status, 200, events.body);
      assert.deepEqual(events.body.trim().split('\n').map((l) => (JSON.parse(l) as { Action: string }).Action), ['create'], since);
    }
    assert.equal((await daemon.api('GET', `/events?since=yesterday&until=${until}`)).status, 400);
    await ok(['rm', 'flt-ev']);
  });
});
