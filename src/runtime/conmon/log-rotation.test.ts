import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../common/index.js';
import { LogRotator, logFilesOf, rotateLogFile } from './log-rotation.js';
import { readLogs } from './log-reader.js';
import type { LogRecord } from '../types.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-rotate-'));
});
after(() => rm(dir, { recursive: true, force: true }));

function line(n: number): string {
  return `2026-12-07T10:00:${String(n).padStart(2, '0')}.000000000+00:00 stdout F line ${n}\n`;
}

async function texts(path: string, options: Parameters<typeof readLogs>[1] = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const record of readLogs(path, options) as AsyncIterable<LogRecord>) out.push(record.data.toString());
  return out;
}

describe('log rotation', () => {
  it('keeps rotating the file that replaces a rotated one, without waiting for the poll', async () => {
    const path = join(dir, 'fast.log');
    await writeFile(path, '');
    // The poll never comes within the test: only the watch can see the new file grow.
    const rotator = new LogRotator(silentLogger, 3_600_000);
    // conmon's reopen: asked through its fifo, it makes a fresh file at the path a moment later.
    const reopen = (): Promise<void> => {
      setTimeout(() => void writeFile(path, ''), 50);
      return Promise.resolve();
    };
    rotator.watch('c1', path, { maxSizeBytes: 100, maxFiles: 3, compress: false }, reopen);
    const rotated = async (name: string): Promise<void> => {
      for (let tries = 0; tries < 500; tries++) {
        if (await stat(join(dir, name)).then(() => true, () => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`${name} never appeared`);
    };
    try {
      await appendFile(path, 'x'.repeat(150));
      await rotated('fast.log.1');
      await rotated('fast.log');
      // The new file, made by the reopen after the rename, grows past max-size in turn.
      await appendFile(path, 'y'.repeat(150));
      await rotated('fast.log.2');
    } finally {
      rotator.unwatch('c1');
    }
  });

  it('lists a file being compressed once: .N, not also its .N.gz', async () => {
    const path = join(dir, 'compressing.log');
    for (const name of ['compressing.log', 'compressing.log.1', 'compressing.log.1.gz', 'compressing.log.2.gz', 'compressing.log.1.gz.tmp']) await writeFile(join(dir, name), '');
    assert.deepEqual(await logFilesOf(path), [`${path}.2.gz`, `${path}.1`, path]);
  });

  it('keeps max-file files, drops the oldest, and reads them all in order', async () => {
    const path = join(dir, 'plain', 'ctr.log');
    await rm(join(dir, 'plain'), { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'plain')));
    let reopened = 0;
    // The fake conmon: a reopen makes the new file.
    const reopen = async (): Promise<void> => {
      reopened++;
      await writeFile(path, '');
    };
    const policy = { maxSizeBytes: 10, maxFiles: 3, compress: false };
    for (let n = 1; n <= 4; n++) {
      await appendFile(path, line(n));
      await rotateLogFile(path, policy, reopen);
    }
    await appendFile(path, line(5));
    assert.equal(reopened, 4);
    assert.deepEqual((await readdir(join(dir, 'plain'))).sort(), ['ctr.log', 'ctr.log.1', 'ctr.log.2']);
    assert.deepEqual(await logFilesOf(path), [`${path}.2`, `${path}.1`, path]);
    assert.deepEqual(await texts(path), ['line 3\n', 'line 4\n', 'line 5\n']);
    assert.deepEqual(await texts(path, { tailLines: 2 }), ['line 4\n', 'line 5\n']);
  });

  it('gzips rotated files with compress and still reads them', async () => {
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'gz')));
    const path = join(dir, 'gz', 'ctr.log');
    const reopen = async (): Promise<void> => writeFile(path, '');
    const policy = { maxSizeBytes: 10, maxFiles: 3, compress: true };
    for (let n = 1; n <= 3; n++) {
      await appendFile(path, line(n));
      await rotateLogFile(path, policy, reopen);
    }
    await appendFile(path, line(4));
    assert.deepEqual((await readdir(join(dir, 'gz'))).sort(), ['ctr.log', 'ctr.log.1.gz', 'ctr.log.2.gz']);
    assert.deepEqual(await texts(path), ['line 2\n', 'line 3\n', 'line 4\n']);
  });

  it('follows the log across a rotation without losing records', async () => {
    await import('node:fs/promises').then((fs) => fs.mkdir(join(dir, 'follow')));
    const path = join(dir, 'follow', 'ctr.log');
    await writeFile(path, line(1));
    let done = false;
    const controller = new AbortController();
    const seen: string[] = [];
    const reading = (async () => {
      for await (const record of readLogs(path, { follow: true, isDone: () => done, signal: controller.signal, pollMs: 10 })) seen.push(record.data.toString());
    })();
    // Rotate only once the reader holds the file (it lists the rotated files first).
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await appendFile(path, line(2));
    // The old file gets one more record after the rename, as conmon writes until it reopens.
    await rotateLogFile(path, { maxSizeBytes: 10, maxFiles: 2, compress: false }, async () => {
      await appendFile(`${path}.1`, line(3));
      await writeFile(path, line(4));
    });
    await appendFile(path, line(5));
    done = true;
    await reading;
    assert.deepEqual(seen, ['line 1\n', 'line 2\n', 'line 3\n', 'line 4\n', 'line 5\n']);
  });

  for (const compress of [false, true]) {
    it(`follows the log across two rotations between two reads${compress ? ', with compress' : ''}: the file between them is read`, async () => {
      const folder = join(dir, `twice-${compress}`);
      await import('node:fs/promises').then((fs) => fs.mkdir(folder));
      const path = join(folder, 'ctr.log');
      const policy = { maxSizeBytes: 10, maxFiles: 3, compress };
      await writeFile(path, line(1));
      let done = false;
      const records = readLogs(path, { follow: true, isDone: () => done, pollMs: 10 })[Symbol.asyncIterator]();
      // The reader holds the first file and is suspended at its first record: nothing reads while the log rotates twice.
      assert.equal((await records.next()).value?.data.toString(), 'line 1\n');
      await appendFile(path, line(2));
      await rotateLogFile(path, policy, () => writeFile(path, line(3)));
      await appendFile(path, line(4));
      await rotateLogFile(path, policy, () => writeFile(path, line(5)));
      done = true;
      const seen: string[] = [];
      for (let next = await records.next(); !next.done; next = await records.next()) seen.push(next.value.data.toString());
      assert.deepEqual(seen, ['line 2\n', 'line 3\n', 'line 4\n', 'line 5\n']);
    });
  }
});
