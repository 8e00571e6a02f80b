#!/usr/bin/env node
// The `berth` command: all logic lives in src/cli/.
import { enableCompileCache } from 'node:module';

// berth starts once per command: reuse V8's compiled code across runs (Node >= 22.1).
enableCompileCache?.();
const { runCli } = await import('../cli/index.js');
process.exitCode = await runCli(process.argv.slice(2));
