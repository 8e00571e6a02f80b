/**
 * Interactive sessions through a real pseudo-terminal (util-linux `script`): a shell with a
 * prompt, typed commands, the terminal size, Ctrl-C to the foreground process, the exit code,
 * and Ctrl-P Ctrl-Q detaching while the container keeps running. For docker and berth, and for
 * VM containers through docker (the pty crosses berth-vm's shim and the guest agent).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NO_DOCKER, cannotRun, DOCKER, REPO, hasDocker, startTestDaemon, type TestDaemon } from '../harness.js';

/** A program on a pty, driven like expect: wait for output, then type. */
class Terminal {
  readonly #child: ChildProcessWithoutNullStreams;
  #output = '';
  readonly #exited: Promise<number>;

  constructor(command: string, env: NodeJS.ProcessEnv) {
    // script gives the command a pty; `stty` fixes its size so the container's can be checked.
    this.#child = spawn('script', ['-qfec', `stty rows 33 cols 101; ${command}`, '/dev/null'], { env });
    this.#child.stdout.on('data', (c: Buffer) => (this.#output += c.toString()));
    this.#child.stderr.on('data', (c: Buffer) => (this.#output += c.toString()));
    this.#exited = new Promise((resolve) => this.#child.on('exit', (code) => resolve(code ?? -1)));
  }

  /** Wait until the output so far matches (bounded: a hang fails the test, it does not time it). */
  async waitFor(pattern: RegExp, what: string): Promise<void> {
    // Long enough for a VM to boot under emulation on a busy machine.
    for (let i = 0; i < 1200; i++) {
      if (pattern.test(this.#output)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`never saw ${what}; output so far:\n${this.#output}`);
  }

  /** The exit code; a session that never ends fails the test instead of hanging the suite. */
  get exited(): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<number>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`still running; output so far:\n${this.#output}`)), 60_000);
    });
    return Promise.race([this.#exited, limit]).finally(() => clearTimeout(timer));
  }

  type(text: string): void {
    this.#child.stdin.write(text);
  }

  get output(): string {
    return this.#output;
  }

  kill(): void {
    this.#child.kill('SIGKILL');
  }
}

const hasScript = existsSync('/usr/bin/script');

