/**
 * The CRI ImageService over Berth's image store: the same images `docker images` shows, pulled
 * through the same registry client (so `--insecure-registry` and `--no-default-registry` hold).
 */
import { join } from 'node:path';
import { isErrorKind } from '../common/index.js';
import type { CatalogImage, Engine, TransferCredentials } from '../engine/index.js';
import { CriInvalidError, CriUnsupportedError } from './grpc-errors.js';
import { PROCESS_HANDLERS } from './runtime-info.js';
import type { AuthConfig, Image, ImageSpec } from './wire.js';

/** An ImageSpec's runtime handler must be one berthd serves (images are shared by all of them). */
function checkSpec(spec: ImageSpec | null, field: string): string {
  if (!spec || spec.image === '') throw new CriInvalidError(`${field}.image`, 'an image reference is required');
  if (spec.runtime_handler !== '' && !(PROCESS_HANDLERS as readonly string[]).includes(spec.runtime_handler)) {
    throw new CriUnsupportedError(`${field}.runtime_handler`, `unknown runtime handler ${JSON.stringify(spec.runtime_handler)}`);
  }
  return spec.image;
}

/** The image's user as the CRI splits it: a numeric uid, or a name. */
export function imageUser(user: string): { uid: { value: string } | null; username: string } {
  const name = user.split(':')[0] ?? '';
  if (/^\d+$/.test(name)) return { uid: { value: name }, username: '' };
  return { uid: null, username: name };
}

export function toCriImage(image: CatalogImage): Image {
  return {
    id: image.id,
    repo_tags: image.repoTags.filter((t) => t !== '<none>:<none>'),
    repo_digests: image.repoDigests.filter((d) => d !== '<none>@<none>'),
    size: String(Math.max(1, image.sizeBytes)),
    ...imageUser(image.config.config?.User ?? ''),
    spec: { image: image.id },
    pinned: false,
  };
}

/** A CRI AuthConfig as the registry client's credentials; `auth` is base64 `user:password`. */
export function credentialsOf(auth: AuthConfig | null): TransferCredentials | undefined {
  if (!auth) return undefined;
  let { username, password } = auth;
  if (auth.auth !== '') {
    const decoded = Buffer.from(auth.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new CriInvalidError('auth.auth', 'not base64 of user:password');
    username = decoded.slice(0, colon);
    password = decoded.slice(colon + 1);
  }
  const out: TransferCredentials = {};
  if (username !== '') out.username = username;
  if (password !== '') out.password = password;
  if (auth.identity_token !== '') out.identityToken = auth.identity_token;
  if (auth.registry_token !== '') out.registryToken = auth.registry_token;
  return Object.keys(out).length > 0 ? out : undefined;
}

async function findImage(engine: Engine, ref: string): Promise<CatalogImage | undefined> {
  try {
    return await engine.images.get(ref);
  } catch (err) {
    if (isErrorKind(err, 'not-found') || isErrorKind(err, 'invalid-argument')) return undefined;
    throw err;
  }
}

export function imageHandlers(engine: Engine) {
  return {
    async ListImages(request: { filter: { image: ImageSpec | null } | null }) {
      const wanted = request.filter?.image?.image ?? '';
      const images = await engine.images.list();
      if (wanted === '') return { images: images.map(toCriImage) };
      const match = await findImage(engine, wanted);
      return { images: match ? images.filter((i) => i.id === match.id).map(toCriImage) : [] };
    },

    async ImageStatus(request: { image: ImageSpec | null; verbose: boolean }) {
      const image = await findImage(engine, checkSpec(request.image, 'image'));
      if (!image) return { image: null, info: {} };
      const info: Record<string, string> = request.verbose ? { imageSpec: JSON.stringify(image.config) } : {};
      return { image: toCriImage(image), info };
    },

    async PullImage(request: { image: ImageSpec | null; auth: AuthConfig | null }) {
      const ref = checkSpec(request.image, 'image');
      const credentials = credentialsOf(request.auth);
      const { image } = await engine.images.pull(ref, { ...(credentials ? { credentials } : {}), progress: () => {} });
      engine.events.publish('image', 'pull', ref, { name: ref });
      return { image_ref: image.id };
    },

    async RemoveImage(request: { image: ImageSpec | null }) {
      const ref = checkSpec(request.image, 'image');
      // Removing what is already gone succeeds: the kubelet retries.
      if (!(await findImage(engine, ref))) return {};
      await engine.removeImage(ref, { force: true, noPrune: false });
      return {};
    },

    async ImageFsInfo() {
      const mountpoint = join(engine.facts.root, 'overlay');
      const { layersSizeBytes } = await engine.images.diskUsage();
      return {
        image_filesystems: [{ timestamp: String(BigInt(Date.now()) * 1_000_000n), fs_id: { mountpoint }, used_bytes: { value: String(layersSizeBytes) } }],
        container_filesystems: [],
      };
    },
  };
}
