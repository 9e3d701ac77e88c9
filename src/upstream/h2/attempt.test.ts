import { describe, expect, it } from 'vitest';
import type { AttemptContext } from './attempt.js';
import { headerPrefix } from './attempt.js';
import { HpackDecoder } from './hpack.js';

const context = (): AttemptContext =>
  ({ scheme: 'http', authority: 'backend:50051', userAgent: 'attache/test', prefixes: new Map() }) as unknown as AttemptContext;

describe('headerPrefix', () => {
  it('encodes the constant request headers of a method, pseudo-headers first, and its header list size', () => {
    const p = headerPrefix(context(), '/pkg.Svc/Get');
    const fields: string[] = [];
    new HpackDecoder().decode(p.block, fields);
    expect(fields).toEqual([
      ':method', 'POST', ':scheme', 'http', ':path', '/pkg.Svc/Get', ':authority', 'backend:50051',
      'content-type', 'application/grpc', 'te', 'trailers', 'user-agent', 'attache/test', 'grpc-accept-encoding', 'identity,deflate,gzip',
    ]);
    let size = 0;
    for (let i = 0; i < fields.length; i += 2) size += fields[i]!.length + fields[i + 1]!.length + 32;
    expect(p.listSize).toBe(size);
  });

  it('is made once per path', () => {
    const ctx = context();
    expect(headerPrefix(ctx, '/pkg.Svc/Get')).toBe(headerPrefix(ctx, '/pkg.Svc/Get'));
    expect(headerPrefix(ctx, '/pkg.Svc/List')).not.toBe(headerPrefix(ctx, '/pkg.Svc/Get'));
  });

  it('holds only its own bytes, not a chunk of the shared Buffer pool', () => {
    // Kept for the transport's life: a pool slice would keep the whole chunk (64 KiB on Node 24) alive.
    const p = headerPrefix(context(), '/pkg.Svc/Get');
    expect(p.block.byteOffset).toBe(0);
    expect(p.block.buffer.byteLength).toBe(p.block.length);
  });
});
