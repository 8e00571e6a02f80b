/**
 * Berth's own version, from package.json (found relative to this file in dist/ and src/).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export function berthVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'berth' && pkg.version) return pkg.version;
    } catch {
      // Not here; look one level up.
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/** The directory holding package.json, dist/ and build/. */
export function berthHome(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'berth') return dir;
    } catch {
      // Keep looking.
    }
    dir = dirname(dir);
  }
  return process.cwd();
}
