import { describe, it, expect } from 'vitest';
import { httpStatusFromCode, httpStatusOf, retryAfterSeconds } from './http.js';
import { Code, RpcStatus, type DetailJson } from './status.js';

describe('httpStatusFromCode', () => {
  // The contract's list, which is google/rpc/code.proto's "HTTP Mapping" lines.
  it.each([
    [Code.OK, 200],
    [Code.CANCELLED, 499],
    [Code.UNKNOWN, 500],
    [Code.INVALID_ARGUMENT, 400],
    [Code.DEADLINE_EXCEEDED, 504],
    [Code.NOT_FOUND, 404],
    [Code.ALREADY_EXISTS, 409],
    [Code.PERMISSION_DENIED, 403],
    [Code.RESOURCE_EXHAUSTED, 429],
    [Code.FAILED_PRECONDITION, 400],
    [Code.ABORTED, 409],
    [Code.OUT_OF_RANGE, 400],
    [Code.UNIMPLEMENTED, 501],
    [Code.INTERNAL, 500],
    [Code.UNAVAILABLE, 503],
    [Code.DATA_LOSS, 500],
    [Code.UNAUTHENTICATED, 401],
  ])('code %i → HTTP %i', (code, http) => {
    expect(httpStatusFromCode(code)).toBe(http);
  });

  it('answers 500 for a number outside the set', () => {
    expect(httpStatusFromCode(42 as Code)).toBe(500);
  });
});

describe('httpStatusOf', () => {
  it.each([
    ['the table when no override', new RpcStatus(Code.NOT_FOUND, ''), 404],
    ['the override when set', new RpcStatus(Code.UNIMPLEMENTED, '', [], { httpStatus: 405 }), 405],
    ['413 for a body limit', new RpcStatus(Code.RESOURCE_EXHAUSTED, '', [], { httpStatus: 413 }), 413],
  ])('%s', (_name, status, http) => {
    expect(httpStatusOf(status)).toBe(http);
  });
});

describe('retryAfterSeconds', () => {
  const retry = (retryDelay: unknown): DetailJson => ({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay });
  const other: DetailJson = { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'X' };

  it.each<[string, DetailJson[], number | undefined]>([
    ['no details', [], undefined],
    ['no RetryInfo', [other], undefined],
    ['whole seconds', [retry('3s')], 3],
    ['a fraction rounds up', [retry('1.500s')], 2],
    ['a tiny positive delay is at least 1', [retry('0.000000001s')], 1],
    ['an all-zero fraction does not round up', [retry('2.000s')], 2],
    ['zero', [retry('0s')], 0],
    ['after other details', [other, retry('5s')], 5],
    ['the first RetryInfo wins', [retry('1s'), retry('9s')], 1],
    ['another host in the type URL', [{ '@type': 'example.com/google.rpc.RetryInfo', retryDelay: '4s' }], 4],
    ['negative', [retry('-1s')], undefined],
    ['no unit', [retry('5')], undefined],
    ['10 fraction digits', [retry('1.0000000001s')], undefined],
    ['an object, not a Duration string', [retry({ seconds: 1 })], undefined],
    ['missing retryDelay', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo' }], undefined],
    ['a type URL that only ends like it', [{ '@type': 'type.googleapis.com/x.google.rpc.RetryInfo', retryDelay: '4s' }], undefined],
  ])('%s', (_name, details, expected) => {
    expect(retryAfterSeconds(details)).toBe(expected);
  });
});
