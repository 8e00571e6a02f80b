// Building a container's OCI runtime config: docker's defaults, --user resolution, seccomp.
// Imports oci/, sys/ and common/.
export * from './build-runtime-spec.js';
export * from './resolve-user.js';
export * from './seccomp-profile.js';
export * from './defaults.js';
export * from './resources.js';
