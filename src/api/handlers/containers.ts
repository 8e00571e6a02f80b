/**
 * Container endpoints: create, list, inspect, start, stop, kill, restart, wait, attach,
 * logs, top, remove, prune.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DEFAULT_DETACH_KEYS, frame, InvalidArgumentError, isShareableConnection, messageOf, parseDetachKeys, parseTimestampNs, STREAM_STDERR, STREAM_STDOUT } from '../../common/index.js';
import type { AttachSession, Engine, WaitCondition } from '../../engine/index.js';
import type { ApiRequest } from '../request.js';
import type { Router } from '../router.js';
import { fromDockerCreate, kernelMemoryWarnings, toDockerInspect, toDockerSummary } from '../translate/index.js';
import { containerCreateRequestSchema, type ContainerWaitResponse } from '../wire/index.js';
import { compareApiVersions } from '../version.js';
import { containerInspectFor } from '../version-shapes.js';
import { attachWebSocket } from './attach-websocket.js';
import { FrameStreamFilter } from './frame-stream-filter.js';
import { handOverClientInput, relayClientInput, relayOutputToClient } from './session-relay.js';

const WAIT_CONDITIONS: readonly WaitCondition[] = ['not-running', 'next-exit', 'removed'];

export function addContainerRoutes(router: Router, engine: Engine): void {
  const containers = engine.containers;

  router.add('POST', '/containers/create', async (req) => {
    const body = await req.json(containerCreateRequestSchema);
    const { id, warnings } = await containers.create(fromDockerCreate(body, req.string('name')));
    return { status: 201, body: { Id: id, Warnings: [...kernelMemoryWarnings(req.version, body.HostConfig), ...warnings] } };
  });

  router.add('GET', '/containers/json', async (req) => {
    const records = await containers.list({ all: req.bool('all'), limit: req.int('limit') ?? -1, filters: req.filters() });
    return { body: records.map(toDockerSummary) };
  });

  router.add('POST', '/containers/prune', async (req) => {
    const result = await containers.prune(req.filters());
    return { body: { ContainersDeleted: result.deleted.length > 0 ? result.deleted : null, SpaceReclaimed: result.spaceReclaimedBytes } };
  });

  router.add('GET', '/containers/{id}/json', async (req) => {
    const record = containers.get(req.param('id'));
    const paths = containers.pathsOf(record.id);
    const lowerDirs = await engine.images.lowerDirs(record.imageId).catch(() => []);
    const reportsAccelerator = containers.runtimeFor(record).traits.acceleratorAnnotation !== undefined;
    return { body: containerInspectFor(req.version, toDockerInspect(record, { ...paths, lowerDirs }, { reportsAccelerator })) };
  });

  router.add('POST', '/containers/{id}/start', async (req) => {
    await containers.start(req.param('id'));
    return { status: 204 };
  });

  router.add('POST', '/containers/{id}/stop', async (req) => {
    const signal = req.string('signal');
    const timeoutSec = req.int('t');
    await containers.stop(req.param('id'), { ...(signal ? { signal } : {}), ...(timeoutSec !== undefined ? { timeoutSec } : {}) });
    return { status: 204 };
  });

  router.add('POST', '/containers/{id}/restart', async (req) => {
    const signal = req.string('signal');
    const timeoutSec = req.int('t');
    await containers.restart(req.param('id'), { ...(signal ? { signal } : {}), ...(timeoutSec !== undefined ? { timeoutSec } : {}) });
    return { status: 204 };
  });

  router.add('POST', '/containers/{id}/kill', async (req) => {
    await containers.kill(req.param('id'), req.string('signal') || 'SIGKILL');
    return { status: 204 };
  });

  router.add('DELETE', '/containers/{id}', async (req) => {
    await containers.remove(req.param('id'), { force: req.bool('force'), removeVolumes: req.bool('v') });
    return { status: 204 };
  });

  router.add('GET', '/containers/{id}/top', async (req) => {
    const result = await containers.top(req.param('id'), req.string('ps_args') ?? '');
    return { body: { Titles: result.titles, Processes: result.processes } };
  });

  router.add('POST', '/containers/{id}/wait', async (req, res) => {
    const condition = (req.string('condition') || 'not-running') as WaitCondition;
    if (!WAIT_CONDITIONS.includes(condition)) throw new InvalidArgumentError(`invalid condition: "${condition}"`);
    // Register the waiter before answering, so an exit right after the headers is not missed.
    const done = containers.wait(req.param('id'), condition);
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    const result = await Promise.race([done, abortPromise(req.signal)]);
    if (result === undefined) return undefined;
    const body: ContainerWaitResponse = { StatusCode: result.statusCode };
    if (result.error !== undefined) body.Error = { Message: result.error };
    res.end(JSON.stringify(body) + '\n');
    return undefined;
  });

  router.add('POST', '/containers/{id}/attach', async (req, res) => attach(engine, req, res));
  router.add('GET', '/containers/{id}/attach/ws', async (req) => attachWebSocket(engine, req));

  router.add('POST', '/containers/{id}/resize', async (req) => {
    await containers.resize(req.param('id'), req.int('h') ?? 0, req.int('w') ?? 0);
    return { status: 200 };
  });

  router.add('GET', '/containers/{id}/logs', async (req, res) => logs(engine, req, res));
}

function abortPromise(signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(undefined);
    signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
}

/**
 * `POST /containers/{id}/attach`. With an upgrade the connection is hijacked (101) and
 * carries the container's stdio; before start the session opens at start, so nothing is lost.
 * `logs=1` replays the log first; `stdout`/`stderr` choose the streams (a tty has only stdout).
 */
