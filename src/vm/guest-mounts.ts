/**
 * Bind mounts and volumes of a VM container: which host directories QEMU shares over virtio-9p
 * (one device each) and where the guest agent mounts them inside the container's root.
 */
import { statSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { RuntimeMount } from '../oci/index.js';

/** One host directory QEMU exports over 9p. */
export interface GuestShare {
  /** The 9p mount tag: `m0`, `m1`, ... (never contains '/'). */
  tag: string;
  hostPath: string;
  isReadonly: boolean;
}

/** One mount the guest agent makes in the container's root, from a share. */
export interface GuestMount {
  tag: string;
  /** Empty for a directory mount; the file's name inside the share for a file mount (no '/'). */
  fileName: string;
  destination: string;
  isReadonly: boolean;
}

/** The shares and mounts of one container. */
export interface GuestMountPlan {
  shares: GuestShare[];
  mounts: GuestMount[];
}

/**
 * microvm in QEMU 7.2 has 8 virtio-mmio transports; the serial device and the root share use
 * two of them.
 */
export const MAX_GUEST_SHARES = 6;

function isBind(mount: RuntimeMount): boolean {
  return mount.type === 'bind' || (mount.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/**
 * Plan the 9p shares for the spec's bind mounts (volumes are binds of their data directory), in
 * the spec's order (parents before children). A file (like /etc/hosts) is shared through its
 * parent directory, and mounts of one directory with the same access share one device. Throws
 * when a source is missing or the mounts need more devices than microvm has.
 */
export function planGuestMounts(mounts: readonly RuntimeMount[]): GuestMountPlan {
  const shares: GuestShare[] = [];
  const result: GuestMount[] = [];
  const shareFor = (hostPath: string, isReadonly: boolean): GuestShare => {
    const found = shares.find((s) => s.hostPath === hostPath && s.isReadonly === isReadonly);
    if (found) return found;
    const share = { tag: `m${shares.length}`, hostPath, isReadonly };
    shares.push(share);
    return share;
  };
  for (const mount of mounts) {
    if (!isBind(mount) || mount.source === undefined) continue;
    const isReadonly = (mount.options ?? []).includes('ro');
    let isDirectory: boolean;
    try {
      isDirectory = statSync(mount.source).isDirectory();
    } catch (err) {
      throw new Error(`error mounting "${mount.source}" to rootfs at "${mount.destination}": ${(err as NodeJS.ErrnoException).code ?? 'cannot stat the source'}`);
    }
    const share = shareFor(isDirectory ? mount.source : dirname(mount.source), isReadonly);
    result.push({ tag: share.tag, fileName: isDirectory ? '' : basename(mount.source), destination: mount.destination, isReadonly });
  }
  if (shares.length > MAX_GUEST_SHARES) {
    throw new Error(`a VM container can have at most ${MAX_GUEST_SHARES} distinct mount sources (this one has ${shares.length})`);
  }
  return { shares, mounts: result };
}

/** The process-spec field for one mount: `<tag>/<ro|rw>/<fileName>/<destination>`. */
export function mountField(mount: GuestMount): string {
  return `${mount.tag}/${mount.isReadonly ? 'ro' : 'rw'}/${mount.fileName}/${mount.destination}`;
}
