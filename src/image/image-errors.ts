/** The image service's own failures, with docker's statuses and wording. */
import { ConflictError, NotFoundError } from '../common/index.js';

/** No image matches the reference. */
export class NoSuchImageError extends NotFoundError {
  constructor(ref: string) {
    super('BERTH_NO_SUCH_IMAGE', `No such image: ${ref}`);
  }
}

/** docker's 409 for removing an image that is in use or referenced elsewhere. */
export class ImageConflictError extends ConflictError {
  constructor(message: string) {
    super('BERTH_IMAGE_CONFLICT', message);
  }
}