async function attach(engine: Engine, req: ApiRequest, res: ServerResponse): Promise<undefined> {
  const containers = engine.containers;
  const record = containers.get(req.param('id'));
  const wantsStdin = req.bool('stdin');
  const wantsStdout = req.bool('stdout');
  const wantsStderr = req.bool('stderr');
  if (!req.bool('stream') && !req.bool('logs')) throw new InvalidArgumentError('at least one of stream or logs must be set');
  const tty = record.settings.tty;
  const detachKeys = parseDetachKeys(req.string('detachKeys') || DEFAULT_DETACH_KEYS);
  const contentType = tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
  // Without a tty stdin needs no detach-key filter, so the helper reads it from the client's
  // connection itself, with berthd off the data path.
  const stdinFromClient = wantsStdin && !tty && isShareableConnection(req.hijack?.socket);
  let out: Duplex | ServerResponse;
  // dockerode sends its options as a JSON body; dockerd drops an attach's body, and it must not reach stdin.
  if (req.hijack) await req.body();
  if (req.hijack) {
    const socket = req.hijack.socket;
    let head = 'HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n';
    if (compareApiVersions(req.version, '1.42') >= 0) head += `Content-Type: ${contentType}\r\n`;
    socket.write(head + '\r\n');
    out = socket;
  } else {
    res.writeHead(200, { 'Content-Type': contentType });
    res.flushHeaders();
    out = res;
  }
  let session: AttachSession | undefined;
  try {
    if (req.bool('logs') && (wantsStdout || wantsStderr)) await replayLogs(engine, record.id, { tty, stdout: wantsStdout, stderr: wantsStderr }, out, req.signal);
    // The helper shares the client's socket so a client that went away ends it at once.
    const request = { stdin: wantsStdin, ...(req.hijack ? { client: req.hijack.socket } : {}), ...(stdinFromClient ? { stdinFromClient } : {}) };
    const running = record.state.status === 'running' || record.state.status === 'paused';
    if (!req.bool('stream') || out.destroyed) session = undefined;
    else if (running) session = await containers.attach(record.id, request).then((r) => r.session);
    else session = await containers.attachAtStart(record.id, request, req.signal);
  } catch (err) {
    writeSystemError(out, tty, messageOf(err));
  }
  if (!session) {
    out.end();
    return undefined;
  }
  const active = session;
  let detached: Promise<void> | undefined;
  if (req.hijack && active.input && stdinFromClient && isShareableConnection(req.hijack.socket)) {
    handOverClientInput(req.hijack.socket, req.hijack.head, active.input);
  } else if (req.hijack && active.input && wantsStdin) {
    // The detach keys end this session only (the container keeps running), and only with a tty:
    // without one, stdin is the container's data, byte for byte, as docker relays it.
    detached = relayClientInput(req.hijack.socket, req.hijack.head, active.input, tty ? detachKeys : undefined);
  } else if (req.hijack) {
    // Read (and drop) what the client sends, so its close is seen and our end() closes the socket.
    req.hijack.socket.resume();
  }
  // Without a tty the helper's output is multiplexed: drop the frames of streams not asked for.
  // With a tty everything is stdout.
  let output: NodeJS.ReadableStream = active.output;
  const discardAll = tty ? !wantsStdout : !wantsStdout && !wantsStderr;
  if (!tty && !discardAll && !(wantsStdout && wantsStderr)) output = active.output.pipe(new FrameStreamFilter([wantsStdout ? STREAM_STDOUT : STREAM_STDERR]));
  await relayOutputToClient(output, out, { signal: req.signal, discard: discardAll, ...(detached ? { stop: detached } : {}) });
  active.close();
  out.end();
  // What the client still sends after the session is read and dropped, so its close is seen.
  if (req.hijack && !req.hijack.socket.destroyed) req.hijack.socket.unpipe().resume();
  return undefined;
}

