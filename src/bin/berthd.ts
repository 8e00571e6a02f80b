#!/usr/bin/env node
// berthd: the Berth daemon. No logic here: see src/daemon/.
import { berthVersion, parseDaemonConfig, runDaemon } from '../daemon/index.js';

await runDaemon(parseDaemonConfig(process.argv.slice(2), berthVersion()));
