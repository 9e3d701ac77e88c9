/**
 * attache's own HTTP/2 client fuzzed from the server side: a TCP server that reads the client's preface and
 * answers every connection with a frame sequence fast-check generates — well-formed gRPC answers, mutated
 * ones, bad lengths, bad HPACK (Huffman, indexes, table-size updates), interleaved CONTINUATION, windows past
 * 2^31-1, unknown frame types, early GOAWAY, RST_STREAM, PINGs — then closes or keeps silent.
 *
 * Properties, per generated sequence: the call ends exactly once with a google.rpc.Code (an answer, or the
 * transport's own error), by its deadline; no exception escapes (vitest fails a run on an uncaught one);
 * after the run the transport closes cleanly and a later call on a fresh connection to a good server works.
 */
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFields } from '../../src/upstream/h2/hpack.js';
import { frame as h2frame, goawayFrame, pingFrame, rstStreamFrame, settingsFrame, windowUpdateFrame } from '../../src/upstream/h2/frames.js';
import { fuzzParams, fuzzTimeoutMs } from '../support/fuzz.js';
import { call, frame as grpcFrame, Transports } from '../transport/support.js';

const DATA = 0, HEADERS = 1, RST = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW = 8, CONT = 9;
const END_STREAM = 1, END_HEADERS = 4, PADDED = 8, PRIORITY = 0x20;

const okHeaders = encodeFields([':status', '200', 'content-type', 'application/grpc', 'grpc-encoding', 'identity']);
const trailers = (status: string) => encodeFields(['grpc-status', status, 'grpc-message', 'fuzz%20me']);

/** A header block: a valid one, or one mutated (flipped bytes, cut short, a table-size update, Huffman junk). */
const headerBlock = fc.oneof(
  fc.constantFrom(okHeaders, trailers('0'), trailers('13'), trailers('99'), encodeFields([':status', '503'])),
  fc.tuple(fc.constantFrom(okHeaders, trailers('0')), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })).map(([b, flips]) => {
    const m = Buffer.from(b);
    for (const [i, v] of flips) if (m.length > 0) m[i % m.length] = v;
    return m;
  }),
  fc.tuple(fc.constantFrom(okHeaders, trailers('0')), fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
  fc.integer({ min: 0, max: 0x1fffff }).map((size) => Buffer.concat([Buffer.from([0x3f, 0xe1, 0xff, 0xff, 0x0f].slice(0, 1 + (size % 5))), okHeaders])), // dynamic table size updates, some oversized
  fc.uint8Array({ maxLength: 24 }).map((junk) => Buffer.concat([Buffer.from([0x40, 0x80 | Math.min(junk.length, 127)]), Buffer.from(junk), Buffer.from([0x00])])), // Huffman-coded name of junk
  fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)),
);

const streamId = fc.oneof(fc.constant(1), fc.constant(0), fc.constant(3), fc.integer({ min: 0, max: 2 ** 31 - 1 }));
const message = fc.oneof(fc.constant(grpcFrame(Buffer.from('ok'))), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), fc.nat(1 << 20).map((n) => Buffer.from([0, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])));