describe('interactive terminals', { skip: cannotRun(!hasDocker ? NO_DOCKER : !hasScript && 'no script(1)') }, () => {
  let daemon: TestDaemon;
  const terminals: Terminal[] = [];
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    for (const terminal of terminals) terminal.kill();
    await daemon?.cleanup();
  });

  function open(command: string): Terminal {
    const terminal = new Terminal(command, daemon.env);
    terminals.push(terminal);
    return terminal;
  }

  const berth = `${process.execPath} ${join(REPO, 'dist/src/bin/berth.js')}`;

  const variants = [
    { name: 'docker', cli: DOCKER, isolation: 'process' },
    { name: 'berth', cli: berth, isolation: 'process' },
    { name: 'docker-vm', cli: DOCKER, isolation: 'vm' },
  ] as const;
  for (const { name, cli, isolation: isolationName } of variants) {
    const isolation = `--isolation=${isolationName}`;
    it(`${name} run -it: prompt, typed commands, terminal size, Ctrl-C, exit code`, async () => {
      const terminal = open(`${cli} run -it --rm ${isolation} busybox sh`);
      await terminal.waitFor(/\/ # /, 'the prompt');
      terminal.type('stty size; echo typed-$((40+2))\r');
      await terminal.waitFor(/33 101\r*\n/, 'the terminal size');
      await terminal.waitFor(/typed-42/, 'the command output');
      terminal.type('sleep 1000\r');
      await new Promise((r) => setTimeout(r, 300));
      terminal.type('\x03');
      terminal.type('echo after-$((1+1))\r');
      await terminal.waitFor(/after-2/, 'the shell back after Ctrl-C');
      terminal.type('exit 3\r');
      assert.equal(await terminal.exited, 3);
    });

    it(`${name} run -it then Ctrl-P Ctrl-Q detaches and the container keeps running`, async () => {
      const container = `detach-${name}`;
      const terminal = open(`${cli} run -it --name ${container} ${isolation} busybox sh`);
      await terminal.waitFor(/\/ # /, 'the prompt');
      terminal.type('\x10\x11');
      assert.equal(await terminal.exited, 0);
      const state = await daemon.docker(['inspect', '-f', '{{.State.Running}}', container]);
      assert.equal(state.stdout.trim(), 'true');
      // exec -it into it works the same way.
      const exec = open(`${cli} exec -it ${container} sh`);
      await exec.waitFor(/\/ # /, 'the exec prompt');
      exec.type('echo in-exec-$((2+2)); exit 4\r');
      await exec.waitFor(/in-exec-4/, 'the exec output');
      assert.equal(await exec.exited, 4);
      await daemon.docker(['rm', '-f', container]);
    });

    it(`${name} attach to a running tty container: typed commands, size, Ctrl-P Ctrl-Q twice`, async () => {
      const container = `attach-${name}`;
      await daemon.docker(['run', '-dit', '--name', container, isolation, 'busybox', 'sh'], { timeoutMs: 120_000 });
      // Twice: a detach must leave the container's stdin open for the next attach.
      for (const round of [1, 2]) {
        const terminal = open(`${cli} attach ${container}`);
        // attach sizes the tty (one larger, then ours), which makes the shell redraw its prompt.
        await terminal.waitFor(/\/ # /, 'the redrawn prompt');
        terminal.type(`stty size; echo round-$((${round}+10))\r`);
        await terminal.waitFor(/33 101\r*\n/, 'the terminal size');
        await terminal.waitFor(new RegExp(`round-${round + 10}`), 'the command output');
        terminal.type('\x10\x11');
        // As docker: the detach is reported as "read escape sequence" with exit code 1.
        assert.equal(await terminal.exited, 1);
        assert.match(terminal.output, /read escape sequence/);
        const state = await daemon.docker(['inspect', '-f', '{{.State.Running}}', container]);
        assert.equal(state.stdout.trim(), 'true');
      }
      const last = open(`${cli} attach ${container}`);
      await last.waitFor(/\/ # /, 'the prompt');
      last.type('exit 9\r');
      assert.equal(await last.exited, 9);
      await daemon.docker(['rm', '-f', container]);
    });

    it(`${name} start -ai: the prompt, typed commands and the exit code`, async () => {
      const container = `start-ai-${name}`;
      await daemon.docker(['create', '-it', '--name', container, isolation, 'busybox', 'sh']);
      const terminal = open(`${cli} start -ai ${container}`);
      await terminal.waitFor(/\/ # /, 'the prompt');
      // start -ai sizes the tty only after the start returns, as docker's CLI does: on a busy
      // machine the prompt can come first, so wait (bounded) for the size to arrive.
      terminal.type('for i in $(seq 100); do stty size >/dev/null 2>&1 && break; sleep 0.1; done; stty size; echo started-$((5+5))\r');
      await terminal.waitFor(/33 101\r*\n/, 'the terminal size');
      await terminal.waitFor(/started-10/, 'the command output');
      terminal.type('exit 6\r');
      assert.equal(await terminal.exited, 6);
      await daemon.docker(['rm', '-f', container]);
    });
  }

  it('attach to a stopped container is refused as docker refuses it', async () => {
    await daemon.docker(['create', '--name', 'attach-stopped', 'busybox', 'true']);
    for (const run of [(a: string[]) => daemon.docker(a), (a: string[]) => daemon.berth(a)]) {
      const result = await run(['attach', 'attach-stopped']);
      assert.equal(result.exitCode, 1);
      assert.match(result.stderr, /You cannot attach to a stopped container, start it first/);
    }
    await daemon.docker(['rm', 'attach-stopped']);
  });

  it('berth attach without a tty: output, signals proxied, the exit code', async () => {
    await daemon.docker(['run', '-d', '--name', 'attach-plain', 'busybox', 'sh', '-c', 'trap "echo got-int; exit 7" INT; while true; do echo tick; sleep 0.2; done']);
    const child = spawn(process.execPath, [join(REPO, 'dist/src/bin/berth.js'), 'attach', 'attach-plain'], { env: daemon.env });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    for (let i = 0; i < 300 && !output.includes('tick'); i++) await new Promise((r) => setTimeout(r, 50));
    assert.match(output, /tick/);
    child.kill('SIGINT');
    assert.equal(await exited, 7);
    assert.match(output, /got-int/);
    await daemon.docker(['rm', '-f', 'attach-plain']);
  });
});
