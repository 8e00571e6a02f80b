/**
 * docs/errors.md lists every error code thrown anywhere in src/: this test keeps the two in
 * step, both ways.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/src/common -> the repository.
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// Environment variable names share the prefix but are not error codes.
const NOT_CODES = new Set(['BERTH_HOST', 'BERTH_CONFIG', 'BERTH_CRASH_AT']);

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sourceFiles(path)));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

describe('docs/errors.md', () => {
  it('lists exactly the error codes the code uses', async () => {
    const used = new Set<string>();
    for (const file of await sourceFiles(join(REPO, 'src'))) {
      for (const match of (await readFile(file, 'utf8')).matchAll(/'(BERTH_[A-Z0-9_]+)'/g)) {
        if (!NOT_CODES.has(match[1]!)) used.add(match[1]!);
      }
    }
    const doc = await readFile(join(REPO, 'docs/errors.md'), 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `(BERTH_[A-Z0-9_]+)`/gm)].map((m) => m[1]!));
    assert.deepEqual([...used].filter((c) => !documented.has(c)).sort(), [], 'codes used but not documented');
    assert.deepEqual([...documented].filter((c) => !used.has(c)).sort(), [], 'codes documented but no longer used');
  });
});
