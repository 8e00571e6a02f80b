/**
 * Where one stage of a build is: its current image, config and layers, as every step reads and
 * moves it; and the small helpers the steps share to name images and shells.
 */
import { BerthError } from '../common/index.js';
import type { Engine } from '../engine/index.js';
import { MediaType, type ImageConfig, type ImageRuntimeConfig } from '../oci/index.js';

/** A layer of the stage's image as the image store takes it for a new image. */
export interface LayerRef {
  blobDigest: `sha256:${string}`;
  mediaType: string;
}

/** Where one stage is: its current image (undefined for FROM scratch before any step) and config. */
export interface StageState {
  name: string | undefined;
  imageId: string | undefined;
  image: ImageConfig;
  layers: LayerRef[];
  run: ImageRuntimeConfig;
  /** ARGs declared in this stage, with their values (undefined: declared without one). */
  args: Map<string, string | undefined>;
  /** Whether this stage set CMD (an ENTRYPOINT then keeps it; else it clears the base's). */
  isCmdSet: boolean;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The shell a shell-form step runs in: the stage's SHELL, else `/bin/sh -c`. */
export function shellOf(state: StageState): string[] {
  return state.run.Shell && state.run.Shell.length > 0 ? [...state.run.Shell] : [...DEFAULT_SHELL];
}

/** The 12-hex short form docker prints for an id. */
export const shortId = (id: string | undefined): string => (id ?? '').replace(/^sha256:/, '').slice(0, 12);

/** A stage standing on the stored image `imageId` (its config and layers, copied). */
export function stateOfImage(engine: Engine, name: string | undefined, imageId: string, config: ImageConfig): StageState {
  const layers = engine.images.recordOf(imageId).layers.map((stored) => {
    if (stored.blobDigest === undefined) throw new BerthError('internal', 'BERTH_BUILD_STEP_FAILED', `layer ${stored.diffId} of image ${imageId} has no blob to build on`);
    return { blobDigest: stored.blobDigest, mediaType: stored.mediaType ?? MediaType.dockerLayer };
  });
  const image = structuredClone(config);
  return { name, imageId, image, layers, run: structuredClone(image.config ?? {}), args: new Map(), isCmdSet: false };
}

/** Move `state` onto another stored image (a cache hit), keeping its name and args. */
export function moveStageTo(engine: Engine, state: StageState, imageId: string, config: ImageConfig): void {
  const moved = stateOfImage(engine, state.name, imageId, config);
  state.imageId = moved.imageId;
  state.image = moved.image;
  state.layers = moved.layers;
  state.run = moved.run;
}
