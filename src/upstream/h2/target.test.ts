import { describe, expect, it } from 'vitest';
import { addressString, parseTarget, type TargetAddress } from './target.js';

const tcp = (host: string, port: number, literal: boolean): TargetAddress => ({ kind: 'tcp', host, port, literal });

describe('parseTarget (grpc-js target syntax)', () => {
  it.each([
    ['127.0.0.1:50051', 'dns', [tcp('127.0.0.1', 50051, true)], '127.0.0.1:50051'],
    ['localhost:50051', 'dns', [tcp('localhost', 50051, false)], 'localhost:50051'],
    ['localhost:0', 'dns', [tcp('localhost', 0, false)], 'localhost:0'],
    ['backend.internal', 'dns', [tcp('backend.internal', 443, false)], 'backend.internal'],
    ['dns:backend:8080', 'dns', [tcp('backend', 8080, false)], 'backend:8080'],
    ['dns:///backend:8080', 'dns', [tcp('backend', 8080, false)], 'backend:8080'],
    ['dns://8.8.8.8/backend:8080', 'dns', [tcp('backend', 8080, false)], 'backend:8080'],
    ['[::1]:50051', 'dns', [tcp('::1', 50051, true)], '[::1]:50051'],
    ['::1', 'dns', [tcp('::1', 443, true)], '::1'],
    ['ipv4:1.2.3.4:50051,5.6.7.8:50052', 'ipv4', [tcp('1.2.3.4', 50051, true), tcp('5.6.7.8', 50052, true)], '1.2.3.4:50051'],
    ['ipv4:1.2.3.4', 'ipv4', [tcp('1.2.3.4', 443, true)], '1.2.3.4'],
    ['ipv6:[::1]:50051,[fe80::1]:7', 'ipv6', [tcp('::1', 50051, true), tcp('fe80::1', 7, true)], '[::1]:50051'],
    ['unix:relative/sock', 'unix', [{ kind: 'unix', path: 'relative/sock' }], 'localhost'],
    ['unix:/abs/sock', 'unix', [{ kind: 'unix', path: '/abs/sock' }], 'localhost'],
    ['unix:///abs/sock', 'unix', [{ kind: 'unix', path: '/abs/sock' }], 'localhost'],
  ])('%s', (target, scheme, addresses, authority) => {
    expect(parseTarget(target)).toEqual(expect.objectContaining({ scheme, addresses, authority }));
  });

  it.each([
    ['xds:///svc'], ['unix-abstract:name'], ['vsock:3:5000'], ['ipv4:localhost:80'], ['ipv6:1.2.3.4:80'],
    ['host:port'], ['[::1'], ['[host]:80'], ['host:99999'], [':80'],
  ])('%s is left to grpc-js', (target) => {
    expect(parseTarget(target)).toBeUndefined();
  });

  it.each([
    ['10.0.0.1:443', undefined, '10.0.0.1:443', '10.0.0.1'],
    ['10.0.0.1:443', 'upstream.internal', 'upstream.internal', 'upstream.internal'],
    ['backend:443', undefined, 'backend:443', 'backend'],
    ['unix:/s', 'named', 'named', 'named'],
  ])('%s with serverName %s: authority %s, TLS host %s', (target, serverName, authority, tlsHost) => {
    expect(parseTarget(target, serverName)).toEqual(expect.objectContaining({ authority, tlsHost }));
  });

  it.each([
    [tcp('1.2.3.4', 5, true), '1.2.3.4:5'],
    [tcp('::1', 5, true), '[::1]:5'],
    [{ kind: 'unix', path: '/s' }, '/s'],
  ] as Array<[TargetAddress, string]>)('addressString %j', (a, s) => {
    expect(addressString(a)).toBe(s);
  });
});
