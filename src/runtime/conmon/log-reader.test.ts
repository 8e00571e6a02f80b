import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, appendFile, rm, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { readLogs, timestampToNs } from './log-reader.js';
import type { LogRecord, ReadLogsOptions } from '../types.js';
import { rotateLogFile } from './log-rotation.js';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'berth-logs-')); });
after(() => rm(dir, { recursive: true, force: true }));

const LOG = [
  '2026-11-23T04:05:53.000000001+00:00 stdout F one',
  '2026-11-23T04:05:54.000000000+00:00 stderr P par',
  '2026-11-23T04:05:54.500000000+00:00 stdout F two',
  '2026-11-23T04:05:55.000000000+00:00 stderr F tial',
  '2026-11-23T04:05:56.000000000+00:00 stdout F',
  '',
].join('\n');

async function collect(path: string, options: ReadLogsOptions = {}): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  for await (const record of readLogs(path, options)) records.push(record);
  return records;
}

test('timestampToNs keeps nanoseconds and offsets', () => {
  assert.equal(timestampToNs('1970-01-01T00:00:01.000000002Z'), 1_000_000_002n);
  assert.equal(timestampToNs('1970-01-01T01:00:00+01:00'), 0n);
  assert.throws(() => timestampToNs('yesterday'));
});

test('joins partial records, adds newlines, keeps streams apart', async () => {
  const path = join(dir, 'a.log');
  await writeFile(path, LOG);
  const records = await collect(path);
  assert.deepEqual(records.map((r) => [r.stream, r.data.toString()]), [
    ['stdout', 'one\n'], ['stdout', 'two\n'], ['stderr', 'partial\n'], ['stdout', '\n'],
  ]);
  assert.equal(records[2]!.timestamp, '2026-11-23T04:05:55.000000000+00:00');
});

test('filters by stream, tail and time', async () => {
  const path = join(dir, 'b.log');
  await writeFile(path, LOG);
  assert.deepEqual((await collect(path, { stderr: true })).map((r) => r.data.toString()), ['partial\n']);
  assert.deepEqual((await collect(path, { tailLines: 2 })).map((r) => r.data.toString()), ['partial\n', '\n']);
  assert.deepEqual(await collect(path, { tailLines: 0 }), []);
  const since = timestampToNs('2026-11-23T04:05:54.500000000Z');
  const until = timestampToNs('2026-11-23T04:05:55Z');
  assert.deepEqual((await collect(path, { sinceNs: since, untilNs: until })).map((r) => r.data.toString()), ['two\n', 'partial\n']);
});

test('a missing file reads as empty', async () => {
  assert.deepEqual(await collect(join(dir, 'none.log')), []);
});

test('follow yields appended records and ends once done and drained', async () => {
  const path = join(dir, 'c.log');
  await writeFile(path, '2026-11-23T04:05:53Z stdout F first\n');
  let done = false;
  const seen: string[] = [];
  for await (const record of readLogs(path, { follow: true, isDone: () => done, pollMs: 20 })) {
    seen.push(record.data.toString());
    if (seen.length === 1) {
      await appendFile(path, '2026-11-23T04:05:54Z stdout P sec');
      await appendFile(path, 'ond-ignored-until-newline');
      await appendFile(path, '\n2026-11-23T04:05:55Z stdout F ond\n2026-11-23T04:05:56Z stderr P tail-without-end\n');
      done = true;
    }
  }
  assert.deepEqual(seen, ['first\n', 'second-ignored-until-newlineond\n', 'tail-without-end']);
});

test('follow stops when the signal aborts', async () => {
  const path = join(dir, 'd.log');
  await writeFile(path, '');
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  assert.deepEqual(await collect(path, { follow: true, signal: controller.signal, pollMs: 10 }), []);
});

test('reads while rotations rename and compress the files: no line missed or repeated', async () => {
  const path = join(dir, 'rotating.log');
  const policy = { maxSizeBytes: 1024, maxFiles: 3, compress: true };
  // The writer stands in for conmon: it appends to its open file until told to reopen.
  let writer = await open(path, 'a');
  const reopen = async (): Promise<void> => {
    const old = writer;
    writer = await open(path, 'a');
    await old.close();
  };
  let isWriting = true;
  let stopped = false;
  const writing = (async () => {
    for (let line = 1; line <= 1500 && !stopped; line++) {
      await writer.write(`2026-11-23T04:05:53.${String(line).padStart(9, '0')}Z stdout F line ${line}\n`);
      if (line % 8 === 0 && (await stat(path)).size >= policy.maxSizeBytes) await rotateLogFile(path, policy, reopen);
    }
    isWriting = false;
  })();
  let reads = 0;
  try {
    while (isWriting) {
      const lines = (await collect(path)).map((record) => Number(/line (\d+)/.exec(record.data.toString())?.[1]));
      for (let index = 1; index < lines.length; index++) {
        assert.equal(lines[index], lines[index - 1]! + 1, `read ${reads}: contiguous lines, got ${lines.slice(Math.max(0, index - 2), index + 2).join(',')}`);
      }
      reads++;
    }
  } finally {
    // Even when a read failed, the writer ends before the test does (its files are removed after).
    stopped = true;
    await writing.catch(() => {});
    await writer.close();
  }
  assert.ok(reads > 10, `the reader ran during the rotations (${reads} reads)`);
});
