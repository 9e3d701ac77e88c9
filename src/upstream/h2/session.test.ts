import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFields, encodeIndexed } from './hpack.js';
import { ClientSession, type ClientStream } from './session.js';

describe('ClientSession against node:http2: what a stream keeps while its call runs', () => {
  let server: http2.Http2Server | undefined;
  afterEach(() => new Promise<void>((r) => (server === undefined ? r() : server.close(() => r()))));

  it('the request header block is dropped once HEADERS is written; the server got it whole', async () => {
    const seen: string[] = [];
    let answer: (() => void) | undefined;
    server = http2.createServer();
    server.on('stream', (st, h) => {
      seen.push(String(h['x-call']));
      answer = () => st.respond({ ':status': 200 }, { endStream: true });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const session = new ClientSession(sock, { onRemoteSettings() {}, onGoaway() {}, onError() {}, onClose() {} }, { streamWindow: 65_535, connectionWindow: 65_535, maxHeaderList: 1 << 20 });
    const prefix = Buffer.concat([encodeIndexed(3), encodeIndexed(6), encodeFields([':path', '/x', ':authority', 'test'])]);
    let stream: ClientStream | undefined;
    const closed = new Promise<number>((resolve) => {
      stream = session.request(encodeFields(['x-call', 'one'], prefix), 0, Buffer.alloc(0), { onHeaders: () => undefined, onData: () => undefined, onClose: resolve });
    });
    // The block is a slice of Node's shared Buffer pool: kept for the call's life, it would keep the pool's
    // whole 8 KiB chunk (session.ts ClientStream.block).
    expect(stream!.block.length).toBe(0);
    for (let i = 0; i < 100 && answer === undefined; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['one']);
    answer!();
    expect(await closed).toBe(0);
    session.close();
  });
});
