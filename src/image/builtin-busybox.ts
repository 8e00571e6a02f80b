/**
 * The built-in `busybox:latest`, made from the host's static busybox so a machine with no
 * registry can run containers. Everything here is deterministic: the same busybox binary always
 * gives byte-identical layer, config and manifest blobs, hence the same image id.
 */
import { readFile } from 'node:fs/promises';
import tar from 'tar-stream';
import { InternalError } from '../common/index.js';
import { type Digest, type ImageConfig, type ImageManifest, MediaType, sha256Digest } from '../oci/index.js';
import { runChecked } from '../sys/index.js';

/** Where Debian's busybox-static installs the binary. */
export const DEFAULT_BUSYBOX_PATH = '/bin/busybox';
/** The fixed creation time of the built-in image and the mtime of every file in it. */
export const BUILTIN_CREATED = '2024-01-01T00:00:00Z';

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/bin/false',
  'bin:x:2:2:bin:/bin:/bin/false',
  'sys:x:3:3:sys:/dev:/bin/false',
  'sync:x:4:100:sync:/bin:/bin/sync',
  'mail:x:8:8:mail:/var/spool/mail:/bin/false',
  'www-data:x:33:33:www-data:/var/www:/bin/false',
  'operator:x:37:37:Operator:/var:/bin/false',
  'nobody:x:65534:65534:nobody:/home:/bin/false',
].join('\n') + '\n';

const GROUP = [
  'root:x:0:', 'daemon:x:1:', 'bin:x:2:', 'sys:x:3:', 'adm:x:4:', 'tty:x:5:', 'disk:x:6:', 'lp:x:7:',
  'mail:x:8:', 'kmem:x:9:', 'wheel:x:10:root', 'floppy:x:11:', 'audio:x:29:', 'www-data:x:33:',
  'operator:x:37:', 'staff:x:50:', 'users:x:100:', 'nogroup:x:65533:', 'nobody:x:65534:',
].join('\n') + '\n';

const DIRECTORIES: Array<[string, number]> = [
  ['bin', 0o755], ['dev', 0o755], ['etc', 0o755], ['home', 0o755], ['proc', 0o755], ['root', 0o700],
  ['sys', 0o755], ['tmp', 0o1777], ['usr', 0o755], ['usr/sbin', 0o755], ['var', 0o755], ['var/spool', 0o755],
  ['var/spool/mail', 0o755], ['var/www', 0o755],
];

/** The three blobs of the built-in image. */
export interface BuiltinImageBlobs {
  layer: Buffer;
  diffId: Digest;
  config: Buffer;
  manifest: Buffer;
}

/** Build the layer, config and manifest of the built-in busybox image from `busyboxPath`. */
export async function buildBusyboxImage(busyboxPath: string = DEFAULT_BUSYBOX_PATH): Promise<BuiltinImageBlobs> {
  const binary = await readFile(busyboxPath);
  const listing = await runChecked(busyboxPath, ['--list']);
  const applets = [...new Set(listing.stdout.split('\n').map((name) => name.trim()))]
    .filter((name) => /^[a-zA-Z0-9_.[-]+$/.test(name) && name !== 'busybox')
    .sort();
  if (!applets.includes('sh')) throw new InternalError(`${busyboxPath} has no sh applet`);
  const layer = await busyboxLayer(binary, applets);
  const diffId = sha256Digest(layer);
  const config: ImageConfig = {
    architecture: 'amd64',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
    },
    created: BUILTIN_CREATED,
    history: [
      { created: BUILTIN_CREATED, created_by: `/bin/sh -c #(nop) ADD file:${diffId.slice(7)} in / `, comment: 'berth built-in from the host busybox' },
      { created: BUILTIN_CREATED, created_by: '/bin/sh -c #(nop)  CMD ["sh"]', empty_layer: true },
    ],
    os: 'linux',
    rootfs: { type: 'layers', diff_ids: [diffId] },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, size: configBytes.length, digest: sha256Digest(configBytes) },
    layers: [{ mediaType: MediaType.dockerLayer, size: layer.length, digest: diffId }],
  };
  return { layer, diffId, config: configBytes, manifest: Buffer.from(JSON.stringify(manifest)) };
}

async function busyboxLayer(binary: Buffer, applets: string[]): Promise<Buffer> {
  const mtime = new Date(BUILTIN_CREATED);
  type Entry = { header: tar.Header | (Partial<tar.Header> & { name: string }); data?: Buffer };
  const entries: Entry[] = DIRECTORIES.map(([name, mode]) => ({ header: { name: `${name}/`, type: 'directory', mode } }));
  entries.push({ header: { name: 'bin/busybox', type: 'file', mode: 0o755 }, data: binary });
  for (const applet of applets) entries.push({ header: { name: `bin/${applet}`, type: 'symlink', linkname: 'busybox', mode: 0o777 } });
  entries.push({ header: { name: 'etc/group', type: 'file', mode: 0o644 }, data: Buffer.from(GROUP) });
  entries.push({ header: { name: 'etc/passwd', type: 'file', mode: 0o644 }, data: Buffer.from(PASSWD) });
  entries.sort((a, b) => (a.header.name < b.header.name ? -1 : a.header.name > b.header.name ? 1 : 0));

  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { header, data } of entries) {
    const full = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime, ...header, ...(data === undefined ? {} : { size: data.length }) };
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data === undefined) pack.entry(full, done);
      else pack.entry(full, data, done);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}
