// Writes a mirror of a project's src/ and test/ in which every .ts file becomes a .js file
// holding only its module specifiers, as `import '<specifier>';` lines, so dependency-cruiser
// (which cannot parse TypeScript 7) can check the import rules on it. Type-only imports are kept:
// they bind layers as much as value imports do.
//
// Usage: node scripts/dep-mirror.mjs <project-dir> <mirror-dir>
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// A static import/export-from statement starts a line or follows a semicolon, so lines of doc
// comments (" * import ...") and "// import" never match. The clause before `from` may span lines.
const staticSpecifier = /(?:^|;)[ \t]*(?:import|export)\b(?:[\s\w*{},$]*?\bfrom)?\s*['"]([^'"\n]+)['"]/gm;
const dynamicSpecifier = /\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g;

/** The module specifiers a TypeScript source imports or re-exports, in order, without repeats. */
export function specifiersOf(source) {
  const found = new Set();
  for (const re of [staticSpecifier, dynamicSpecifier]) {
    for (const m of source.matchAll(re)) found.add(m[1]);
  }
  return [...found];
}

function mirrorTree(fromDir, toDir) {
  let entries;
  try {
    entries = readdirSync(fromDir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let count = 0;
  for (const e of entries) {
    const from = join(fromDir, e.name);
    if (e.isDirectory()) {
      count += mirrorTree(from, join(toDir, e.name));
    } else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
      mkdirSync(toDir, { recursive: true });
      const lines = specifiersOf(readFileSync(from, 'utf8')).map((s) => `import ${JSON.stringify(s)};\n`);
      writeFileSync(join(toDir, e.name.replace(/\.ts$/, '.js')), lines.join(''));
      count += 1;
    }
  }
  return count;
}

const [project, mirror] = process.argv.slice(2);
if (!project || !mirror) {
  process.stderr.write('usage: dep-mirror.mjs <project-dir> <mirror-dir>\n');
  process.exit(2);
}
rmSync(mirror, { recursive: true, force: true });
mkdirSync(mirror, { recursive: true });
// Marks the mirror as ESM so the resolver treats `import` lines as such.
writeFileSync(join(mirror, 'package.json'), '{"type":"module","private":true}\n');
let total = 0;
for (const top of ['src', 'test']) total += mirrorTree(join(project, top), join(mirror, top));
process.stdout.write(`${total}\n`);
