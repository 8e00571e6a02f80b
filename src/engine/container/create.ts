/**
 * Create: a container record and its directories, from the user's settings merged with the
 * image's; nothing runs yet. A failed create leaves no directory, volume or name claim behind.
 */
import { constants } from 'node:fs';
import { access, chmod, mkdir, rm } from 'node:fs/promises';
import { crashPoint, InvalidArgumentError, newId } from '../../common/index.js';
import { ZERO_TIME, type ContainerRecord, type ContainerSettings, type HealthcheckSettings, type HostSettings } from '../container.js';
import { resolveNetworksAtCreate, type EndpointSettingsInput } from '../container-networking.js';
import { readHostResolvConf, writeEtcFiles } from '../etc-files.js';
import { mountInputOf, resolveMounts } from '../mounts.js';
import type { EngineImage } from '../ports.js';
import { checkCreateResources, checkHostSpecificResources, NO_CGROUP_FEATURES } from '../resources.js';
import { checkLogConfig } from '../log-config.js';
import { checkProcessSettings } from '../process-settings.js';
import { findOrUndefined, resolveContainerModes } from '../shared-namespaces.js';
import { resolveLinks } from '../legacy-links.js';
import type { ContainerContext } from './context.js';
import { checkHealthcheck, mergeHealthcheck } from './health.js';
import { claimName } from './names.js';

/**
 * What a caller asks for when creating a container: the settings as the user gave them, which
 * create merges with the image's (empty strings and nulls take the image's or docker's defaults).
 */
export interface CreateContainerInput extends Omit<ContainerSettings, 'cmd' | 'entrypoint' | 'healthcheck'> {
  name: string | undefined;
  /** null: take the image's. */
  cmd: string[] | null;
  /** null: take the image's; [] or [""]: explicitly none. */
  entrypoint: string[] | null;
  /** null or absent: the image's; fields left zero take the image's too. */
  healthcheck?: HealthcheckSettings | null;
  /** `init` null: the daemon's default (`berthd --init`). */
  host: Omit<HostSettings, 'isolation' | 'isolationRequested' | 'runtime' | 'init'> & { isolation: string; runtime: string; init: boolean | null };
  /** Per-network settings (aliases, --ip, --mac-address), keyed by network name or id. */
  endpoints?: Record<string, EndpointSettingsInput>;
  /** Legacy `--link name[:alias]`s (HostConfig.Links and the endpoints' Links). */
  links?: string[];
}

/**
 * The input of a bare `docker create IMAGE`: every setting empty or docker's default, so a caller
 * that is not the Docker API (the builder, the CRI) spreads in only what it sets.
 */
export function newCreateInput(imageRef: string): CreateContainerInput {
  return {
    name: undefined,
    imageRef,
    cmd: null,
    entrypoint: null,
    env: [],
    workingDir: '',
    user: '',
    hostname: '',
    domainname: '',
    labels: {},
    tty: false,
    openStdin: false,
    stdinOnce: false,
    attachStdin: false,
    attachStdout: false,
    attachStderr: false,
    stopSignal: '',
    stopTimeoutSec: null,
    exposedPorts: {},
    volumes: {},
    host: {
      autoRemove: false,
      privileged: false,
      capAdd: [],
      capDrop: [],
      securityOpt: [],
      readonlyRootfs: false,
      runtime: '',
      isolation: '',
      networkMode: 'default',
      restartPolicy: { name: 'no', maximumRetryCount: 0 },
      memoryBytes: 0,
      memorySwapBytes: 0,
      nanoCpus: 0,
      cpuShares: 0,
      pidsLimit: null,
      shmSizeBytes: 64 * 1024 * 1024,
      binds: [],
      mountRequests: [],
      tmpfs: {},
      volumesFrom: [],
      logConfig: { type: 'json-file', config: {} },
      extraHosts: [],
      dns: [],
      dnsSearch: [],
      dnsOptions: [],
      init: false,
    },
  };
}

