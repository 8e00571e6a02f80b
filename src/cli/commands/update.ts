/** `berth update`: change the limits and restart policy of containers, printing each reference. */
import { Command } from 'commander';
import type { ContainerUpdateRequest } from '../../api/wire/index.js';
import { parseBytes } from '../../common/index.js';
import type { CliContext } from '../context.js';
import { write } from '../context.js';
import { UsageError } from '../exit.js';
import { KERNEL_MEMORY_NOT_SENT } from '../opts/flag-values.js';
import { forEachRef } from './multi.js';

interface UpdateFlags {
  memory?: string;
  memorySwap?: string;
  memoryReservation?: string;
  cpus?: string;
  cpuShares?: string;
  cpusetCpus?: string;
  pidsLimit?: string;
  restart?: string;
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuRtPeriod?: string;
  cpuRtRuntime?: string;
  blkioWeight?: string;
  cpusetMems?: string;
  kernelMemory?: string;
}

function bytes(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (value === '-1' && flag === '--memory-swap') return -1;
  try {
    return parseBytes(value);
  } catch {
    throw new UsageError(`invalid argument "${value}" for "${flag}" flag: invalid size: '${value}'`);
  }
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[+-]?\d+$/.test(value)) throw new UsageError(`invalid argument "${value}" for "${flag}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`);
  return Number(value);
}

function restartPolicy(value: string): NonNullable<ContainerUpdateRequest['RestartPolicy']> {
  const [name = '', count, ...extra] = value.split(':');
  if (extra.length > 0 || !['no', 'always', 'unless-stopped', 'on-failure'].includes(name)) {
    throw new UsageError(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (count !== undefined && (name !== 'on-failure' || !/^\d+$/.test(count))) {
    throw new UsageError(`invalid restart policy format: maximum retry count cannot be used with restart policy '${name}'`);
  }
  return { Name: name as 'no' | 'always' | 'unless-stopped' | 'on-failure', MaximumRetryCount: count === undefined ? 0 : Number(count) };
}

/** The update body from the flags; UsageError when none was given or one is malformed. */
export function toUpdateBody(flags: UpdateFlags): ContainerUpdateRequest {
  const body: ContainerUpdateRequest = {};
  const memory = bytes(flags.memory, '-m, --memory');
  const swap = bytes(flags.memorySwap, '--memory-swap');
  const reservation = bytes(flags.memoryReservation, '--memory-reservation');
  if (memory !== undefined) body.Memory = memory;
  if (swap !== undefined) body.MemorySwap = swap;
  if (reservation !== undefined) body.MemoryReservation = reservation;
  if (flags.cpus !== undefined) {
    if (!/^\d*\.?\d+$/.test(flags.cpus)) throw new UsageError(`invalid argument "${flags.cpus}" for "--cpus" flag: failed to parse ${flags.cpus} as a rational number`);
    body.NanoCpus = Math.round(Number(flags.cpus) * 1e9);
  }
  const shares = integer(flags.cpuShares, '-c, --cpu-shares');
  if (shares !== undefined) body.CpuShares = shares;
  if (flags.cpusetCpus !== undefined) body.CpusetCpus = flags.cpusetCpus;
  const pids = integer(flags.pidsLimit, '--pids-limit');
  if (pids !== undefined) body.PidsLimit = pids;
  if (flags.restart !== undefined) body.RestartPolicy = restartPolicy(flags.restart);
  const numbers = [
    ['CpuPeriod', integer(flags.cpuPeriod, '--cpu-period')],
    ['CpuQuota', integer(flags.cpuQuota, '--cpu-quota')],
    ['CpuRealtimePeriod', integer(flags.cpuRtPeriod, '--cpu-rt-period')],
    ['CpuRealtimeRuntime', integer(flags.cpuRtRuntime, '--cpu-rt-runtime')],
    ['BlkioWeight', integer(flags.blkioWeight, '--blkio-weight')],
  ] as const;
  for (const [field, value] of numbers) if (value !== undefined) body[field] = value;
  // Sent for the daemon to refuse by name, as it cannot honour it.
  if (flags.cpusetMems !== undefined) body.CpusetMems = flags.cpusetMems;
  // As docker's CLI on API 1.42+: a kernel memory limit is no longer sent; unlike it, berth says so.
  if (bytes(flags.kernelMemory, '--kernel-memory') !== undefined && Object.keys(body).length === 0) {
    throw new UsageError(`${KERNEL_MEMORY_NOT_SENT}; nothing to update`);
  }
  if (Object.keys(body).length === 0) throw new UsageError('you must provide one or more flags when using this command');
  return body;
}

/** Build the update command. */
export function build(ctx: CliContext): Command {
  return new Command()
    .description('Update configuration of one or more containers')
    .usage('[OPTIONS] CONTAINER [CONTAINER...]')
    .argument('<containers...>')
    .option('-m, --memory <bytes>', 'Memory limit')
    .option('--memory-reservation <bytes>', 'Memory soft limit')
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: -1 to enable unlimited swap")
    .option('--cpus <decimal>', 'Number of CPUs')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)')
    .option('--cpuset-cpus <list>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)')
    .option('--restart <policy>', 'Restart policy to apply when a container exits')
    .option('--blkio-weight <uint16>', 'Block IO (relative weight), between 10 and 1000, or 0 to disable')
    .option('--cpu-period <int>', 'Limit CPU CFS (Completely Fair Scheduler) period')
    .option('--cpu-quota <int>', 'Limit CPU CFS (Completely Fair Scheduler) quota')
    .option('--cpu-rt-period <int>', 'Limit the CPU real-time period in microseconds')
    .option('--cpu-rt-runtime <int>', 'Limit the CPU real-time runtime in microseconds')
    .option('--cpuset-mems <list>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('--kernel-memory <bytes>', 'Kernel memory limit (deprecated)')
    .action(async (refs: string[], flags: UpdateFlags) => {
      const body = toUpdateBody(flags);
      if (flags.kernelMemory !== undefined) await write(ctx.err, `WARNING: ${KERNEL_MEMORY_NOT_SENT}; the limit was discarded\n`);
      const client = await ctx.client();
      await forEachRef(ctx, refs, async (ref) => {
        const result = await client.containerUpdate(ref, body);
        for (const warning of result?.Warnings ?? []) await write(ctx.err, `${warning}\n`);
      });
    });
}
