/**
 * The fixed error details the e2e fixture server's `Fail` method (and a failing `Stream`) attaches, by the
 * kind names a FailRequest lists in `details`, together with the JSON each should render as in attache's
 * error body (the proto3 JSON mapping of a google.protobuf.Any: `@type` plus the message's fields with
 * lowerCamelCase names, int64 as strings, enums as names, Duration as "<seconds>s").
 *
 * Values are documented in test/fixtures/e2e/README.md; change both together.
 */
import { status } from '@grpc/grpc-js';
import type { StatusDetail } from '../../src/demo/status-details.js';

/** The kinds a FailRequest may name in `details`, in the order they are documented. */
export const FAIL_DETAIL_KINDS = [
  'BadRequest',
  'RetryInfo',
  'ErrorInfo',
  'QuotaFailure',
  'PreconditionFailure',
  'ResourceInfo',
  'Help',
  'LocalizedMessage',
  'DebugInfo',
  'RequestInfo',
  'custom',
  'unknown',
] as const;

export type FailDetailKind = (typeof FAIL_DETAIL_KINDS)[number];

/** One fixed detail: what the server sends, and the JSON attache should render for it. */
export interface FailDetail {
  readonly detail: StatusDetail;
  /**
   * The expected element of the JSON body's `details` array. `undefined` for `unknown`: its type cannot be
   * resolved, so the proto3 JSON mapping has no rendering for it (see the README for the options).
   */
  readonly json: Readonly<Record<string, unknown>> | undefined;
}

const T = 'type.googleapis.com/';

/** The bytes of the `unknown` detail: field 1, length-delimited, "abc" (base64 "CgNhYmM="). */
export const UNKNOWN_DETAIL_BYTES: Uint8Array = Uint8Array.of(0x0a, 0x03, 0x61, 0x62, 0x63);
/** The same bytes in base64, as a JSON rendering that falls back to `{"@type", "value"}` would show them. */
export const UNKNOWN_DETAIL_BASE64 = 'CgNhYmM=';
/** A type URL no registry resolves. */
export const UNKNOWN_DETAIL_TYPE_URL = 'type.googleapis.com/not.a.Known';

