/**
 * Builds small tar archives in memory for the snapshot and image tests. Not used at run time.
 */
import tar from 'tar-stream';

/** One entry of a test tar: a tar header plus optional file content. */
export type TestEntry = Partial<tar.Header> & { name: string; data?: string | Buffer };

/** A tar archive holding `entries` in order. */
export async function makeTar(entries: readonly TestEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const { data, ...header } of entries) {
    await new Promise<void>((resolve, reject) => {
      const body = data === undefined ? undefined : Buffer.from(data);
      const full = { mtime: new Date(1_700_000_000_000), ...header, ...(body === undefined ? {} : { size: body.length }) };
      if (body === undefined) pack.entry(full, (err) => (err ? reject(err) : resolve()));
      else pack.entry(full, body, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}
