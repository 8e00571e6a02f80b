/**
 * The CRI's Version, Status and ImageService against a private berthd, with images pulled from
 * Debian's docker-registry on 127.0.0.1 (pushed there by the docker CLI).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { status } from '@grpc/grpc-js';
import { cannotRun, hasDocker, NO_DOCKER, startTestDaemon, type TestDaemon } from '../harness.js';
import { registrySkipReason, startRegistry, type RunningRegistry } from '../images/registries.js';
import { criClient, rejection, type CriClient } from './cri-client.js';

const skip = cannotRun(registrySkipReason ?? (!hasDocker && NO_DOCKER));

describe('CRI: version, status and images', { skip }, () => {
  let daemon: TestDaemon;
  let registry: RunningRegistry;
  let cri: CriClient;
  before(async () => {
    daemon = await startTestDaemon();
    registry = await startRegistry();
    cri = await criClient(daemon.criSocket);
  });
  after(async () => {
    cri?.close();
    await daemon?.cleanup();
    await registry?.stop();
  });

  it('serves on a socket only root may open', async () => {
    const info = await stat(daemon.criSocket);
    assert.ok(info.isSocket());
    assert.equal(info.mode & 0o777, 0o600);
  });

  it('answers Version and Status with its conditions and handlers', async () => {
    const version = await cri.runtime.Version!({ version: 'v1' });
    assert.equal(version['runtime_name'], 'berth');
    assert.equal(version['runtime_api_version'], 'v1');
    assert.match(String(version['runtime_version']), /^\d+\.\d+\.\d+/);
    const answer = await cri.runtime.Status!({ verbose: false });
    const conditions = (answer['status'] as { conditions: Array<{ type: string; status: boolean }> }).conditions;
    assert.deepEqual(conditions.map((c) => [c.type, c.status]), [['RuntimeReady', true], ['NetworkReady', true]]);
    const handlers = (answer['runtime_handlers'] as Array<{ name: string }>).map((h) => h.name);
    assert.deepEqual(handlers, ['', 'crun', 'runc']);
    assert.deepEqual(await cri.runtime.RuntimeConfig!({}), { linux: { cgroup_driver: 'CGROUPFS' } });
  });

  it('pulls from the local registry, lists, reports and removes the image', async () => {
    const ref = `${registry.host}/cri/busybox:1`;
    assert.equal((await daemon.docker(['tag', 'busybox', ref])).exitCode, 0);
    const push = await daemon.docker(['push', ref]);
    assert.equal(push.exitCode, 0, push.stderr);
    assert.equal((await daemon.docker(['rmi', ref])).exitCode, 0);

    assert.deepEqual(await cri.image.ImageStatus!({ image: { image: ref } }), { image: null, info: {} });
    const pulled = await cri.image.PullImage!({ image: { image: ref } });
    const id = String(pulled['image_ref']);
    assert.match(id, /^sha256:[0-9a-f]{64}$/);

    const statusAnswer = await cri.image.ImageStatus!({ image: { image: ref } });
    const image = statusAnswer['image'] as { id: string; repo_tags: string[]; repo_digests: string[]; size: string };
    assert.equal(image.id, id);
    assert.ok(image.repo_tags.includes(ref), JSON.stringify(image.repo_tags));
    assert.ok(image.repo_digests.some((d) => d.startsWith(`${registry.host}/cri/busybox@sha256:`)), JSON.stringify(image.repo_digests));
    assert.ok(Number(image.size) > 0);

    const listed = (await cri.image.ListImages!({}))['images'] as Array<{ id: string }>;
    assert.ok(listed.some((i) => i.id === id));
    const filtered = (await cri.image.ListImages!({ filter: { image: { image: ref } } }))['images'] as Array<{ id: string }>;
    assert.deepEqual(filtered.map((i) => i.id), [id]);
    // docker sees what the CRI pulled.
    assert.match((await daemon.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout, new RegExp(`${registry.host}/cri/busybox:1`));

    const fs = (await cri.image.ImageFsInfo!({}))['image_filesystems'] as Array<{ fs_id: { mountpoint: string }; used_bytes: { value: string }; timestamp: string }>;
    assert.equal(fs.length, 1);
    assert.ok(fs[0]!.fs_id.mountpoint.startsWith(daemon.root));
    assert.ok(Number(fs[0]!.used_bytes.value) > 0);
    assert.ok(BigInt(fs[0]!.timestamp) > 0n);

    await cri.image.RemoveImage!({ image: { image: ref } });
    assert.deepEqual(await cri.image.ImageStatus!({ image: { image: ref } }), { image: null, info: {} });
    // Removing again is no error.
    await cri.image.RemoveImage!({ image: { image: ref } });
  });

  it('refuses a pull of an image the registry does not have, and an unknown handler, clearly', async () => {
    const missing = await rejection(cri.image.PullImage!({ image: { image: `${registry.host}/cri/nothing:1` } }));
    assert.equal(missing.code, status.NOT_FOUND, missing.details);
    const handler = await rejection(cri.image.PullImage!({ image: { image: `${registry.host}/cri/busybox:1`, runtime_handler: 'kata' } }));
    assert.equal(handler.code, status.UNIMPLEMENTED);
    assert.match(handler.details, /runtime_handler/);
  });
});
