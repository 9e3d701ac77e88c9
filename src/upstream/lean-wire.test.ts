import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { leanTargetOf } from './lean-wire.js';
import type { UpstreamPlan } from './service-config.js';

const outbound = (() => {
  const c = loadConfig([], {});
  if (!c.ok) throw new Error('default config');
  return c.config.outbound;
})();

const plan = (target: string, serverName?: string): UpstreamPlan =>
  ({ policy: { key: `grpc://${target}`, target, tls: serverName === undefined ? undefined : { ca: undefined, cert: undefined, key: undefined, serverName } } }) as unknown as UpstreamPlan;

describe('leanTargetOf: which upstreams get the lean transport', () => {
  it.each([
    ['127.0.0.1:50051', '127.0.0.1:50051'],
    ['dns:///payments.default.svc.cluster.local:50051', 'payments.default.svc.cluster.local:50051'],
    ['ipv4:10.0.0.1:50051,10.0.0.2:50051', '10.0.0.1:50051'],
    ['unix:/run/app.sock', 'localhost'],
  ])('%s → lean, authority %s', (target, authority) => {
    expect(leanTargetOf(plan(target), outbound, {})?.authority).toBe(authority);
  });

  it.each([['xds:///payments'], ['unix-abstract:app']])('%s → grpc-js (a target the lean transport does not reach)', (target) => {
    expect(leanTargetOf(plan(target), outbound, {})).toBeUndefined();
  });

  it('a TLS server name becomes the authority', () => {
    expect(leanTargetOf(plan('10.0.0.1:443', 'payments.internal'), outbound, {})?.authority).toBe('payments.internal');
  });

  it.each([['grpc_proxy'], ['https_proxy'], ['http_proxy']])('%s set → grpc-js (it tunnels through the proxy)', (name) => {
    expect(leanTargetOf(plan('127.0.0.1:50051'), outbound, { [name]: 'http://proxy:3128' })).toBeUndefined();
    expect(leanTargetOf(plan('127.0.0.1:50051'), outbound, { [name]: '' })).toBeDefined();
  });

  it('channelOptions set or --upstream-transport grpc-js → grpc-js', () => {
    expect(leanTargetOf(plan('127.0.0.1:50051'), { ...outbound, channelOptions: { 'grpc.enable_channelz': 1 } }, {})).toBeUndefined();
    expect(leanTargetOf(plan('127.0.0.1:50051'), { ...outbound, transport: 'grpc-js' }, {})).toBeUndefined();
  });
});