/** The fixed details, by kind. */
export const FAIL_DETAILS: Readonly<Record<FailDetailKind, FailDetail>> = Object.freeze({
  BadRequest: {
    detail: {
      type: 'google.rpc.BadRequest',
      value: {
        field_violations: [
          { field: 'id', description: 'must not be empty' },
          {
            field: 'book.pages',
            description: 'must be positive',
            reason: 'E2E_RANGE',
            localized_message: { locale: 'en-US', message: 'Pages must be positive.' },
          },
        ],
      },
    },
    json: {
      '@type': `${T}google.rpc.BadRequest`,
      fieldViolations: [
        { field: 'id', description: 'must not be empty' },
        {
          field: 'book.pages',
          description: 'must be positive',
          reason: 'E2E_RANGE',
          localizedMessage: { locale: 'en-US', message: 'Pages must be positive.' },
        },
      ],
    },
  },
  RetryInfo: {
    detail: { type: 'google.rpc.RetryInfo', value: { retry_delay: { seconds: 2, nanos: 0 } } },
    json: { '@type': `${T}google.rpc.RetryInfo`, retryDelay: '2s' },
  },
  ErrorInfo: {
    detail: {
      type: 'google.rpc.ErrorInfo',
      value: { reason: 'E2E_REASON', domain: 'e2e.example.com', metadata: { zone: 'test-1', attempt: '1' } },
    },
    json: {
      '@type': `${T}google.rpc.ErrorInfo`,
      reason: 'E2E_REASON',
      domain: 'e2e.example.com',
      metadata: { zone: 'test-1', attempt: '1' },
    },
  },
  QuotaFailure: {
    detail: {
      type: 'google.rpc.QuotaFailure',
      value: {
        violations: [
          {
            subject: 'project:e2e',
            description: 'daily quota exceeded',
            api_service: 'e2e.example.com',
            quota_metric: 'e2e.example.com/calls',
            quota_id: 'CallsPerDay',
            quota_dimensions: { region: 'eu' },
            quota_value: '100',
          },
        ],
      },
    },
    json: {
      '@type': `${T}google.rpc.QuotaFailure`,
      violations: [
        {
          subject: 'project:e2e',
          description: 'daily quota exceeded',
          apiService: 'e2e.example.com',
          quotaMetric: 'e2e.example.com/calls',
          quotaId: 'CallsPerDay',
          quotaDimensions: { region: 'eu' },
          quotaValue: '100',
        },
      ],
    },
  },
  PreconditionFailure: {
    detail: {
      type: 'google.rpc.PreconditionFailure',
      value: { violations: [{ type: 'TOS', subject: 'e2e.example.com/terms', description: 'terms of service not accepted' }] },
    },
    json: {
      '@type': `${T}google.rpc.PreconditionFailure`,
      violations: [{ type: 'TOS', subject: 'e2e.example.com/terms', description: 'terms of service not accepted' }],
    },
  },
  ResourceInfo: {
    detail: {
      type: 'google.rpc.ResourceInfo',
      value: {
        resource_type: 'e2e.v1.Book',
        resource_name: 'shelves/1/books/2',
        owner: 'user:e2e',
        description: 'the book does not exist',
      },
    },
    json: {
      '@type': `${T}google.rpc.ResourceInfo`,
      resourceType: 'e2e.v1.Book',
      resourceName: 'shelves/1/books/2',
      owner: 'user:e2e',
      description: 'the book does not exist',
    },
  },
  Help: {
    detail: { type: 'google.rpc.Help', value: { links: [{ description: 'e2e fixture docs', url: 'https://example.com/e2e' }] } },
    json: { '@type': `${T}google.rpc.Help`, links: [{ description: 'e2e fixture docs', url: 'https://example.com/e2e' }] },
  },
  LocalizedMessage: {
    detail: { type: 'google.rpc.LocalizedMessage', value: { locale: 'en-US', message: 'The e2e call failed.' } },
    json: { '@type': `${T}google.rpc.LocalizedMessage`, locale: 'en-US', message: 'The e2e call failed.' },
  },
  DebugInfo: {
    detail: {
      type: 'google.rpc.DebugInfo',
      value: { stack_entries: ['at fail (grpc-server.ts)', 'at handle (grpc-js)'], detail: 'e2e debug detail' },
    },
    json: {
      '@type': `${T}google.rpc.DebugInfo`,
      stackEntries: ['at fail (grpc-server.ts)', 'at handle (grpc-js)'],
      detail: 'e2e debug detail',
    },
  },
  RequestInfo: {
    detail: { type: 'google.rpc.RequestInfo', value: { request_id: 'req-e2e-1', serving_data: 'shard-7' } },
    json: { '@type': `${T}google.rpc.RequestInfo`, requestId: 'req-e2e-1', servingData: 'shard-7' },
  },
  custom: {
    detail: { type: 'e2e.v1.CustomDetail', value: { note: 'custom detail', count: '42', kind: 'KIND_BOOK' } },
    json: { '@type': `${T}e2e.v1.CustomDetail`, note: 'custom detail', count: '42', kind: 'KIND_BOOK' },
  },
  unknown: {
    detail: { typeUrl: UNKNOWN_DETAIL_TYPE_URL, raw: UNKNOWN_DETAIL_BYTES },
    json: undefined,
  },
});

/** True when `kind` names one of the fixed details. */
export function isFailDetailKind(kind: string): kind is FailDetailKind {
  return (FAIL_DETAIL_KINDS as readonly string[]).includes(kind);
}

/** The message Fail answers with when the request sets none: `e2e failure: <CODE_NAME>`. */
export function defaultFailMessage(code: number): string {
  return `e2e failure: ${status[code] ?? String(code)}`;
}
