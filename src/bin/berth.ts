#!/usr/bin/env node
// The `berth` command: all logic lives in src/cli/.
import { runCli } from '../cli/index.js';

process.exitCode = await runCli(process.argv.slice(2));
