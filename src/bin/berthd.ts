#!/usr/bin/env node
// berthd: the Berth daemon. No logic here: see src/daemon/.
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
const { berthVersion, parseDaemonConfig, runDaemon } = await import('../daemon/index.js');
await runDaemon(parseDaemonConfig(process.argv.slice(2), berthVersion()));
