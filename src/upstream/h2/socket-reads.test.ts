import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SocketReads } from './socket-reads.js';

/** Feeds `reads` as net would: asks for a buffer, fills it with `data`, calls back. */
function read(reads: SocketReads, data: Buffer): void {
  const { buffer, callback } = reads.onread;
  const into = typeof buffer === 'function' ? buffer() : buffer;
  into.set(data, 0);
  callback(data.length, into);
}

describe('SocketReads', () => {
  it('hands small reads on as copies that keep their octets when the read buffer is reused', () => {
    const reads = new SocketReads();
    const got: Buffer[] = [];
    reads.deliverTo((c) => got.push(c));
    read(reads, Buffer.from('first'));
    read(reads, Buffer.from('SECOND'));
    expect(got.map(String)).toEqual(['first', 'SECOND']);
  });

  it('hands a large read on as the read buffer itself, and reads into a new one afterwards', () => {
    const reads = new SocketReads();
    const got: Buffer[] = [];
    reads.deliverTo((c) => got.push(c));
    const big = Buffer.alloc(40_000, 7);
    read(reads, big);
    read(reads, Buffer.from('after'));
    expect(got[0]!.equals(big)).toBe(true);
    expect(String(got[1])).toBe('after');
    // The large chunk was not overwritten by the read that followed it.
    expect(got[0]!.subarray(0, 5).equals(Buffer.alloc(5, 7))).toBe(true);
  });
});

describe('SocketReads on a real socket', () => {
  let server: net.Server | undefined;
  afterEach(() => server?.close());

  it('receives everything a peer sends, small writes and large, in order', async () => {
    const parts = [Buffer.from('hello '), Buffer.alloc(200_000, 0x61), Buffer.from(' bye')];
    server = net.createServer((s) => {
      for (const p of parts) s.write(p);
      s.end();
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const reads = new SocketReads();
    const got: Buffer[] = [];
    reads.deliverTo((c) => got.push(c));
    const sock = net.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, onread: reads.onread });
    await new Promise((r) => sock.on('close', r));
    expect(Buffer.concat(got).equals(Buffer.concat(parts))).toBe(true);
  });
});
