// The Kubernetes Container Runtime Interface: berthd's gRPC RuntimeService and ImageService,
// served on the same engine as the Docker API. Imports engine/, runtime/ (its defaults), sys/
// and common/. Loading this index does not load gRPC: startCri does, when it is called.
export { startCri, readySandboxIds, type CriDependencies, type CriServer } from './cri.js';
export { CRI_PROTO_PATH, PROTO_LOADER_OPTIONS } from './proto-path.js';
