/** A stream for a test's pino logger that keeps every line it writes (for assertions on the logs). */
import { Writable } from 'node:stream';

export function logLines(): { readonly sink: Writable; readonly lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
      done();
    },
  });
  return { sink, lines };
}
