// Content-addressed blobs, image references and image metadata records on the local disk.
// Imports oci/, sys/ and common/.
export * from './content-store.js';
export * from './image-reference.js';
export * from './reference-store.js';
export * from './image-record-store.js';
