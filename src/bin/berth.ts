#!/usr/bin/env node
// The `berth` command: all logic lives in src/cli/.
import { enableCompileCache } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// berth starts once per command: reuse V8's compiled code across runs (Node >= 22.1), in a
// directory of the user's own rather than the shared /tmp default, whose entries another user
// could have placed. Unwritable, Node just runs without it.
enableCompileCache?.(process.env['NODE_COMPILE_CACHE'] || join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'berth', 'node-compile-cache'));
const { runCli } = await import('../cli/index.js');
process.exitCode = await runCli(process.argv.slice(2));
