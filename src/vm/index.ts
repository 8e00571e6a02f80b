// berth-vm, Berth's OCI runtime for --isolation=vm: QEMU launch, the guest agent's protocol, the shim.
// Imports oci/, sys/ and common/ only; the engine reaches it only by running the berth-vm program.
export { runBerthVm } from './berth-vm-cli.js';
export { DEFAULT_KERNEL_PATH, describeVmHost, type VmHostDescription } from './guest-assets.js';
