/**
 * The engine's own failures, with docker's wording so clients see the messages they know.
 */
import { BerthError, ConflictError, NotFoundError } from '../common/index.js';

export class NoSuchContainerError extends NotFoundError {
  constructor(ref: string) {
    super('BERTH_NO_SUCH_CONTAINER', `No such container: ${ref}`);
  }
}

export class NameInUseError extends ConflictError {
  constructor(name: string, id: string) {
    super(
      'BERTH_NAME_IN_USE',
      `Conflict. The container name "/${name}" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
  }
}

/** docker's refusal to remove a container that runs, is paused or is between policy restarts. */
export class ContainerRunningError extends ConflictError {
  constructor(name: string, status: 'running' | 'paused' | 'restarting' = 'running') {
    super(
      'BERTH_CONTAINER_RUNNING',
      `cannot remove container "/${name}": container is ${status}: stop the container before removing or force remove`,
    );
  }
}

/**
 * The one error for an operation that needs a running container (kill, pause, top, resize,
 * exec): moby's errNotRunning, "Container <id> is not running", which kill prefixes with
 * "Cannot kill container: <id>: " as dockerd does.
 */
export class ContainerNotRunningError extends ConflictError {
  constructor(id: string, action?: 'kill') {
    const reason = `Container ${id} is not running`;
    super('BERTH_CONTAINER_NOT_RUNNING', action === undefined ? reason : `Cannot ${action} container: ${id}: ${reason}`);
  }
}

/** A container needs volumes but this daemon has no volume store (HTTP 503, as every other unavailable service). */
export class VolumesUnavailableError extends BerthError {
  constructor() {
    super('unavailable', 'BERTH_NO_VOLUME_SERVICE', 'volumes are not available on this daemon');
  }
}

export class AmbiguousContainerError extends BerthError {
  constructor(ref: string) {
    super('invalid-argument', 'BERTH_AMBIGUOUS_CONTAINER', `multiple IDs found with provided prefix: ${ref}`);
  }
}

/** The answer to starting a running container or stopping a stopped one (HTTP 304). */
export class NotModifiedError extends BerthError {
  constructor() {
    super('not-modified', 'BERTH_NOT_MODIFIED', 'container already in the requested state');
  }
}

export class RemovalInProgressError extends ConflictError {
  constructor(id: string) {
    super('BERTH_REMOVAL_IN_PROGRESS', `removal of container ${id} is already in progress`);
  }
}
