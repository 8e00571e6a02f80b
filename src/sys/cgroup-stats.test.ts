import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cgroupDirsFromProcFile, parseFlatKeyed, parseNetDev, parseProcStat, parseV1Blkio, parseV2IoStat } from './cgroup-stats.js';

test('cgroupDirsFromProcFile maps v1 controllers (co-mounted too) and the unified one', () => {
  const dirs = cgroupDirsFromProcFile('5:cpu,cpuacct:/berth/a\n4:memory:/berth/a\n0::/berth/a\n', '/sys/fs/cgroup', false);
  assert.equal(dirs.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct/berth/a');
  assert.equal(dirs.get('memory'), '/sys/fs/cgroup/memory/berth/a');
  assert.equal(dirs.get(''), '/sys/fs/cgroup/unified/berth/a');
  assert.equal(cgroupDirsFromProcFile('0::/berth/a\n', '/sys/fs/cgroup', true).get(''), '/sys/fs/cgroup/berth/a');
});

test('stat parsers read memory.stat, blkio, io.stat, /proc/stat and net/dev', () => {
  assert.deepEqual(parseFlatKeyed('cache 4096\nrss 8192\n'), { cache: 4096, rss: 8192 });
  assert.deepEqual(parseV1Blkio('8:0 Read 512\n8:0 Write 1024\nTotal 1536\n'), [
    { major: 8, minor: 0, op: 'Read', value: 512 },
    { major: 8, minor: 0, op: 'Write', value: 1024 },
  ]);
  const io = parseV2IoStat('8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n');
  assert.deepEqual(io.serviceBytes.map((e) => [e.op, e.value]), [['read', 10], ['write', 20]]);
  assert.deepEqual(io.serviced.map((e) => [e.op, e.value]), [['read', 1], ['write', 2]]);
  const host = parseProcStat('cpu  100 0 50 800 10 0 0 0 5 0\ncpu0 50 0 25 400 5 0 0 0 0 0\ncpu1 50 0 25 400 5 0 0 0 0 0\n');
  assert.equal(host.onlineCpus, 2);
  assert.equal(host.systemNs, 960 * 10_000_000);
  const net = parseNetDev('Inter-|   Receive\n face |bytes\n    lo: 100 2 0 0 0 0 0 0 100 2 0 0 0 0 0 0\n  eth0: 5 1 0 0 0 0 0 0 7 1 0 0 0 0 0 0\n');
  assert.equal(net['eth0']?.rxBytes, 5);
  assert.equal(net['eth0']?.txBytes, 7);
  assert.equal(net['lo']?.rxPackets, 2);
});
