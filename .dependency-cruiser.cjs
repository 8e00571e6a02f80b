// Berth's import rules (docs: STYLE.md "Import direction"), checked by scripts/check-deps.
//
// dependency-cruiser cannot parse TypeScript 7 (it needs the TypeScript 5/6 compiler API or
// @swc/core), so scripts/check-deps cruises a mirror of src/ and test/ in which each .ts file
// becomes a .js file holding only its import and export-from statements, type-only ones
// included. Paths below are therefore those of the mirror: src/<folder>/<file>.js.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/**
 * STYLE.md rule 1: the layers, top (0) to bottom. A folder may import folders of a greater
 * number only: never up, and never a sibling of the same number (rule 2).
 */
const levels = {
  bin: 0,
  daemon: 1, cli: 1,
  api: 2, client: 2,
  // The CRI (gRPC for a kubelet) is a second front door beside the Docker API, on the same engine.
  cri: 2,
  // The builder drives the engine (containers, the image store) and is driven by the API.
  build: 2.5,
  engine: 3,
  image: 4, network: 4, volume: 4, runtime: 4, vm: 4,
  store: 5, snapshot: 5,
  oci: 6, sys: 6,
  common: 7,
};

/** Folders below the top level that STYLE.md names, and so must be entered through index.ts. */
const namedSubfolders = ['api/wire', 'api/translate', 'runtime/spec', 'runtime/conmon'];

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every directory below root (relative, '/'-separated), found when the config is loaded. */
function folders(root) {
  const out = [];
  const walk = (rel) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const sub = rel ? `${rel}/${e.name}` : e.name;
      out.push(sub);
      walk(sub);
    }
  };
  walk('');
  return out;
}

const srcRoot = path.join(__dirname, 'src');
const srcFolders = folders(srcRoot);
const topFolders = srcFolders.filter((f) => !f.includes('/'));

// Rules 1 and 2, one rule per placed top folder. api/wire imports nothing of Berth, so it is
// open to the two folders that speak the wire format from the client side (cli, client).
const layerRules = topFolders
  .filter((f) => f in levels)
  .flatMap((folder) => {
    const banned = Object.keys(levels).filter((g) => g !== folder && levels[g] <= levels[folder]);
    if (banned.length === 0) return [];
    const wireOpen = folder === 'cli' || folder === 'client';
    return [{
      name: `layer-${folder}`,
      comment: `src/${folder}/ may not import ${banned.map((b) => `${b}/`).join(', ')}: imports go down the layers, never up or sideways (STYLE.md, Import direction 1, 2)`,
      severity: 'error',
      from: { path: `^src/${esc(folder)}/` },
      to: {
        path: `^src/(${banned.map(esc).join('|')})/`,
        ...(wireOpen ? { pathNot: '^src/api/wire/' } : {}),
      },
    }];
  });

// Rule 4, and api/wire, which STYLE.md says imports nothing of Berth's (common/ is the bottom
// layer, so layer-common already keeps it closed).
const narrowRules = [
  {
    name: 'cli-through-api',
    comment: 'src/cli/ reaches berthd only through the API: it imports client/, api/wire/ and common/ only (STYLE.md, Import direction 4)',
    severity: 'error',
    from: { path: '^src/cli/' },
    to: { path: '^src/', pathNot: ['^src/cli/', '^src/client/', '^src/api/wire/', '^src/common/'] },
  },
  {
    name: 'engine-no-vm',
    comment: 'src/engine/ never imports vm/: each isolation level is a runtime behind the Runtime interface, and the engine asks its traits (STYLE.md, Tests; issue 13)',
    severity: 'error',
    from: { path: '^src/engine/' },
    to: { path: '^src/vm/' },
  },
  {
    name: 'engine-runtime-through-ports',
    comment: 'src/engine/ sees runtime/ only through engine/ports.ts, which re-exports the Runtime interface and its types (issue 13)',
    severity: 'error',
    from: { path: '^src/engine/', pathNot: '^src/engine/ports\\.js$' },
    to: { path: '^src/runtime/' },
  },
  {
    name: 'wire-imports-nothing',
    comment: 'src/api/wire/ imports nothing of Berth (STYLE.md, Layout)',
    severity: 'error',
    from: { path: '^src/api/wire/' },
    to: { path: '^src/', pathNot: '^src/api/wire/' },
  },
];

// Rule 5. The folders entered only through index.ts: every top folder, the subfolders STYLE.md
// names, and any other subfolder that has an index.ts; a subfolder that is none of these is
// part of its parent. Files inside a folder's subtree may use its files directly, because the
// folder's index.ts usually re-exports them and going through it would make a cycle.
const encapsulated = srcFolders.filter((f) => !f.includes('/') || namedSubfolders.includes(f)
  || fs.existsSync(path.join(srcRoot, f, 'index.ts')));
const indexRules = encapsulated.map((folder) => {
  const dir = `src/${folder}`;
  const inner = encapsulated.filter((g) => g.startsWith(`${folder}/`)).map((g) => `^src/${esc(g)}/`);
  return {
    name: `index-only-${dir.replace(/\//g, '-')}`,
    comment: `import ${dir}/ through its index.ts only (STYLE.md, Import direction 5)`,
    severity: 'error',
    from: { path: '^(src|test)/', pathNot: `^${esc(dir)}/` },
    to: { path: `^${esc(dir)}/`, pathNot: [`^${esc(dir)}/index\\.js$`, ...inner] },
  };
});

// A new top-level folder must be given a layer before anything in it may import Berth code.
const unplacedRules = topFolders.filter((f) => !(f in levels)).map((f) => ({
  name: `unplaced-src-${f}`,
  comment: `src/${f}/ has no layer yet: add it to "levels" in .dependency-cruiser.cjs`,
  severity: 'error',
  from: { path: `^src/${esc(f)}/` },
  to: { path: '^src/' },
}));

// No import cycles, type-only ones included (the mirror keeps `import type` lines): a cycle
// means two rooms that cannot be understood, tested or replaced apart.
const cycleRules = [{
  name: 'no-cycles',
  comment: 'imports may not form a cycle, type-only ones included (issue 13)',
  severity: 'error',
  from: { path: '^src/' },
  to: { circular: true },
}];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [...layerRules, ...narrowRules, ...indexRules, ...unplacedRules, ...cycleRules],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    moduleSystems: ['es6', 'cjs'],
  },
};