/** Create a container record and its directories; nothing runs yet. */
export async function create(ctx: ContainerContext, input: CreateContainerInput): Promise<{ id: string; warnings: string[] }> {
  const { options } = ctx;
  const name = await claimName(ctx, input.name);
  try {
    const image = await options.images.get(input.imageRef);
    const imageConfig = image.config.config ?? {};
    checkHealthcheck(input.healthcheck ?? undefined);
    const settings = mergeWithImage(input, imageConfig);
    const command = [...(settings.entrypoint ?? []), ...settings.cmd];
    if (command.length === 0) throw new InvalidArgumentError('No command specified');
    const host = hostSettings(ctx, input.host);
    const lookup = (ref: string): ContainerRecord | undefined => findOrUndefined((r) => ctx.store.resolve(r), ref);
    const links = resolveLinks(input.links ?? [], host, lookup);
    if (links.length > 0) host.links = links;
    checkProcessSettings(host, ctx.runtimeOf({ host }).traits, settings.hostname, settings.domainname);
    resolveContainerModes(host, lookup);
    if (host.init) await checkInit(ctx);
    resolveNetworksAtCreate(host, input.endpoints ?? {}, ctx.networking);
    const { mounts, createdVolumes } = await resolveMounts(mountInputOf(host, settings.volumes), { volumes: options.volumes, mountsOf: (ref) => ctx.store.resolve(ref).host.mounts ?? [] });
    host.mounts = mounts;
    const id = newId();
    if (settings.hostname === '') settings.hostname = id.slice(0, 12);
    const record: ContainerRecord = {
      id,
      name,
      created: ctx.nowIso(),
      imageId: image.id,
      path: command[0]!,
      args: command.slice(1),
      settings,
      host,
      state: {
        status: 'created',
        pid: 0,
        conmonPid: 0,
        exitCode: 0,
        error: '',
        oomKilled: false,
        startedAt: ZERO_TIME,
        finishedAt: ZERO_TIME,
        restartCount: 0,
      },
    };
    const paths = ctx.pathsOf(id);
    try {
      // The directories are independent; all of them are made (or failed) before going on, so
      // the removal below never races a mkdir still under way.
      const made = await Promise.allSettled([
        ...[paths.userdata, paths.work, paths.bundle].map((dir) => mkdir(dir, { recursive: true, mode: 0o700 })),
        // The overlay's root takes the upper dir's mode: it is the container's `/`, which
        // every user in the container must be able to read (a non-root --user runs `ls /`).
        ...[paths.upper, paths.merged].map(async (dir) => {
          await mkdir(dir, { recursive: true, mode: 0o755 });
          await chmod(dir, 0o755);
        }),
      ]);
      for (const result of made) if (result.status === 'rejected') throw result.reason;
      await writeEtcFiles(paths.userdata, {
        hostname: settings.hostname,
        extraHosts: host.extraHosts,
        dns: host.dns,
        dnsSearch: host.dnsSearch,
        dnsOptions: host.dnsOptions,
        hostResolvConf: await readHostResolvConf(),
      });
      crashPoint('create.dirs-made');
      // Make sure the layers are unpacked now, so a broken image fails create, not start.
      await options.images.lowerDirs(image.id);
      await ctx.store.save(record);
      crashPoint('create.recorded');
    } catch (err) {
      await rm(paths.dir, { recursive: true, force: true });
      for (const volume of createdVolumes) await options.volumes?.remove(volume).catch(() => {});
      throw err;
    }
    ctx.publish(record, 'create');
    return { id, warnings: [] };
  } finally {
    ctx.creatingNames.delete(name);
  }
}

/** `--init` needs the daemon's init binary (Debian's tini-static, `berthd --init-path`). */
async function checkInit(ctx: ContainerContext): Promise<void> {
  const path = ctx.options.init?.path;
  const isThere = path !== undefined && (await access(path, constants.X_OK).then(() => true, () => false));
  if (!isThere) {
    throw new InvalidArgumentError(`--init: the init binary ${path ?? '(none configured)'} is missing: install Debian's tini package or give berthd --init-path`, { code: 'BERTH_INVALID_SETTING' });
  }
}

