import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm, access } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { silentLogger } from '../../common/index.js';
import { ExitWatcher } from './exit-watcher.js';

test('reports exits present at start and written later, once each; acknowledge removes the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-exits-'));
  const watcher = new ExitWatcher(dir, silentLogger);
  try {
    await writeFile(join(dir, 'old'), '3');
    await writeFile(join(dir, '.tmp-ignored'), '9');
    const seen: [string, number][] = [];
    watcher.on('exit', (id, code) => seen.push([id, code]));
    await watcher.start();
    assert.deepEqual(seen, [['old', 3]]);
    const next = once(watcher, 'exit');
    await writeFile(join(dir, 'new'), '137');
    assert.deepEqual(await next, ['new', 137]);
    await writeFile(join(dir, 'new'), '137'); // rewritten, not yet acknowledged: no second report
    await watcher.acknowledge('old');
    await assert.rejects(access(join(dir, 'old')));
    assert.deepEqual(seen, [['old', 3], ['new', 137]]);
  } finally {
    await watcher.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
