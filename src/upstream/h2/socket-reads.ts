/**
 * Where a connection's socket reads land: one 64 KiB buffer per connection (net's documented `onread`
 * option), from which each read is handed on as a Buffer that owns its octets.
 *
 * Why: by default Node mallocs a 64 KiB buffer for every read and then shrinks it to what was read. With
 * glibc mapping allocations of 32 KiB and more on their own (src/ops/malloc-settings.ts, for V8's compile
 * zones), such a buffer is an mmap and an munmap whenever glibc has no free chunk that size at hand: strace
 * counted 1,324 mmaps in 3 s of GET at c=16 without this, 916 with it, all of those V8's optimizing
 * compiler (bench/RESULTS.md §23). Here a small read is copied out into a Buffer of its size (from Node's
 * shared pool below 4 KiB: no malloc at all), and a large one keeps the whole read buffer, which a new one
 * then replaces, so a large message's octets are not copied once more.
 */
import type { OnReadOpts } from 'node:net';

/** Node's own read size for a stream socket. */
const READ_BUFFER_BYTES = 64 * 1024;
/** From this size on a read keeps the read buffer instead of being copied out. */
const HAND_OVER_FROM = 16 * 1024;

export class SocketReads {
  private buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  private sink: ((chunk: Buffer) => void) | undefined;

  /** The `onread` option for `net.connect` / `tls.connect`. */
  readonly onread: OnReadOpts = {
    // Called before the first read and after each one: the next read goes where this says.
    buffer: () => this.buffer,
    callback: (bytes) => {
      let chunk: Buffer;
      if (bytes >= HAND_OVER_FROM) {
        chunk = this.buffer.subarray(0, bytes);
        this.buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
      } else {
        chunk = Buffer.allocUnsafe(bytes);
        this.buffer.copy(chunk, 0, 0, bytes);
      }
      this.sink?.(chunk);
      return true;
    },
  };

  /** Where reads go from now on (the session, created right after its socket; nothing is read before). */
  deliverTo(sink: (chunk: Buffer) => void): void {
    this.sink = sink;
  }
}
