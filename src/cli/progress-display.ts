/**
 * docker's rendering of a JSON progress stream (pull, push, load, import), as docker/cli's
 * jsonmessage package does it. On a terminal each layer id owns one line, redrawn in place
 * with ANSI cursor moves (up, erase line, write, down) as its bar advances; any message without
 * progress ends that block, so the next operation starts below it. Elsewhere the byte counters
 * are left out and every other message is one plain line (`id: status`).
 */
import type { Writable } from 'node:stream';
import type { JsonMessage } from '../api/wire/index.js';
import { write } from './context.js';
import { StatusError } from './exit.js';
import { humanSize } from './human.js';

/** How to render. */
export interface ProgressDisplayOptions {
  isTerminal: boolean;
  /** Terminal width: the bar is drawn only when wider than 110 columns, as docker does. */
  columns?: number;
  /** Called with each `aux` message (push's digest, build's image id), which is not printed. */
  onAux?: (aux: Record<string, unknown>) => void;
}

const ESC = '\x1b[';

/** docker's JSONProgress.String(): `[====>   ]  1.2MB/3.4MB`, or '' when there is nothing to show. */
export function formatProgress(detail: { current?: number; total?: number }, columns: number): string {
  const current = detail.current ?? 0;
  const total = detail.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) return humanSize(current).padStart(8);
  const half = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = columns > 110 ? `[${'='.repeat(half)}>${' '.repeat(Math.max(0, 50 - half))}] ` : '';
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/**
 * Render `messages` to `out`. Throws StatusError(1) with the daemon's message when the stream
 * carries an error (docker reports failures in-band, after a 200).
 */
export async function displayJsonMessages(messages: AsyncIterable<JsonMessage>, out: Writable, options: ProgressDisplayOptions): Promise<void> {
  const columns = options.columns ?? 80;
  // Layer id to its line number in the current block; the cursor rests one line below the block.
  let lines = new Map<string, number>();
  for await (const message of messages) {
    if (message.errorDetail !== undefined || message.error !== undefined) {
      throw new StatusError(1, message.errorDetail?.message ?? message.error ?? 'unknown error');
    }
    if (message.aux !== undefined) {
      options.onAux?.(message.aux);
      continue;
    }
    const hasProgress = message.progressDetail !== undefined;
    let text = '';
    let diff = 0;
    if (message.id !== undefined && message.id !== '' && hasProgress) {
      let line = lines.get(message.id);
      if (line === undefined) {
        line = lines.size;
        lines.set(message.id, line);
        if (options.isTerminal) text += '\n';
      }
      diff = lines.size - line;
      if (options.isTerminal && diff > 0) text += `${ESC}${diff}A`;
    } else {
      lines = new Map();
    }
    const body = renderOne(message, options.isTerminal, columns);
    if (body === undefined) continue;
    text += body;
    if (options.isTerminal && message.id !== undefined && message.id !== '' && diff > 0) text += `${ESC}${diff}B`;
    await write(out, text);
  }
}

// One message as docker's JSONMessage.Display writes it; undefined when it is left out.
function renderOne(message: JsonMessage, isTerminal: boolean, columns: number): string | undefined {
  const progress = message.progressDetail !== undefined ? formatProgress(message.progressDetail, columns) : '';
  let endl = '';
  let text = '';
  if (isTerminal && message.stream === undefined && message.progressDetail !== undefined) {
    endl = '\r';
    text += `${ESC}2K\r`;
  } else if (progress !== '') {
    // Byte counters are for terminals only.
    return undefined;
  }
  if (message.id !== undefined && message.id !== '') text += `${message.id}: `;
  if (message.progressDetail !== undefined && isTerminal) text += `${message.status ?? ''} ${progress}${endl}`;
  else if (message.stream !== undefined) text += `${message.stream}${endl}`;
  else text += `${message.status ?? ''}${endl}\n`;
  return text;
}

/** Whether `out` is a terminal, and its width. */
export function terminalOf(out: Writable): { isTerminal: boolean; columns: number } {
  const tty = out as Writable & { isTTY?: boolean; columns?: number };
  return { isTerminal: tty.isTTY === true, columns: tty.columns ?? 80 };
}
