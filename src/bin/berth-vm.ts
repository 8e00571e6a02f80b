#!/usr/bin/env node
// berth-vm: Berth's OCI runtime for VM isolation, driven by conmon like crun. No logic here: see src/vm/.
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
const { runBerthVm } = await import('../vm/index.js');
process.exitCode = await runBerthVm(process.argv.slice(2));
