import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import tar from 'tar-stream';
import { renameTar } from './rename-tar.js';

async function* packed(entries: Array<{ name: string; type?: 'directory'; body?: string }>): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  for (const e of entries) pack.entry(e.type ? { name: e.name, type: e.type, uid: 5, gid: 6 } : { name: e.name, uid: 5, gid: 6 }, e.body ?? '');
  pack.finalize();
  for await (const chunk of pack) yield chunk as Buffer;
}

async function names(source: AsyncIterable<Uint8Array>): Promise<Array<[string, number, string]>> {
  const extract = tar.extract();
  const feeding = (async () => {
    for await (const chunk of source) extract.write(chunk);
    extract.end(null);
  })();
  const out: Array<[string, number, string]> = [];
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    out.push([entry.header.name, entry.header.uid ?? -1, Buffer.concat(chunks).toString()]);
  }
  await feeding;
  return out;
}

describe('renameTar', () => {
  it('moves a file and a directory tree to their destination, parents first, owner replaced when asked', async () => {
    assert.deepEqual(await names(renameTar(packed([{ name: 'app', body: 'x' }]), { from: 'app', to: 'usr/bin/tool' })), [['usr/bin/tool', 5, 'x']]);
    const tree = renameTar(packed([{ name: 'dir/', type: 'directory' }, { name: 'dir/f', body: 'y' }]), { from: 'dir', to: 'srv', parents: ['a'], owner: { uid: 0, gid: 0 } });
    assert.deepEqual(await names(tree), [['a/', 0, ''], ['srv/', 0, ''], ['srv/f', 0, 'y']]);
  });
});
