/**
 * Every byte of stdin and stdout arrives (issue 12), process isolation: md5 round trips of 0 B,
 * 1 B, 64 KiB, 1 MiB and 16 MiB through the real docker CLI and the berth CLI (`run -i` with and
 * without --rm, `start -ai`, `attach`, `exec -i`; stdin from a file, from a pipe, and stdout),
 * five runs each of the sizes where bytes were lost, and 256 MiB once per CLI.
 */
import { after, before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';
import { KiB, MiB, makePayload, plan, RoundTripper, type Cli, type Path, type Payload } from './round-trips.js';

const PATHS: readonly Path[] = ['run', 'start', 'attach', 'exec'];
const CLIS: readonly Cli[] = ['docker', 'berth'];
const REPEATS = 5;

describe('stream round trips (process isolation)', { skip: cannotRun(!hasDocker && NO_DOCKER) }, () => {
  let daemon: TestDaemon;
  let dir: string;
  let payloads: { small: Payload[]; large: Payload[] };
  let trips: RoundTripper;
  const worker = 'rt-worker';

  before(async () => {
    daemon = await startTestDaemon();
    dir = await mkdtemp(join(tmpdir(), 'berth-streams-'));
    payloads = {
      small: [await makePayload(dir, 0), await makePayload(dir, 1)],
      large: [await makePayload(dir, 64 * KiB), await makePayload(dir, MiB), await makePayload(dir, 16 * MiB)],
    };
    await daemon.docker(['run', '-d', '--name', worker, 'busybox', 'sleep', '3600']);
    trips = new RoundTripper(daemon, { worker });
  });
  after(async () => {
    await daemon?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const cli of CLIS) {
    for (const path of PATHS) {
      it(`${cli} ${path}: every byte arrives, 0 B to 16 MiB`, async () => {
        for (const trip of plan(cli, path, payloads, REPEATS)) await trips.check(trip);
      });
    }
  }

  it('docker run -i: 64 KiB and 1 MiB five times in each direction', async () => {
    // 16 MiB goes five times through run -i above, rotating through the directions.
    for (const payload of payloads.large.filter((p) => p.sizeBytes <= MiB)) {
      for (let run = 0; run < REPEATS; run++) {
        for (const direction of ['stdin-file', 'stdin-pipe', 'stdout'] as const) {
          await trips.check({ cli: 'docker', path: 'run', direction, remove: run % 2 === 1, payload });
        }
      }
    }
  });

  it('256 MiB once per CLI: run -i and exec -i, in and out', async () => {
    const big = await makePayload(dir, 256 * MiB);
    try {
      await trips.check({ cli: 'docker', path: 'run', direction: 'stdin-file', remove: true, payload: big });
      await trips.check({ cli: 'docker', path: 'exec', direction: 'stdout', remove: false, payload: big });
      await trips.check({ cli: 'berth', path: 'run', direction: 'stdout', remove: true, payload: big });
      await trips.check({ cli: 'berth', path: 'exec', direction: 'stdin-pipe', remove: false, payload: big });
    } finally {
      await rm(big.path, { force: true });
    }
  });
});
