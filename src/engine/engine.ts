/**
 * The engine as the API sees it: containers, images and the facts `info`/`version` report.
 * Image removal and pruning are checked against the containers that use an image here,
 * because only the engine knows both.
 */
import { isRunningStatus } from './container.js';
import type { ContainerService } from './container-service.js';
import type { ExecService } from './exec-service.js';
import type { EventBus } from './events.js';
import type { ContainersUsing, ImageStorePort } from './ports.js';
import type { VolumeManager } from './volumes.js';
import type { NetworkManager } from './networks.js';
import type { SystemCheckReport, SystemChecker } from './system-check.js';

/** Static facts about the daemon for `/info` and `/version`. */
export interface DaemonFacts {
  version: string;
  apiVersion: string;
  minApiVersion: string;
  root: string;
  execRoot: string;
  defaultRuntime: string;
  runtimes: Record<string, string>;
  cgroupVersion: '1' | '2';
  cgroupDriver: string;
  kernelVersion: string;
  operatingSystem: string;
  hostname: string;
  cpus: number;
  memoryBytes: number;
  startedAt: string;
  defaultIsolation: string;
  /** VM isolation on this host; settles once known (finding it may take a KVM probe boot). */
  vm?: Promise<VmFacts>;
}

/** VM isolation on this host, as `info` reports it. */
export interface VmFacts {
  /** `kvm` or `tcg`; '' when VM containers cannot run here. */
  accelerator: string;
  /** Why that accelerator (forced, no /dev/kvm, the probe's answer), or what is missing. */
  reason: string;
  /** The guest kernel's release and flavor, e.g. `6.1.192 (berth)`; '' without a kernel. */
  guestKernel: string;
}

export class Engine {
  readonly containers: ContainerService;
  readonly execs: ExecService;
  readonly images: ImageStorePort;
  readonly events: EventBus;
  readonly facts: DaemonFacts;
  /** Undefined when the daemon was built without a volume store. */
  readonly volumes: VolumeManager | undefined;
  /** Undefined when the daemon was built without a network service. */
  readonly networks: NetworkManager | undefined;

  readonly #checker: SystemChecker | undefined;

  constructor(options: { containers: ContainerService; execs: ExecService; images: ImageStorePort; events: EventBus; facts: DaemonFacts; volumes?: VolumeManager; networks?: NetworkManager; checker?: SystemChecker }) {
    this.#checker = options.checker;
    this.volumes = options.volumes;
    this.networks = options.networks;
    this.containers = options.containers;
    this.execs = options.execs;
    this.images = options.images;
    this.events = options.events;
    this.facts = options.facts;
    // An image `rmi -f` kept for the stopped containers using it goes with the last of them.
    this.events.subscribe((event) => {
      if (event.type === 'container' && event.action === 'destroy') void this.releaseHeldImages();
    });
  }

  /** Delete the images `rmi -f` kept only for containers that are gone (also at start, after recovery). */
  async releaseHeldImages(): Promise<void> {
    // No event: the `delete` was announced by the rmi. A failure here is retried at the next start.
    await this.images.releaseHeldImages(this.containersUsing).catch(() => []);
  }

  /** `berth system check`: what interrupted operations left behind; nothing to check without a checker. */
  async check(): Promise<SystemCheckReport> {
    if (this.#checker) return this.#checker();
    return { containersChecked: 0, imagesChecked: 0, problems: [] };
  }

  /** Which containers use an image, for removal checks. */
  readonly containersUsing: ContainersUsing = (imageId) =>
    this.containers
      .all()
      .filter((c) => c.imageId === imageId)
      .map((c) => ({ id: c.id, isRunning: isRunningStatus(c.state.status) }));

  async removeImage(ref: string, options: { force: boolean; noPrune: boolean }): Promise<Array<{ untagged?: string; deleted?: string }>> {
    // docker's untag event names the image by its ID, the reference in its `name` attribute.
    const imageId = await this.images.get(ref).then((image) => image.id, () => undefined);
    const result = await this.images.remove(ref, options, this.containersUsing);
    for (const item of result) {
      if (item.untagged) this.events.publish('image', 'untag', imageId ?? item.untagged, { name: item.untagged });
      if (item.deleted) this.events.publish('image', 'delete', item.deleted, { name: item.deleted });
    }
    return result;
  }

  async pruneImages(options: { all: boolean; untilMs?: number; labels?: string[]; excludeLabels?: string[] }): Promise<{ deleted: Array<{ untagged?: string; deleted?: string }>; spaceReclaimedBytes: number }> {
    return this.images.prune(options, this.containersUsing);
  }
}
