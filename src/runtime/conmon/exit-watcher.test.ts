import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm, access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { silentLogger } from '../../common/index.js';
import { ExitWatcher } from './exit-watcher.js';

const OLD = 'a'.repeat(64);
const NEW = 'b'.repeat(64);

test('reports exits present at start and written later, once each; acknowledge removes the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-exits-'));
  const watcher = new ExitWatcher(dir, silentLogger);
  try {
    await writeFile(join(dir, OLD), '3');
    await writeFile(join(dir, '.tmp-ignored'), '9');
    const seen: [string, number][] = [];
    watcher.on('exit', (id, code) => seen.push([id, code]));
    await watcher.start();
    assert.deepEqual(seen, [[OLD, 3]]);
    const next = once(watcher, 'exit');
    await writeFile(join(dir, NEW), '137');
    assert.deepEqual(await next, [NEW, 137]);
    await writeFile(join(dir, NEW), '137'); // rewritten, not yet acknowledged: no second report
    await watcher.acknowledge(OLD);
    await assert.rejects(access(join(dir, OLD)));
    assert.deepEqual(seen, [[OLD, 3], [NEW, 137]]);
  } finally {
    await watcher.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("ignores conmon's temp file, so its rename into place is never lost", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-exits-'));
  const watcher = new ExitWatcher(dir, silentLogger);
  try {
    const seen: string[] = [];
    watcher.on('exit', (id) => seen.push(id));
    await watcher.start();
    // What g_file_set_contents does: write `<id>.XXXXXX`, then rename it to `<id>`.
    const temp = join(dir, `${NEW}.Q1W2E3`);
    const next = once(watcher, 'exit');
    await writeFile(temp, '0');
    await new Promise((r) => setTimeout(r, 50));
    await rename(temp, join(dir, NEW));
    assert.deepEqual(await next, [NEW, 0]);
    assert.deepEqual(seen, [NEW]);
  } finally {
    await watcher.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
