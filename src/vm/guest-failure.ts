/**
 * Why a VM ended without the container's exit status, in one line for inspect's State.Error.
 * The shim records the console's last lines; after a guest kernel panic those are the tail of a
 * register dump, while the line that explains it ("Kernel panic - not syncing: ...") comes
 * earlier. This finds that line in the VM's console log.
 */

/** The prefix the shim gives every such error (shim.ts, `io.berth.vm.error`). */
export const VM_ENDED_WITHOUT_STATUS = "the VM ended without the container's exit status";

/**
 * The error to report: `shimError` as it is, unless it is the shim's "ended without exit
 * status" message, says nothing of the panic itself, and the console log has a kernel panic
 * line; then that line (without its printk timestamp) replaces the console tail.
 */
export function describeGuestFailure(shimError: string, consoleText: string): string {
  if (!shimError.startsWith(VM_ENDED_WITHOUT_STATUS) || /Kernel panic/.test(shimError)) return shimError;
  const panicLine = consoleText
    .split('\n')
    .map((line) => line.replace(/^\[\s*\d+\.\d+\]\s*/, '').trim())
    .find((line) => line.startsWith('Kernel panic - '));
  return panicLine ? `${VM_ENDED_WITHOUT_STATUS}: ${panicLine}` : shimError;
}
