/** The exec calls of the Engine API client: create, start (detached or hijacked), inspect, resize. */
import { errnoOf } from '../common/index.js';
import { apiErrorFromBody } from './api-error.js';
import { UpgradeRefusedError } from './unix-transport.js';
import { type ConnectionClass, type AttachConnection } from './api-connection.js';

/** ExecCalls layered on a connection: EngineClient is made of these. */
export function withExecCalls<Base extends ConnectionClass>(Base: Base) {
  return class ExecCalls extends Base {
    /** `POST /containers/{id}/exec`: a new exec session's id. */
    async execCreate(
      id: string,
      body: { Cmd: string[]; Env?: string[]; WorkingDir?: string; User?: string; Tty?: boolean; AttachStdin?: boolean; AttachStdout?: boolean; AttachStderr?: boolean; Privileged?: boolean; DetachKeys?: string; ConsoleSize?: [number, number] },
    ): Promise<string> {
      const created = await this.json<{ Id: string }>('POST', `/containers/${encodeURIComponent(id)}/exec`, { body });
      return created.Id;
    }

    /** `POST /exec/{id}/start` detached: the process runs on its own. */
    execStartDetached(execId: string, tty: boolean): Promise<void> {
      return this.call('POST', `/exec/${encodeURIComponent(execId)}/start`, { body: { Detach: true, Tty: tty } });
    }

    /** `POST /exec/{id}/start` hijacked: the process's stdio on the returned socket. */
    async execStartAttached(execId: string, options: { tty: boolean; consoleSize?: [number, number] }): Promise<AttachConnection> {
      const body = JSON.stringify({ Detach: false, Tty: options.tty, ...(options.consoleSize ? { ConsoleSize: options.consoleSize } : {}) });
      try {
        const { headers, socket } = await this.transport.upgrade({
          method: 'POST',
          path: `${this.prefix}/exec/${encodeURIComponent(execId)}/start`,
          headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
          body,
        });
        return { socket, isMultiplexed: String(headers['content-type'] ?? '') !== 'application/vnd.docker.raw-stream' && !options.tty };
      } catch (err) {
        if (err instanceof UpgradeRefusedError) throw apiErrorFromBody(err.statusCode, err.body);
        if (errnoOf(err) !== undefined) throw this.connectionError(err);
        throw err;
      }
    }

    /** `GET /exec/{id}/json`. */
    execInspect(execId: string): Promise<{ ID: string; Running: boolean; ExitCode: number | null; Pid: number; ContainerID: string }> {
      return this.json('GET', `/exec/${encodeURIComponent(execId)}/json`);
    }

    /** `POST /exec/{id}/resize`. */
    execResize(execId: string, height: number, width: number): Promise<void> {
      return this.call('POST', `/exec/${encodeURIComponent(execId)}/resize`, { query: { h: height, w: width } });
    }
  };
}
