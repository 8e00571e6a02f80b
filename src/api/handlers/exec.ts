/**
 * Exec endpoints: create a session, start it (hijacked unless detached), resize its tty,
 * inspect it for the exit code the CLI reports.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DEFAULT_DETACH_KEYS, frame, isShareableConnection, messageOf, parseDetachKeys, STREAM_STDERR } from '../../common/index.js';
import type { Engine, ExecProcess } from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import type { Router } from '../router.js';
import { execCreateRequestSchema, execStartRequestSchema } from '../wire/index.js';
import { compareApiVersions } from '../version.js';
import { handOverClientInput, relayClientInput, relayOutputToClient } from './session-relay.js';

export function addExecRoutes(router: Router, engine: Engine): void {
  const execs = engine.execs;

  router.add('POST', '/containers/{id}/exec', async (req) => {
    const body = await req.json(execCreateRequestSchema);
    if (body.DetachKeys) parseDetachKeys(body.DetachKeys);
    const size = body.ConsoleSize;
    const id = execs.create(req.param('id'), {
      cmd: body.Cmd,
      env: body.Env ?? [],
      workingDir: body.WorkingDir ?? '',
      user: body.User ?? '',
      tty: body.Tty ?? false,
      attachStdin: body.AttachStdin ?? false,
      attachStdout: body.AttachStdout ?? true,
      attachStderr: body.AttachStderr ?? true,
      privileged: body.Privileged ?? false,
      detachKeys: body.DetachKeys ?? '',
      consoleSize: size && size[0]! > 0 ? { height: size[0]!, width: size[1]! } : undefined,
    });
    return { status: 201, body: { Id: id } };
  });

  router.add('POST', '/exec/{id}/start', async (req, res) => startExec(engine, req, res));

  router.add('POST', '/exec/{id}/resize', async (req) => {
    await execs.resize(req.param('id'), req.int('h') ?? 0, req.int('w') ?? 0);
    return { status: 200 };
  });

  router.add('GET', '/exec/{id}/json', async (req) => {
    const session = execs.get(req.param('id'));
    const options = session.options;
    return {
      body: {
        ID: session.id,
        Running: session.isRunning,
        ExitCode: session.exitCode,
        ProcessConfig: { tty: options.tty, entrypoint: options.cmd[0], arguments: options.cmd.slice(1), privileged: options.privileged, user: options.user },
        OpenStdin: options.attachStdin,
        OpenStderr: options.attachStderr,
        OpenStdout: options.attachStdout,
        CanRemove: !session.isRunning && session.hasStarted,
        ContainerID: session.containerId,
        DetachKeys: options.detachKeys,
        Pid: session.pid,
      },
    };
  });
}

async function startExec(engine: Engine, req: ApiRequest, res: ServerResponse): Promise<undefined> {
  const body = await req.json(execStartRequestSchema);
  const session = engine.execs.get(req.param('id'));
  const tty = body.Tty ?? session.options.tty;
  const size = body.ConsoleSize;
  const consoleSize = size && size[0]! > 0 ? { height: size[0]!, width: size[1]! } : undefined;
  const detachKeys = parseDetachKeys(session.options.detachKeys || DEFAULT_DETACH_KEYS);

  if (body.Detach) {
    const handle = await engine.execs.start(session.id, { tty, ...(consoleSize ? { consoleSize } : {}) });
    // Nobody reads a detached exec's output: drain it so the process never blocks on a full pipe.
    handle.output.resume();
    res.writeHead(200, { 'Content-Length': 0 }).end();
    return undefined;
  }

  let out: Duplex | ServerResponse;
  const contentType = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  if (req.hijack) {
    let head = 'HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n';
    if (compareApiVersions(req.version, '1.42') >= 0) head += `Content-Type: ${contentType}\r\n`;
    req.hijack.socket.write(head + '\r\n');
    out = req.hijack.socket;
  } else {
    res.writeHead(200, { 'Content-Type': contentType });
    res.flushHeaders();
    out = res;
  }

  // Without a tty stdin needs no detach-key filter, so the helper reads it from the client's
  // connection itself, with berthd off the data path.
  const client = req.hijack?.socket;
  const stdinFromClient = session.options.attachStdin && !tty && isShareableConnection(client);
  let handle: ExecProcess;
  try {
    handle = await engine.execs.start(session.id, { tty, ...(consoleSize ? { consoleSize } : {}), ...(stdinFromClient ? { client, stdinFromClient } : {}) });
  } catch (err) {
    // As dockerd: once the connection is upgraded, the failure goes down the stream.
    const text = Buffer.from(`${messageOf(err)}\r\n`);
    if (!out.destroyed) out.write(tty ? text : frame(STREAM_STDERR, text));
    out.end();
    return undefined;
  }

  let detached: Promise<void> | undefined;
  if (req.hijack && handle.input && stdinFromClient && isShareableConnection(client)) {
    handOverClientInput(client, req.hijack.head, handle.input);
  } else if (req.hijack && handle.input) {
    // Detach keys only with a tty, as docker: without one, stdin is relayed byte for byte.
    detached = relayClientInput(req.hijack.socket, req.hijack.head, handle.input, tty ? detachKeys : undefined);
  } else if (req.hijack) {
    req.hijack.socket.resume();
  }
  let wasDetached = false;
  let isGone = false;
  void detached?.then(() => (wasDetached = true));
  req.signal.addEventListener('abort', () => (isGone = true), { once: true });
  await relayOutputToClient(handle.output, out, { signal: req.signal, ...(detached ? { stop: detached } : {}) });
  if (wasDetached || isGone || req.signal.aborted) {
    // The client left or pressed the detach keys: stop relaying, the process runs on.
    handle.stopRelay();
    out.end();
    return undefined;
  }
  // The CLI inspects the exec for its exit code right after the stream ends: record it first.
  await handle.exited;
  out.end();
  if (req.hijack && !req.hijack.socket.destroyed) req.hijack.socket.unpipe().resume();
  return undefined;
}
