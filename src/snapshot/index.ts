// Unpacked image layers on overlayfs, the hardened layer extractor and overlay mounts.
// Imports oci/, sys/ and common/.
export * from './layer-extractor.js';
export * from './overlay-snapshotter.js';
