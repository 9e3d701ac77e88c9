import { fileURLToPath } from 'node:url';
import { Metadata, status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../registry/load.js';
import { decodeStatusDetails, encodeStatusDetails, richStatus, STATUS_DETAILS_TRAILER, type StatusDetail } from './status-details.js';

const { root } = loadRegistry([fileURLToPath(new URL('../../protos', import.meta.url))]);

describe('status details', () => {
  it.each<[string, StatusDetail, Record<string, unknown> | undefined]>([
    [
      'BadRequest',
      { type: 'google.rpc.BadRequest', value: { field_violations: [{ field: 'a', description: 'b' }] } },
      { field_violations: [{ field: 'a', description: 'b' }] },
    ],
    [
      'RetryInfo (Duration, int64 as string out)',
      { type: 'google.rpc.RetryInfo', value: { retry_delay: { seconds: 2, nanos: 5 } } },
      { retry_delay: { seconds: '2', nanos: 5 } },
    ],
    [
      'QuotaFailure (int64 given as a string)',
      { type: 'google.rpc.QuotaFailure', value: { violations: [{ subject: 's', quota_value: '9007199254740993' }] } },
      { violations: [{ subject: 's', quota_value: '9007199254740993' }] },
    ],
    ['an unknown type, raw', { typeUrl: 'type.googleapis.com/not.a.Known', raw: Uint8Array.of(1, 2) }, undefined],
  ])('round-trips %s', (_name, detail, decoded) => {
    const bytes = encodeStatusDetails(root, status.INVALID_ARGUMENT, 'bad', [detail]);
    const st = decodeStatusDetails(root, bytes);
    expect(st.code).toBe(status.INVALID_ARGUMENT);
    expect(st.message).toBe('bad');
    expect(st.details[0]!.value).toEqual(decoded);
    if ('typeUrl' in detail) expect([...st.details[0]!.raw]).toEqual([1, 2]);
  });

  it.each<[string, StatusDetail, RegExp]>([
    ['a misspelt field', { type: 'google.rpc.BadRequest', value: { field_violation: [] } }, /google.rpc.BadRequest has no field "field_violation"/],
    [
      'a misspelt nested field',
      { type: 'google.rpc.BadRequest', value: { field_violations: [{ feild: 'x' }] } },
      /google.rpc.BadRequest.field_violations has no field "feild"/,
    ],
    ['a type the root lacks', { type: 'no.such.Detail', value: {} }, /no.such.Detail is not in the given proto root/],
  ])('throws on %s', (_name, detail, message) => {
    expect(() => encodeStatusDetails(root, 3, 'x', [detail])).toThrow(message);
  });

  it('puts the status in grpc-status-details-bin next to the given trailers, without changing them', () => {
    const trailers = new Metadata();
    trailers.set('x-t', '1');
    const s = richStatus(root, status.NOT_FOUND, 'gone', [{ type: 'google.rpc.ResourceInfo', value: { resource_name: 'r' } }], trailers);
    expect(s.code).toBe(status.NOT_FOUND);
    expect(s.details).toBe('gone');
    expect(s.metadata?.get('x-t')).toEqual(['1']);
    expect(decodeStatusDetails(root, s.metadata?.get(STATUS_DETAILS_TRAILER)[0] as Buffer).details[0]!.value).toEqual({ resource_name: 'r' });
    expect(trailers.get(STATUS_DETAILS_TRAILER)).toEqual([]);
  });

  it('sends no details trailer when there are no details', () => {
    expect(richStatus(root, status.INTERNAL, 'x', []).metadata?.get(STATUS_DETAILS_TRAILER)).toEqual([]);
  });
});
