// The engine's file operations on containers: cp (archive), export, diff and commit.
// Imports the container service and ports of engine/, snapshot/, store/, oci/, sys/ and common/.
export { ContainerPathNotFoundError, isRuntimePlaceholder, withContainerFs, type ArchiveDeps, type ContainerFs } from './container-fs.js';
export { archiveContainerPath, containerAbsPath, exportContainer, extractToContainer, statContainerPath, type ExtractOptions, type PathStat } from './container-archive.js';
export { containerChanges } from './container-changes.js';
export { commitContainer, EMPTY_LAYER_DIFF_ID, type CommitOptions } from './container-commit.js';
export type { FilesystemChange } from '../../snapshot/index.js';
