import { describe, it, expect } from 'vitest';
import { HOP_BY_HOP_HEADERS, TRACE_HEADERS, isReservedGrpcKey, isUnforwardableKey } from './headers.js';

describe('isReservedGrpcKey', () => {
  it.each<[string, boolean]>([
    ['grpc-timeout', true],
    ['grpc-status-details-bin', true],
    ['grpc-', true],
    ['content-type', true],
    ['te', true],
    ['user-agent', true],
    [':path', true],
    [':authority', true],
    ['authorization', false],
    ['x-grpc-thing', false],
    ['grpcx', false],
    ['connection', false],
  ])('%s → %s', (key, reserved) => {
    expect(isReservedGrpcKey(key)).toBe(reserved);
  });
});

describe('isUnforwardableKey', () => {
  it.each<[string, boolean]>([
    ...[...HOP_BY_HOP_HEADERS].map((h): [string, boolean] => [h, true]),
    ['grpc-message', true],
    ['user-agent', true],
    ['tenant', false],
    ['authorization', false],
    ...[...TRACE_HEADERS].map((h): [string, boolean] => [h, false]),
  ])('%s → %s', (key, dropped) => {
    expect(isUnforwardableKey(key)).toBe(dropped);
  });
});
