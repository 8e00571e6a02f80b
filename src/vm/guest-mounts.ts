/**
 * Bind mounts, volumes and tmpfs mounts of a VM container: which host directories QEMU shares
 * over virtio-9p (one device each), where the guest agent mounts them inside the container's
 * root, and which tmpfs mounts it makes there (in the guest's memory).
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
  kind?: 'share';
  tag: string;
  /** Empty for a directory mount; the file's name inside the share for a file mount (no '/'). */
  fileName: string;
  destination: string;
  isReadonly: boolean;
}

/** One tmpfs the guest agent mounts in the container's root. */
export interface GuestTmpfs {
  kind: 'tmpfs';
  destination: string;
  /** The spec's options, flags (`nosuid`, `ro`) and data (`size=64m`, `mode=1777`) alike. */
  options: string[];
}

/** The shares and mounts of one container; mounts in the order the agent makes them. */
export interface GuestMountPlan {
  shares: GuestShare[];
  mounts: (GuestMount | GuestTmpfs)[];
}

/** microvm in QEMU 7.2 has 8 virtio-mmio transports. */
export const VIRTIO_MMIO_TRANSPORTS = 8;
/** The virtio-serial device (console and agent channel) and the root share. */
export const FIXED_VIRTIO_DEVICES = 2;
/** Shares when no network device is needed; each network interface takes one from it. */
export const MAX_GUEST_SHARES = VIRTIO_MMIO_TRANSPORTS - FIXED_VIRTIO_DEVICES;

function isBind(mount: RuntimeMount): boolean {
  return mount.type === 'bind' || (mount.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/**
 * Plan the 9p shares for the spec's bind mounts (volumes are binds of their data directory) and
 * its tmpfs mounts (`--tmpfs`, `--mount type=tmpfs`, /dev/shm sized by --shm-size), in the
 * spec's order (parents before children). A file (like /etc/hosts) is shared through its parent
 * directory, and mounts of one directory with the same access share one device. The spec's
 * tmpfs at /dev is left out: the agent gives the guest's devtmpfs there. Throws when a source is
 * missing or the mounts need more than `maxShares` devices (fewer when network devices take
 * some of microvm's transports).
 */
export function planGuestMounts(mounts: readonly RuntimeMount[], maxShares: number = MAX_GUEST_SHARES): GuestMountPlan {
  const shares: GuestShare[] = [];
  const result: (GuestMount | GuestTmpfs)[] = [];
  const shareFor = (hostPath: string, isReadonly: boolean): GuestShare => {
    const found = shares.find((s) => s.hostPath === hostPath && s.isReadonly === isReadonly);
    if (found) return found;
    const share = { tag: `m${shares.length}`, hostPath, isReadonly };
    shares.push(share);
    return share;
  };
  for (const mount of mounts) {
    if (mount.type === 'tmpfs' && !isBind(mount)) {
      if (mount.destination !== '/dev') result.push({ kind: 'tmpfs', destination: mount.destination, options: [...(mount.options ?? [])] });
      continue;
    }
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
  if (shares.length > maxShares) {
    const room = maxShares < MAX_GUEST_SHARES ? ` beside its ${MAX_GUEST_SHARES - maxShares} network interface(s)` : '';
    throw new Error(`a VM container can have at most ${maxShares} distinct mount sources${room} (this one has ${shares.length})`);
  }
  return { shares, mounts: result };
}

/**
 * The START field for one mount (PROTOCOL.md): `mount=<tag>/<ro|rw>/<fileName>/<destination>`
 * for a share, `tmpfs=<options>/<destination>` for a tmpfs (options comma-separated; none
 * contains '/').
 */
export function mountField(mount: GuestMount | GuestTmpfs): string {
  if (mount.kind === 'tmpfs') return `tmpfs=${mount.options.filter((o) => !o.includes('/')).join(',')}/${mount.destination}`;
  return `mount=${mount.tag}/${mount.isReadonly ? 'ro' : 'rw'}/${mount.fileName}/${mount.destination}`;
}