/** One frame the server sends. */
const oneFrame: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(headerBlock, fc.constantFrom(END_HEADERS, END_HEADERS | END_STREAM, 0, END_HEADERS | PADDED, END_HEADERS | PRIORITY), streamId).map(([b, f, id]) => h2frame(HEADERS, f, id, b)) },
  { weight: 2, arbitrary: fc.tuple(headerBlock, streamId).map(([b, id]) => h2frame(CONT, END_HEADERS, id, b)) },
  { weight: 4, arbitrary: fc.tuple(message, fc.constantFrom(0, END_STREAM, PADDED), streamId).map(([b, f, id]) => h2frame(DATA, f, id, b)) },
  { weight: 1, arbitrary: fc.tuple(streamId, fc.integer({ min: 0, max: 14 })).map(([id, code]) => rstStreamFrame(id, code)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 7 }), fc.nat()).map(([s, v]) => settingsFrame([[s, v]])) },
  { weight: 1, arbitrary: fc.constant(h2frame(SETTINGS, 1, 0)) },
  { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.boolean()).map(([d, ack]) => pingFrame(d, ack)) },
  { weight: 1, arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 0, max: 13 }), fc.string({ maxLength: 16 })).map(([last, code, dbg]) => goawayFrame(last, code, dbg)) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 2 ** 32 - 1 })).map(([id, inc]) => { const f = windowUpdateFrame(id, 1); f.writeUInt32BE(inc >>> 0, 9); return f; }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 10, max: 255 }), fc.nat(255), streamId, fc.uint8Array({ maxLength: 16 })).map(([type, flags, id, p]) => h2frame(type, flags, id, p)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 0xffffff })).map(([type, len]) => { const f = h2frame(type, 0, 1, Buffer.alloc(4)); f.writeUIntBE(len, 0, 3); return f; }) }, // a length that lies
);

interface Script {
  readonly settingsFirst: boolean;
  readonly frames: Buffer[];
  /** After the frames: close, reset, or stay silent (the call then ends at its deadline). */
  readonly then: 'close' | 'reset' | 'silent';
}
/** A well-formed answer on stream 1 (headers, one message, trailers), with generated frames slipped in. */
const answerWithNoise = fc
  .tuple(fc.array(oneFrame, { maxLength: 3 }), fc.array(fc.nat(3), { maxLength: 3 }))
  .map(([noise, at]) => {
    const frames = [h2frame(HEADERS, END_HEADERS, 1, okHeaders), h2frame(DATA, 0, 1, grpcFrame(Buffer.from('ok'))), h2frame(HEADERS, END_HEADERS | END_STREAM, 1, trailers('0'))];
    noise.forEach((f, i) => frames.splice(Math.min(at[i] ?? 3, frames.length), 0, f));
    return frames;
  });
const script: fc.Arbitrary<Script> = fc.record({
  settingsFirst: fc.boolean(),
  frames: fc.oneof(fc.array(oneFrame, { maxLength: 12 }), answerWithNoise),
  then: fc.constantFrom('close', 'reset', 'silent'),
});

let current: Script = { settingsFirst: true, frames: [], then: 'close' };
let server: net.Server;
let port = 0;
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const s = current;
    let got = 0;
    let sent = false;
    sock.on('data', (d: Buffer) => {
      got += d.length;
      // The client's preface (24 octets) and SETTINGS came: play the script once.
      if (sent || got < 24) return;
      sent = true;
      if (s.settingsFirst) sock.write(settingsFrame([]));
      for (const f of s.frames) sock.write(f);
      if (s.then === 'close') sock.end();
      else if (s.then === 'reset') sock.resetAndDestroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("attache's HTTP/2 client against a fuzzing server", () => {
  it(
    'every call ends once with a google.rpc.Code by its deadline, nothing escapes, the transport closes cleanly',
    async () => {
      const transports = new Transports();
      let runs = 0;
      const codes = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(script, async (s) => {
          current = s;
          runs++;
          const t = transports.make(`127.0.0.1:${port}`, { settings: { reconnectInitialBackoffMs: 1000, reconnectMaxBackoffMs: 1000 } });
          const t0 = Date.now();
          const o = await call(t, { timeoutMs: 300 });
          expect(Number.isInteger(o.code) && o.code >= 0 && o.code <= 16).toBe(true);
          expect(typeof o.details).toBe('string');
          expect(Date.now() - t0).toBeLessThan(2000);
          codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
          transports.closeAll();
        }),
        fuzzParams(300),
      );
      console.log(`h2 client fuzz: ${runs} sequences, calls ended with codes ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => a[0] - b[0])))}`);
      // The sequences reach more than one outcome: answers and failures alike.
      expect(codes.size).toBeGreaterThan(2);
      expect(codes.get(0) ?? 0).toBeGreaterThan(0);
      expect(runs).toBeGreaterThan(0);
    },
    fuzzTimeoutMs(90_000, 300),
  );
});
