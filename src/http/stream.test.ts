import { describe, expect, it } from 'vitest';
import { errorFrame, framingFor, LineSplitter, LineTooLong, messageFrame } from './stream.js';
import { closeCodeOf, closeReason } from './websocket.js';

describe('framingFor (Accept → framing)', () => {
  it.each([
    [undefined, 'ndjson'],
    ['application/json', 'ndjson'],
    ['application/x-ndjson', 'ndjson'],
    ['text/event-stream', 'sse'],
    ['text/html, TEXT/EVENT-STREAM;q=0.9', 'sse'],
    [['application/json', 'text/event-stream'], 'sse'],
  ] as const)('%j → %s', (accept, framing) => {
    expect(framingFor(accept)).toBe(framing);
  });
});

describe('frames', () => {
  it.each([
    ['ndjson', '{"a":1}', 0, '{"result":{"a":1}}\n'],
    ['sse', '{"a":1}', 7, 'id: 7\ndata: {"a":1}\n\n'],
  ] as const)('%s message', (f, json, index, frame) => {
    expect(messageFrame(f, json, index)).toBe(frame);
  });

  it.each([
    ['ndjson', '{"error":{"code":5,"message":"m","details":[]}}\n'],
    ['sse', 'event: error\ndata: {"code":5,"message":"m","details":[]}\n\n'],
  ] as const)('%s error', (f, frame) => {
    expect(errorFrame(f, '{"code":5,"message":"m","details":[]}')).toBe(frame);
  });
});

describe('LineSplitter (NDJSON request bodies)', () => {
  const split = (chunks: readonly string[], max = 100): Array<[number, string]> => {
    const s = new LineSplitter(max);
    return [...chunks.flatMap((c) => s.push(Buffer.from(c))), ...s.end()];
  };

  it.each([
    ['one line per message, numbered', ['{"a":1}\n{"a":2}\n'], [[1, '{"a":1}'], [2, '{"a":2}']]],
    ['CRLF', ['{"a":1}\r\n{"a":2}\r\n'], [[1, '{"a":1}\r'], [2, '{"a":2}\r']]],
    ['a last line without a newline', ['{"a":1}\n{"a":2}'], [[1, '{"a":1}'], [2, '{"a":2}']]],
    ['lines split across chunks', ['{"a"', ':1}\n{', '"a":2}\n'], [[1, '{"a":1}'], [2, '{"a":2}']]],
    ['blank lines counted, not returned', ['\n{"a":1}\n\n  \n{"a":2}\n'], [[2, '{"a":1}'], [5, '{"a":2}']]],
    ['an empty body', [], []],
  ] as const)('%s', (_name, chunks, lines) => {
    expect(split(chunks)).toEqual(lines);
  });

  it('keeps a multi-byte character split across chunks whole', () => {
    const bytes = Buffer.from('{"n":"é€"}\n');
    const s = new LineSplitter(100);
    const out = [...s.push(bytes.subarray(0, 8)), ...s.push(bytes.subarray(8))];
    expect(out).toEqual([[1, '{"n":"é€"}']]);
  });

  it('refuses a line longer than the limit, naming it', () => {
    const s = new LineSplitter(10);
    expect(s.push(Buffer.from('{"a":1}\n'))).toEqual([[1, '{"a":1}']]);
    expect(() => s.push(Buffer.from('{"aaaaaaaaaaaa'))).toThrow(LineTooLong);
    expect(() => new LineSplitter(10).push(Buffer.from('{"aaaaaaaaaaaa"}\n'))).toThrow(/request line 1 is longer than the limit of 10 bytes/);
  });
});

describe('WebSocket close frames', () => {
  it.each([
    [0, 1000],
    [1, 4001],
    [5, 4005],
    [16, 4016],
  ])('code %i → close code %i', (code, close) => {
    expect(closeCodeOf(code)).toBe(close);
  });

  it('cuts a reason to 123 bytes of UTF-8 at a character boundary', () => {
    expect(closeReason('short')).toBe('short');
    const long = 'é'.repeat(100); // 200 bytes
    const cut = closeReason(long);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
    expect(cut).toBe('é'.repeat(61));
  });
});