/** Write the container's log so far, as `GET /logs` would, before an attach streams. */
async function replayLogs(engine: Engine, id: string, options: { tty: boolean; stdout: boolean; stderr: boolean }, out: Duplex | ServerResponse, signal: AbortSignal): Promise<void> {
  const { entries } = engine.containers.logs(id, { follow: false, tailLines: undefined, sinceNs: undefined, untilNs: undefined, stdout: options.stdout, stderr: options.stderr }, signal);
  for await (const entry of entries) {
    if (out.destroyed) return;
    out.write(options.tty ? entry.data : frame(entry.stream === 'stderr' ? STREAM_STDERR : STREAM_STDOUT, entry.data));
  }
}

function writeSystemError(out: Duplex | ServerResponse, tty: boolean, message: string): void {
  if (out.destroyed) return;
  out.write(tty ? Buffer.from(message + '\n') : frame(3, Buffer.from(message + '\n')));
}

/** docker's logs `since`/`until` in nanoseconds (common/timestamp.ts; `0` or empty: none). */
export function parseLogTime(value: string | undefined): bigint | undefined {
  if (value === undefined || value === '' || value === '0') return undefined;
  return parseTimestampNs(value);
}

/** `GET /containers/{id}/logs`: conmon's log file, framed as docker frames it. */
async function logs(engine: Engine, req: ApiRequest, res: ServerResponse): Promise<undefined> {
  const stdout = req.bool('stdout');
  const stderr = req.bool('stderr');
  if (!stdout && !stderr) throw new InvalidArgumentError('You must choose at least one stream');
  const tailText = req.string('tail') ?? 'all';
  let tailLines: number | undefined;
  if (tailText !== 'all' && tailText !== '') {
    tailLines = Number(tailText);
    if (!Number.isInteger(tailLines) || tailLines < 0) tailLines = undefined;
  }
  const timestamps = req.bool('timestamps');
  const { tty, entries } = engine.containers.logs(
    req.param('id'),
    { follow: req.bool('follow'), tailLines, sinceNs: parseLogTime(req.string('since')), untilNs: parseLogTime(req.string('until')), stdout, stderr },
    req.signal,
  );
  res.writeHead(200, {});
  res.flushHeaders();
  try {
    for await (const entry of entries) {
      if (res.destroyed) break;
      const payload = timestamps ? Buffer.concat([Buffer.from(toDockerTimestamp(entry.timestamp) + ' '), entry.data]) : entry.data;
      res.write(tty ? payload : frame(entry.stream === 'stderr' ? STREAM_STDERR : STREAM_STDOUT, payload));
    }
  } catch (err) {
    if (!res.destroyed) res.write(frame(3, Buffer.from(messageOf(err) + '\n')));
  }
  res.end();
  return undefined;
}

/** conmon writes `2024-01-02T03:04:05.123456789+00:00`; docker prints `...Z` in UTC with nanoseconds. */
function toDockerTimestamp(timestamp: string): string {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(timestamp);
  if (!match) return timestamp;
  if (match[3] === 'Z' || match[3] === '+00:00') return `${match[1]}${(match[2] ?? '.').padEnd(10, '0')}Z`;
  const date = new Date(`${match[1]}${match[3]}`);
  return date.toISOString().replace(/\.\d{3}Z$/, `${(match[2] ?? '.').padEnd(10, '0')}Z`);
}
