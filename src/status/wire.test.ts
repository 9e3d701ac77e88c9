import { describe, it, expect } from 'vitest';
import { Code, RpcStatus, type DetailJson } from './status.js';
import { FALLBACK_STATUS_JSON, encodeStatusDetails, statusFromGrpc, statusToJson } from './wire.js';

/** A stub renderer: the type URL and the value's bytes, so the test sees exactly what was decoded. */
const stubRender = (typeUrl: string, value: Uint8Array): DetailJson => ({ '@type': typeUrl, bytes: [...value] });

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('encodeStatusDetails → statusFromGrpc', () => {
  it.each<[string, { typeUrl: string; value: Uint8Array }[]]>([
    ['no details', []],
    ['one detail', [{ typeUrl: 'type.googleapis.com/google.rpc.RetryInfo', value: bytes(10, 2, 8, 1) }]],
    [
      'several details, order kept',
      [
        { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: bytes(10, 1, 88) },
        { typeUrl: 'type.googleapis.com/google.rpc.BadRequest', value: bytes() },
        { typeUrl: 'type.googleapis.com/acme.Custom', value: new Uint8Array(300).fill(7) },
      ],
    ],
    ['an empty type URL', [{ typeUrl: '', value: bytes(1, 2, 3) }]],
  ])('round trips %s', (_name, details) => {
    const bin = encodeStatusDetails(Code.FAILED_PRECONDITION, 'bin message', details);
    const s = statusFromGrpc(Code.FAILED_PRECONDITION, 'trailer message', bin, stubRender);
    expect(s.code).toBe(Code.FAILED_PRECONDITION);
    expect(s.details).toEqual(details.map((d) => ({ '@type': d.typeUrl, bytes: [...d.value] })));
  });

  it('takes code and message from the trailers, not from the bin', () => {
    const bin = encodeStatusDetails(Code.INTERNAL, 'from the bin', []);
    const s = statusFromGrpc(Code.NOT_FOUND, 'from grpc-message', bin, stubRender);
    expect([s.code, s.message]).toEqual([Code.NOT_FOUND, 'from grpc-message']);
  });

  it('encodes code 0 and an empty message as nothing (proto3 defaults)', () => {
    expect([...encodeStatusDetails(0, '', [])]).toEqual([]);
  });

  it('returns a Buffer, as grpc-js needs for a -bin metadata value', () => {
    expect(Buffer.isBuffer(encodeStatusDetails(3, 'x', []))).toBe(true);
  });

  it('encodes a known byte layout', () => {
    // Status{code: 3, message: "x", details: [Any{type_url: "t", value: 0x01}]}
    const bin = encodeStatusDetails(3, 'x', [{ typeUrl: 't', value: bytes(1) }]);
    expect([...bin]).toEqual([0x08, 3, 0x12, 1, 0x78, 0x1a, 6, 0x0a, 1, 0x74, 0x12, 1, 1]);
  });

  it('skips unknown fields in Status and Any', () => {
    // Status{99: varint 5, details: [Any{type_url: "t", 7: "zz", value: 0x01}]}
    const bin = bytes(0x98, 0x06, 5, 0x1a, 10, 0x0a, 1, 0x74, 0x3a, 2, 0x7a, 0x7a, 0x12, 1, 1);
    expect(statusFromGrpc(3, 'm', bin, stubRender).details).toEqual([{ '@type': 't', bytes: [1] }]);
  });
});

describe('statusFromGrpc, degraded inputs', () => {
  it.each<[string, Uint8Array | undefined]>([
    ['no bin', undefined],
    ['an empty bin', bytes()],
    ['a truncated varint', bytes(0x08, 0x80)],
    ['a length past the end', bytes(0x1a, 50, 1, 2)],
    ['an invalid wire type', bytes(0x0f)],
    ['a truncated Any inside', bytes(0x1a, 2, 0x0a, 9)],
    ['random garbage', bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
  ])('%s → no details, no throw', (_name, bin) => {
    const s = statusFromGrpc(Code.UNAVAILABLE, 'down', bin, stubRender);
    expect(s).toBeInstanceOf(RpcStatus);
    expect([s.code, s.message, s.details]).toEqual([Code.UNAVAILABLE, 'down', []]);
  });

  it('leaves out a detail renderAny cannot render, keeps the rest', () => {
    const bin = encodeStatusDetails(3, 'm', [
      { typeUrl: 'type.googleapis.com/unknown.Type', value: bytes(1) },
      { typeUrl: 'type.googleapis.com/google.rpc.ErrorInfo', value: bytes(2) },
    ]);
    const render = (typeUrl: string, value: Uint8Array): DetailJson => {
      if (typeUrl.endsWith('unknown.Type')) throw new Error(`unknown type ${typeUrl}`);
      return stubRender(typeUrl, value);
    };
    const s = statusFromGrpc(3, 'm', bin, render);
    expect(s.details).toEqual([{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', bytes: [2] }]);
    expect(s.options.cause).toBeInstanceOf(Array);
  });

  it.each([
    [17, Code.UNKNOWN],
    [-3, Code.UNKNOWN],
    [Code.OK, Code.OK],
    [Code.DATA_LOSS, Code.DATA_LOSS],
  ])('grpc-status %i → code %i', (code, expected) => {
    expect(statusFromGrpc(code, '', undefined, stubRender).code).toBe(expected);
  });
});

describe('statusToJson', () => {
  const cycle: Record<string, unknown> = { '@type': 'x' };
  cycle['self'] = cycle;

  it.each<[string, RpcStatus, string]>([
    ['no details → details: []', new RpcStatus(Code.NOT_FOUND, 'no route'), '{"code":5,"message":"no route","details":[]}'],
    [
      'details as given',
      new RpcStatus(Code.INVALID_ARGUMENT, 'bad', [
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'a', description: 'b' }] },
      ]),
      '{"code":3,"message":"bad","details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",' +
        '"fieldViolations":[{"field":"a","description":"b"}]}]}',
    ],
    ['escapes the message', new RpcStatus(Code.INTERNAL, 'a "quote"\n'), '{"code":13,"message":"a \\"quote\\"\\n","details":[]}'],
    [
      'options and cause stay out',
      new RpcStatus(Code.UNIMPLEMENTED, 'm', [], { httpStatus: 405, headers: { allow: 'GET' }, cause: new Error('secret') }),
      '{"code":12,"message":"m","details":[]}',
    ],
    ['a BigInt in a detail → fallback', new RpcStatus(Code.ABORTED, 'm', [{ '@type': 'x', n: 1n }]), FALLBACK_STATUS_JSON],
    ['a cycle in a detail → fallback', new RpcStatus(Code.ABORTED, 'm', [cycle]), FALLBACK_STATUS_JSON],
  ])('%s', (_name, status, json) => {
    expect(statusToJson(status)).toBe(json);
  });

  it('has a fallback that is itself a valid INTERNAL status body', () => {
    expect(JSON.parse(FALLBACK_STATUS_JSON)).toEqual({ code: Code.INTERNAL, message: 'internal error', details: [] });
  });
});
