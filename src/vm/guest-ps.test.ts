import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatGuestProcesses, namesFromIdFile, parseGuestProcessList, psColumns } from './guest-ps.js';

// As the agent sends it: pid ppid uid gid state cpu-ticks start-ticks tty_nr vsz-KiB rss-KiB comm args.
const LISTING = [
  'uptime=100.00 memtotal_kb=100000',
  '30\t29\t0\t0\tS\t50\t9000\t0\t2260\t448\tping\tping -c 1000 127.0.0.1',
  '29\t1\t1000\t1000\tS\t0\t5000\t34816\t2260\t1000\tsleep\tsleep 1000',
  '31\t29\t0\t0\tZ\t0\t9500\t0\t0\t0\tsh\t',
  '',
].join('\n');

describe('guest ps', () => {
  const list = parseGuestProcessList(LISTING);
  // 12:00:00 local time; the guest has been up 100 s (ping: 0.5 s of CPU in its 10 s: C is 5).
  const now = new Date(2026, 10, 23, 12, 0, 0).getTime();
  const ctx = { nowMs: now, userNames: namesFromIdFile('root:x:0:0::/root:/bin/sh\nwww:x:1000:1000::/:/bin/sh\n'), groupNames: new Map<number, string>() };

  it('parses the listing, sorted by pid', () => {
    assert.equal(list.uptimeSec, 100);
    assert.deepEqual(list.processes.map((p) => p.pid), [29, 30, 31]);
    assert.equal(list.processes[1]!.args, 'ping -c 1000 127.0.0.1');
  });

  it('prints -ef as procps does: user names, start time, tty, [comm] for no command line', () => {
    assert.equal(formatGuestProcesses(list, ['-ef'], ctx), [
      'UID  PID PPID C STIME TTY       TIME CMD',
      'www   29    1 0 11:59 pts/0 00:00:00 sleep 1000',
      'root  30   29 5 11:59 ?     00:00:00 ping -c 1000 127.0.0.1',
      'root  31   29 0 11:59 ?     00:00:00 [sh]',
      '',
    ].join('\n'));
  });

  it('honours -o lists with headers of its own and refuses unknown fields', () => {
    assert.equal(formatGuestProcesses(list, ['-o', 'pid,comm=NAME', '-o', 'stat'], ctx), 'PID NAME  STAT\n 29 sleep S\n 30 ping  S\n 31 sh    Z\n');
    assert.deepEqual(psColumns(['aux']).map((c) => c.header), ['USER', 'PID', '%CPU', '%MEM', 'VSZ', 'RSS', 'TTY', 'STAT', 'START', 'TIME', 'COMMAND']);
    assert.deepEqual(psColumns(['-eo', 'pid,args']).map((c) => c.header), ['PID', 'COMMAND']);
    assert.throws(() => psColumns(['-o', 'nope']), /unknown user-defined format specifier "nope"/);
    assert.throws(() => psColumns(['--sort=pid']), /unsupported option/);
  });
});
