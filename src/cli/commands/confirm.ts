/** docker's `[y/N]` prompt before destructive commands. */
import type { CliContext } from '../context.js';
import { write } from '../context.js';

/** Ask `question`; true only for an answer starting with y. A closed stdin answers no. */
export async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  await write(ctx.out, `${question} [y/N] `);
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (text.includes('\n')) done();
    };
    const done = (): void => {
      process.stdin.off('data', onData);
      process.stdin.off('end', done);
      process.stdin.pause();
      resolve(text);
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', done);
  });
  return /^y(es)?$/i.test(answer.trim());
}
