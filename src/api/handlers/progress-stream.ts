/**
 * docker's JSON progress stream (pull, push, load, import): one JSONMessage per line. Headers
 * go out with the first message, so a failure before any progress is still an ordinary error
 * status; a failure after it is an in-band `errorDetail` message, as docker sends it.
 */
import type { ServerResponse } from 'node:http';
import { messageOf } from '../../common/index.js';
import type { JsonMessage } from '../wire/index.js';

/** A progress step in Berth's words (the image folder's ProgressEvent, structurally). */
export interface ProgressStep {
  id?: string;
  status: string;
  currentBytes?: number;
  totalBytes?: number;
  pushResult?: { tag: string; digest: string; sizeBytes: number };
  stream?: string;
}

/** Writes progress steps to one response as JSON lines. */
export class ProgressStream {
  readonly #res: ServerResponse;
  #isStarted = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** True once the 200 and the first message went out. */
  get isStarted(): boolean {
    return this.#isStarted;
  }

  /** Send an aux message (a build's image id); ignored once the client is gone. */
  readonly sendAux = (aux: Record<string, unknown>): void => {
    this.#write({ aux });
  };

  /** Send one step; ignored once the client is gone. */
  readonly send = (step: ProgressStep): void => {
    this.#write(toJsonMessage(step));
  };

  /** End the stream with an in-band error (the operation failed after progress began); `code`: a build step's exit code. */
  fail(err: unknown, code?: number): void {
    const message = messageOf(err);
    this.#write({ errorDetail: { ...(code !== undefined ? { code } : {}), message }, error: message });
    this.end();
  }

  /** Finish the response (starting it if nothing was sent). */
  end(): void {
    this.#start();
    if (!this.#res.writableEnded) this.#res.end();
  }

  #start(): void {
    if (this.#isStarted) return;
    this.#isStarted = true;
    this.#res.writeHead(200, { 'Content-Type': 'application/json' });
  }

  #write(message: JsonMessage): void {
    this.#start();
    if (this.#res.writableEnded || this.#res.destroyed) return;
    this.#res.write(JSON.stringify(message) + '\n');
  }
}

/** One step as docker's JSONMessage, with the text bar docker's daemon adds for old clients. */
export function toJsonMessage(step: ProgressStep): JsonMessage {
  if (step.stream !== undefined) return { stream: step.stream };
  if (step.pushResult !== undefined) {
    return { progressDetail: {}, aux: { Tag: step.pushResult.tag, Digest: step.pushResult.digest, Size: step.pushResult.sizeBytes } };
  }
  const message: JsonMessage = { status: step.status };
  if (step.currentBytes !== undefined || step.totalBytes !== undefined) {
    const current = step.currentBytes ?? 0;
    const total = step.totalBytes ?? 0;
    message.progressDetail = { current, ...(total > 0 ? { total } : {}) };
    message.progress = progressBar(current, total);
  } else if (step.id !== undefined) {
    message.progressDetail = {};
  }
  if (step.id !== undefined) message.id = step.id;
  return message;
}

/** docker's text bar: `[=====>      ]  1.2MB/3.4MB` (50 columns), or just the size without a total. */
export function progressBar(current: number, total: number): string {
  if (total <= 0) return humanSize(current).padStart(8);
  const filled = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${'='.repeat(filled)}>${' '.repeat(50 - filled)}]`;
  return `${bar} ${humanSize(current).padStart(8)}/${humanSize(total)}`;
}

/** docker's HumanSize: decimal units, three significant digits (`1.23MB`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${Number(value.toPrecision(3))}${units[unit]}`;
}
