/** berth-vm's state annotations the engine reads: the accelerator a VM ran with, and why a VM ended without an exit status. */
export const VM_ACCEL_ANNOTATION = 'io.berth.vm.accel';
export const VM_ERROR_ANNOTATION = 'io.berth.vm.error';
