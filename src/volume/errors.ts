/**
 * Volume failures, worded as moby's volume store words them (`<op> <name>: <reason>`), so
 * the docker CLI shows what users know.
 */
import { BerthError, InvalidArgumentError, NotFoundError } from '../common/index.js';

/** A volume name that is not recorded. */
export class NoSuchVolumeError extends NotFoundError {
  constructor(name: string) {
    super('BERTH_NO_SUCH_VOLUME', `get ${name}: no such volume`);
  }
}

/** A driver other than `local` (Berth has no volume plugins). */
export class UnknownVolumeDriverError extends NotFoundError {
  constructor(name: string, driver: string) {
    super('BERTH_UNKNOWN_VOLUME_DRIVER', `create ${name}: error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  }
}

/** A volume is a directory named for it: one path component. */
export const MAX_VOLUME_NAME_LENGTH = 255;

/** A name the local driver refuses. */
export class InvalidVolumeNameError extends InvalidArgumentError {
  constructor(name: string) {
    const reason = name.length < 2 && /^[a-zA-Z0-9]*$/.test(name)
      ? 'volume name is too short, names should be at least two alphanumeric characters'
      : name.length > MAX_VOLUME_NAME_LENGTH
        ? `volume name is too long, names may be at most ${MAX_VOLUME_NAME_LENGTH} characters`
        : `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`;
    super(`create ${name}: ${reason}`, { code: 'BERTH_INVALID_VOLUME_NAME' });
  }
}

/** A `-o` option the local driver does not know, or one missing what it needs. */
export class InvalidVolumeOptionError extends InvalidArgumentError {
  constructor(name: string, reason: string) {
    super(`create ${name}: ${reason}`, { code: 'BERTH_INVALID_VOLUME_OPTION' });
  }
}

/** Mounting a volume's backing filesystem (tmpfs, a device, a bind) failed. */
export class VolumeMountError extends BerthError {
  constructor(name: string, reason: string) {
    super('internal', 'BERTH_VOLUME_MOUNT_FAILED', `error while mounting volume '${name}': ${reason}`);
  }
}
