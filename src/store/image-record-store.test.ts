import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Digest } from '../oci/index.js';
import { ImageRecordStore, type ImageRecord } from './image-record-store.js';

const record: ImageRecord = {
  id: sha256Digest('config'),
  addedAt: '2026-01-01T00:00:00.000Z',
  sizeBytes: 10,
  layers: [{ diffId: sha256Digest('l'), chainId: sha256Digest('l'), sizeBytes: 10 }],
  config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest('l')] } },
};

test('records are written through and reloaded', async () => {
  const root = await mkdtemp(join(tmpdir(), 'berth-records-test-'));
  try {
    const store = await ImageRecordStore.open(root);
    await store.put(record);
    assert.deepEqual((await ImageRecordStore.open(root)).get(record.id), record);
    await store.delete(record.id);
    await store.delete(record.id);
    assert.deepEqual((await ImageRecordStore.open(root)).all(), []);
    await writeFile(join(root, 'image/images', `${'f'.repeat(64)}.json`), '{not json');
    await assert.rejects(ImageRecordStore.open(root), /unreadable/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
