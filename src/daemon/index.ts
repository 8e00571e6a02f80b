// berthd's composition root: configuration, wiring of concrete services, the socket, signals
// and recovery. May import anything.
export { parseDaemonConfig, type DaemonConfig } from './config.js';
export { startDaemon, runDaemon, type RunningDaemon } from './daemon.js';
export { berthVersion, berthHome } from './version.js';
export { PROCESS_TRAITS, VM_TRAITS } from './builtins.js';
