import { describe, it, expect } from 'vitest';
import {
  BAD_REQUEST_TYPE_URL,
  Code,
  RpcStatus,
  badRequest,
  codeFromNumber,
  codeName,
  isRpcStatus,
  toStatus,
} from './status.js';

/** A Fastify error as @fastify/error builds it: an Error with `code` and `statusCode`. */
function fastifyError(code: string, statusCode: number, message: string): Error {
  return Object.assign(new Error(message), { code, statusCode });
}

describe('Code', () => {
  it('holds the 17 google.rpc.Code values 0..16', () => {
    expect(Object.values(Code).sort((a, b) => a - b)).toEqual([...Array(17).keys()]);
  });

  it.each([
    [Code.OK, 'OK'],
    [Code.CANCELLED, 'CANCELLED'],
    [Code.INVALID_ARGUMENT, 'INVALID_ARGUMENT'],
    [Code.FAILED_PRECONDITION, 'FAILED_PRECONDITION'],
    [Code.UNAUTHENTICATED, 'UNAUTHENTICATED'],
  ])('codeName(%i) is %s', (code, name) => {
    expect(codeName(code)).toBe(name);
  });

  it.each([
    [0, Code.OK],
    [14, Code.UNAVAILABLE],
    [16, Code.UNAUTHENTICATED],
    [17, Code.UNKNOWN],
    [-1, Code.UNKNOWN],
    [2.5, Code.UNKNOWN],
    [Number.NaN, Code.UNKNOWN],
  ])('codeFromNumber(%d) is %i (out of range → UNKNOWN)', (n, code) => {
    expect(codeFromNumber(n)).toBe(code);
  });
});

describe('RpcStatus', () => {
  it('carries code, message, details and options, and is an Error', () => {
    const cause = new Error('boom');
    const s = new RpcStatus(Code.NOT_FOUND, 'no such payment', [{ '@type': 'x' }], { httpStatus: 404, cause });
    expect(s).toBeInstanceOf(Error);
    expect([s.code, s.message, s.details, s.options.httpStatus, s.cause]).toEqual([
      Code.NOT_FOUND,
      'no such payment',
      [{ '@type': 'x' }],
      404,
      cause,
    ]);
  });

  it('defaults details to [] and options to {}', () => {
    const s = new RpcStatus(Code.INTERNAL, 'x');
    expect(s.details).toEqual([]);
    expect(s.options).toEqual({});
  });

  it.each([
    [new RpcStatus(Code.OK, ''), true],
    [new Error('x'), false],
    [{ code: 3, message: 'x', details: [] }, false],
    [null, false],
    [undefined, false],
  ])('isRpcStatus(%o) is %s', (v, expected) => {
    expect(isRpcStatus(v)).toBe(expected);
  });
});

describe('badRequest', () => {
  it('is INVALID_ARGUMENT with a google.rpc.BadRequest detail in JSON form', () => {
    const violations = [{ field: 'amount_minor', description: 'must be positive' }];
    const s = badRequest('bad amount', violations);
    expect(s.code).toBe(Code.INVALID_ARGUMENT);
    expect(s.message).toBe('bad amount');
    expect(s.details).toEqual([
      { '@type': BAD_REQUEST_TYPE_URL, fieldViolations: [{ field: 'amount_minor', description: 'must be positive' }] },
    ]);
    expect(BAD_REQUEST_TYPE_URL).toBe('type.googleapis.com/google.rpc.BadRequest');
  });
});

describe('toStatus', () => {
  it('passes an RpcStatus through unchanged', () => {
    const s = new RpcStatus(Code.ABORTED, 'conflict');
    expect(toStatus(s)).toBe(s);
  });

  const tooLarge = fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413, 'Request body is too large');
  const media = fastifyError('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'Unsupported Media Type');
  const length = fastifyError('FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400, 'Request body size did not match Content-Length');
  const uriTooLong = fastifyError('FST_ERR_MAX_PARAM_LENGTH', 414, "'x' is exceeding the max param length");
  const notFound = fastifyError('FST_ERR_NOT_FOUND', 404, 'Not Found');
  const fst500 = fastifyError('FST_ERR_REP_INVALID_PAYLOAD_TYPE', 500, 'secret internals');
  const fst503 = fastifyError('FST_ERR_HANDLER_TIMEOUT', 503, 'Request timed out');
  const notFst = Object.assign(new Error('teapot'), { code: 'E_TEAPOT', statusCode: 418 });

  it.each([
    [
      'body too large, limit known',
      tooLarge,
      { bodyLimit: 1048576 },
      Code.RESOURCE_EXHAUSTED,
      413,
      'request body is too large: the limit is 1048576 bytes',
    ],
    ['body too large, limit unknown', tooLarge, {}, Code.RESOURCE_EXHAUSTED, 413, 'request body is too large'],
    ['unsupported media type', media, {}, Code.INVALID_ARGUMENT, 415, 'Unsupported Media Type'],
    ['other 4xx (400)', length, {}, Code.INVALID_ARGUMENT, 400, 'Request body size did not match Content-Length'],
    ['other 4xx (414)', uriTooLong, {}, Code.INVALID_ARGUMENT, 414, "'x' is exceeding the max param length"],
    ['not found', notFound, {}, Code.NOT_FOUND, 404, 'Not Found'],
    ['Fastify 500', fst500, {}, Code.INTERNAL, undefined, 'internal error'],
    ['Fastify 503', fst503, {}, Code.INTERNAL, undefined, 'internal error'],
    ['a non-Fastify error with a statusCode', notFst, {}, Code.INTERNAL, undefined, 'internal error'],
    ['a plain Error', new TypeError('x is undefined'), {}, Code.INTERNAL, undefined, 'internal error'],
    ['a string', 'oops', {}, Code.INTERNAL, undefined, 'internal error'],
    ['undefined', undefined, {}, Code.INTERNAL, undefined, 'internal error'],
    ['null', null, {}, Code.INTERNAL, undefined, 'internal error'],
  ])('%s', (_name, err, context, code, httpStatus, message) => {
    const s = toStatus(err, context);
    expect(s.code).toBe(code);
    expect(s.options.httpStatus).toBe(httpStatus);
    expect(s.message).toBe(message);
    expect(s.details).toEqual([]);
    // The original is kept for the log, never put in the message.
    expect(s.options.cause).toBe(err);
  });
});
