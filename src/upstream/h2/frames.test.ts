import { describe, expect, it } from 'vitest';
import { ErrorCode, Flag, frame, FrameError, FrameParser, FrameType, goawayFrame, pingFrame, rstStreamFrame, Setting, settingsFrame, windowUpdateFrame } from './frames.js';

type Seen = [type: number, flags: number, id: number, payload: string, length: number];

function collect(): { parser: FrameParser; seen: Seen[] } {
  const seen: Seen[] = [];
  const parser = new FrameParser({ onFrame: (type, flags, id, p, length) => seen.push([type, flags, id, p.toString('hex'), length]) });
  return { parser, seen };
}

// A capture as a server would send it: SETTINGS, SETTINGS ACK, padded HEADERS with priority, padded DATA,
// an unknown frame type, PING, WINDOW_UPDATE, RST_STREAM, a zero-length DATA with END_STREAM, GOAWAY.
const headersPayload = Buffer.concat([Buffer.from([3]), Buffer.from('8000000010', 'hex'), Buffer.from('88', 'hex'), Buffer.alloc(3)]);
const dataPayload = Buffer.concat([Buffer.from([2]), Buffer.from('0000000003616263', 'hex'), Buffer.alloc(2)]);
const CAPTURE = Buffer.concat([
  settingsFrame([[Setting.MAX_CONCURRENT_STREAMS, 100], [Setting.INITIAL_WINDOW_SIZE, 1 << 20]]),
  frame(FrameType.SETTINGS, Flag.ACK, 0),
  frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PADDED | Flag.PRIORITY, 1, headersPayload),
  frame(FrameType.DATA, Flag.PADDED, 1, dataPayload),
  frame(0xfa, 0xff, 7, Buffer.from('whatever')),
  pingFrame(Buffer.from('0102030405060708', 'hex'), false),
  windowUpdateFrame(0, 1000),
  rstStreamFrame(3, ErrorCode.CANCEL),
  frame(FrameType.DATA, Flag.END_STREAM, 1),
  goawayFrame(5, ErrorCode.NO_ERROR, 'bye'),
]);
const EXPECTED: Seen[] = [
  [4, 0, 0, '000300000064000400100000', 12],
  [4, 1, 0, '', 0],
  [1, 0x2c, 1, '88', headersPayload.length],
  [0, 0x08, 1, '0000000003616263', dataPayload.length],
  [0xfa, 0xff, 7, Buffer.from('whatever').toString('hex'), 8],
  [6, 0, 0, '0102030405060708', 8],
  [8, 0, 0, '000003e8', 4],
  [3, 0, 3, '00000008', 4],
  [0, 1, 1, '', 0],
  [7, 0, 0, `0000000500000000${Buffer.from('bye').toString('hex')}`, 11],
];

describe('FrameParser (RFC 9113 §4)', () => {
  it('parses a multi-frame capture in one chunk: padding and priority fields removed, lengths as sent', () => {
    const { parser, seen } = collect();
    parser.push(CAPTURE);
    expect(seen).toEqual(EXPECTED);
  });

  it('gives the same frames for the capture split at every byte boundary, and fed one octet at a time', () => {
    for (let at = 0; at <= CAPTURE.length; at++) {
      const { parser, seen } = collect();
      parser.push(CAPTURE.subarray(0, at));
      parser.push(CAPTURE.subarray(at));
      expect(seen, `split at ${at}`).toEqual(EXPECTED);
    }
    const { parser, seen } = collect();
    for (let i = 0; i < CAPTURE.length; i++) parser.push(CAPTURE.subarray(i, i + 1));
    expect(seen).toEqual(EXPECTED);
  });

  it('a frame above SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR as soon as its header is seen (§4.2)', () => {
    const { parser } = collect();
    const big = frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385));
    expect(() => parser.push(big.subarray(0, 9))).toThrow(expect.objectContaining({ code: ErrorCode.FRAME_SIZE_ERROR }));
    const p2 = collect().parser;
    p2.maxFrameSize = 1 << 20;
    expect(() => p2.push(big)).not.toThrow();
  });

  it.each([
    ['PING of 7 octets', frame(FrameType.PING, 0, 0, Buffer.alloc(7)), ErrorCode.FRAME_SIZE_ERROR],
    ['SETTINGS of 5 octets', frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5)), ErrorCode.FRAME_SIZE_ERROR],
    ['SETTINGS ACK with a payload', frame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(6)), ErrorCode.FRAME_SIZE_ERROR],
    ['WINDOW_UPDATE of 3 octets', frame(FrameType.WINDOW_UPDATE, 0, 0, Buffer.alloc(3)), ErrorCode.FRAME_SIZE_ERROR],
    ['RST_STREAM of 5 octets', frame(FrameType.RST_STREAM, 0, 1, Buffer.alloc(5)), ErrorCode.FRAME_SIZE_ERROR],
    ['GOAWAY of 7 octets', frame(FrameType.GOAWAY, 0, 0, Buffer.alloc(7)), ErrorCode.FRAME_SIZE_ERROR],
    ['PRIORITY of 4 octets', frame(FrameType.PRIORITY, 0, 1, Buffer.alloc(4)), ErrorCode.FRAME_SIZE_ERROR],
    ['padding as long as the payload', frame(FrameType.DATA, Flag.PADDED, 1, Buffer.from([4, 0, 0, 0])), ErrorCode.PROTOCOL_ERROR],
    ['PADDED without a pad length', frame(FrameType.DATA, Flag.PADDED, 1), ErrorCode.FRAME_SIZE_ERROR],
  ])('%s → connection error', (_name, bytes, code) => {
    const { parser } = collect();
    let err: unknown;
    try {
      parser.push(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FrameError);
    expect((err as FrameError).code).toBe(code);
  });
});
