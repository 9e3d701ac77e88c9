import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom } from '../../../test/support/prng.js';
import { encodeFields, encodeIndexed } from './hpack.js';
import { buildTable, codeLengths, codes, huffmanDecode, HuffmanError } from './huffman.js';
import { ClientSession } from './session.js';

/** Huffman-encodes `bytes` with the derived codes (the test's own encoder: attache never encodes). */
function encode(bytes: Uint8Array): Buffer {
  const c = codes();
  const out: number[] = [];
  let acc = 0n;
  let n = 0;
  for (const b of bytes) {
    const [code, len] = c[b]!;
    acc = (acc << BigInt(len)) | BigInt(code);
    n += len;
    while (n >= 8) {
      n -= 8;
      out.push(Number((acc >> BigInt(n)) & 0xffn));
    }
  }
  if (n > 0) out.push(Number(((acc << BigInt(8 - n)) | ((1n << BigInt(8 - n)) - 1n)) & 0xffn)); // EOS padding
  return Buffer.from(out);
}

describe('huffman (RFC 7541 Appendix B)', () => {
  const table = buildTable();

  it('the 257 code lengths form a complete prefix code (Kraft sum exactly 1)', () => {
    const lengths = codeLengths();
    expect(lengths).toHaveLength(257);
    expect(lengths.reduce((sum, l) => sum + 2 ** (30 - l), 0)).toBe(2 ** 30);
  });

  it('the derived canonical codes are Appendix B\'s', () => {
    const c = codes();
    // Spot checks against the RFC's table: (sym) code as hex, length.
    expect(c[48]).toEqual([0x0, 5]); // '0'
    expect(c[97]).toEqual([0x3, 5]); // 'a'
    expect(c[32]).toEqual([0x14, 6]); // ' '
    expect(c[37]).toEqual([0x15, 6]); // '%'
    expect(c[126]).toEqual([0x1ffd, 13]); // '~'
    expect(c[92]).toEqual([0x7fff0, 19]); // '\'
    expect(c[0]).toEqual([0x1ff8, 13]);
    expect(c[255]).toEqual([0x3ffffee, 26]);
    expect(c[256]).toEqual([0x3fffffff, 30]); // EOS
  });

  it('decodes every octet value (round trip through the derived codes)', () => {
    const rnd = seededRandom(7);
    for (let i = 0; i < 200; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256));
      const enc = encode(bytes);
      expect(huffmanDecode(table, enc, 0, enc.length)).toBe(Buffer.from(bytes).toString('latin1'));
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const enc = encode(all);
    expect(huffmanDecode(table, enc, 0, enc.length)).toBe(Buffer.from(all).toString('latin1'));
  });

  it('rejects EOS in the data, padding of 8 bits or more, and padding that is not all ones (§5.2)', () => {
    const eos = Buffer.from([0xff, 0xff, 0xff, 0xfc]); // 30 ones (EOS) + 2 padding ones
    expect(() => huffmanDecode(table, eos, 0, 4)).toThrow(HuffmanError);
    const a = encode(Buffer.from('a')); // 00011 + 111
    expect(huffmanDecode(table, a, 0, 1)).toBe('a');
    expect(() => huffmanDecode(table, Buffer.from([a[0]!, 0xff]), 0, 2)).toThrow(/longer than 7 bits/);
    expect(() => huffmanDecode(table, Buffer.from([0x18]), 0, 1)).toThrow(/not EOS/); // 00011 000
  });
});

describe('huffman against nghttp2 (node:http2 Huffman-encodes header values when shorter)', () => {
  let server: http2.Http2Server | undefined;
  afterEach(() => new Promise<void>((r) => (server === undefined ? r() : server.close(() => r()))));

  it('decodes random visible-ASCII values a node:http2 server sends', async () => {
    const rnd = seededRandom(11);
    const values = Array.from({ length: 300 }, () =>
      String.fromCharCode(...Array.from({ length: 1 + Math.floor(rnd() * 60) }, () => 0x21 + Math.floor(rnd() * 94))),
    );
    server = http2.createServer();
    server.on('stream', (st, h) => {
      const k = Number(h['x-batch']);
      const out: http2.OutgoingHttpHeaders = { ':status': 200 };
      values.slice(k * 30, k * 30 + 30).forEach((v, i) => (out[`x-v${i}`] = v));
      st.respond(out, { endStream: true });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const sock = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const got: string[] = [];
    const session = new ClientSession(sock, { onRemoteSettings() {}, onGoaway() {}, onError() {}, onClose() {} }, { streamWindow: 65_535, connectionWindow: 65_535, maxHeaderList: 1 << 20 });
    const prefix = Buffer.concat([encodeIndexed(3), encodeIndexed(6), encodeFields([':path', '/x', ':authority', 'test'])]);
    for (let k = 0; k < 10; k++) {
      const fields = await new Promise<string[]>((resolve, reject) => {
        let f: string[] = [];
        session.request(encodeFields(['x-batch', String(k)], prefix), 0, Buffer.alloc(0), {
          onHeaders: (x) => (f = x),
          onData: () => undefined,
          onClose: (code) => (code === 0 ? resolve(f) : reject(new Error(`reset ${code}`))),
        });
      });
      for (let i = 0; i < fields.length; i += 2) if (fields[i]!.startsWith('x-v')) got.push(fields[i + 1]!);
    }
    session.close();
    expect(got).toEqual(values);
  });
});