/** The host settings a record keeps: isolation and runtime decided, limits checked. */
function hostSettings(ctx: ContainerContext, host: CreateContainerInput['host']): HostSettings {
  const { options } = ctx;
  const requested = host.isolation;
  const named = host.runtime;
  if (named !== '' && !options.knownRuntimes.includes(named)) {
    throw new InvalidArgumentError(`unknown or invalid runtime name: ${named}`);
  }
  const levelOf = (name: string): HostSettings['isolation'] => options.runtimes[name]?.traits.isolation ?? 'process';
  let isolation: HostSettings['isolation'];
  switch (requested.toLowerCase()) {
    case '':
    case 'default':
      // A runtime named with --runtime decides; else the daemon's --default-isolation.
      isolation = named !== '' ? levelOf(named) : (options.defaultIsolation ?? 'process');
      break;
    case 'process':
      isolation = 'process';
      break;
    case 'vm':
    case 'hyperv':
      isolation = 'vm';
      break;
    default:
      throw new InvalidArgumentError(`invalid isolation '${requested}' on linux: use process, vm, hyperv or default`);
  }
  const providers = options.knownRuntimes.filter((name) => levelOf(name) === isolation);
  if (named !== '' && levelOf(named) !== isolation) {
    throw new InvalidArgumentError(`runtime ${named} cannot run a container with isolation '${requested}'${providers.length > 0 ? `: ${isolation} containers run on ${providers.join(' or ')}` : ''}`);
  }
  // The daemon's default runtime when it gives this level, else the first runtime that does (the VM's).
  const runtime = named !== '' ? named : levelOf(options.defaultRuntime) === isolation ? options.defaultRuntime : providers[0];
  if (runtime === undefined || !options.knownRuntimes.includes(runtime)) {
    throw new InvalidArgumentError(`unknown or invalid runtime name: ${runtime ?? `(none for isolation ${isolation})`}`);
  }
  const traits = options.runtimes[runtime]?.traits;
  // A runtime whose network stack is its own (a VM has its own kernel) cannot share the host's
  // stack, nor a namespace whose interface another container uses; its eth0 is the tap-redirected one of its own.
  if (traits && !traits.sharesNetworkNamespace && (host.networkMode === 'host' || host.networkMode.startsWith('container:'))) {
    const mode = host.networkMode === 'host' ? 'host' : 'container:<id>';
    throw new InvalidArgumentError(`--network ${mode} is not supported with --isolation=${isolation}: the container has its own network stack`, { code: 'BERTH_VM_NETWORK_MODE' });
  }
  const sharesHostKernel = traits?.sharesHostKernel ?? true;
  const limits = checkCreateResources(host);
  // On its own kernel a container's limits are the guest's business: checkProcessSettings refuses these for it by name.
  if (sharesHostKernel) checkHostSpecificResources(limits, options.cgroupFeatures ?? NO_CGROUP_FEATURES);
  const log = checkLogConfig(host.logConfig.type, host.logConfig.config);
  if (host.autoRemove && host.restartPolicy.name !== 'no') {
    throw new InvalidArgumentError("can't create 'AutoRemove' container with restart policy");
  }
  // The daemon's --init applies to every container, as dockerd's: a VM's guest gets the init as a file bind like any other.
  const init = host.init ?? options.init?.isDefault ?? false;
  return { ...host, ...limits, logConfig: { type: log.driver, config: host.logConfig.config }, isolation, isolationRequested: requested, runtime, init, initRequested: host.init };
}

/** Merge the user's create settings with the image's defaults, as docker's daemon does. */
export function mergeWithImage(input: CreateContainerInput, image: NonNullable<EngineImage['config']['config']>): ContainerSettings {
  const userEntrypoint = input.entrypoint;
  const entrypointCleared = userEntrypoint !== null && (userEntrypoint.length === 0 || (userEntrypoint.length === 1 && userEntrypoint[0] === ''));
  let entrypoint: string[] | null;
  let cmd: string[];
  if (userEntrypoint !== null && !entrypointCleared) {
    entrypoint = userEntrypoint;
    cmd = input.cmd ?? [];
  } else {
    entrypoint = entrypointCleared ? null : (image.Entrypoint ?? null);
    cmd = input.cmd !== null && input.cmd.length > 0 ? input.cmd : entrypointCleared ? (input.cmd ?? []) : (image.Cmd ?? []);
  }
  const env = mergeEnv(image.Env ?? [], input.env);
  const healthcheck = mergeHealthcheck(input.healthcheck ?? null, image.Healthcheck);
  return {
    hostname: input.hostname,
    domainname: input.domainname,
    user: input.user || image.User || '',
    env,
    cmd,
    entrypoint,
    workingDir: input.workingDir || image.WorkingDir || '',
    labels: { ...(image.Labels ?? {}), ...input.labels },
    tty: input.tty,
    openStdin: input.openStdin,
    stdinOnce: input.stdinOnce,
    attachStdin: input.attachStdin,
    attachStdout: input.attachStdout,
    attachStderr: input.attachStderr,
    stopSignal: input.stopSignal || image.StopSignal || '',
    stopTimeoutSec: input.stopTimeoutSec,
    exposedPorts: { ...((image.ExposedPorts ?? {}) as Record<string, Record<string, never>>), ...input.exposedPorts },
    volumes: { ...((image.Volumes ?? {}) as Record<string, Record<string, never>>), ...input.volumes },
    imageRef: input.imageRef,
    ...(healthcheck ? { healthcheck } : {}),
  };
}

/** Image env first, then the user's; a user entry replaces the image's entry of the same name. */
export function mergeEnv(imageEnv: string[], userEnv: string[]): string[] {
  const keyOf = (entry: string): string => entry.split('=')[0] ?? entry;
  const userKeys = new Set(userEnv.map(keyOf));
  return [...imageEnv.filter((e) => !userKeys.has(keyOf(e))), ...userEnv];
}
