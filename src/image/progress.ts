/**
 * Progress of long image operations (pull, push, load, import) as the API streams it: docker's
 * JSON messages, in Berth's camelCase. The API layer turns each event into one JSONMessage.
 */

/** One progress step: a status line, optionally for one layer (`id`) and with byte counts. */
export interface ProgressEvent {
  /** A short layer id, a tag, or absent for a line about the whole operation. */
  id?: string;
  status: string;
  /** Bytes done and total, for the bars docker draws. */
  currentBytes?: number;
  totalBytes?: number;
  /** The result docker's push ends with (`aux: {Tag, Digest, Size}`). */
  pushResult?: { tag: string; digest: string; sizeBytes: number };
  /** A line of plain output (`load`'s "Loaded image: ..."), sent as `stream`. */
  stream?: string;
}

/** Receives progress; must not throw (a client that went away is the sink's own business). */
export type ProgressSink = (event: ProgressEvent) => void;

/** A sink that drops everything. */
export const silentProgress: ProgressSink = () => {};

const PROGRESS_INTERVAL_MS = 100;

/**
 * Wrap a byte source so that `report(doneBytes)` is called as bytes pass, at most every 100 ms
 * and once more at the end. The bytes themselves are passed through unchanged.
 */
export async function* withProgress(source: AsyncIterable<Uint8Array>, report: (doneBytes: number) => void): AsyncGenerator<Uint8Array> {
  let done = 0;
  let last = 0;
  for await (const chunk of source) {
    done += chunk.length;
    const now = Date.now();
    if (now - last >= PROGRESS_INTERVAL_MS) {
      last = now;
      report(done);
    }
    yield chunk;
  }
  report(done);
}
