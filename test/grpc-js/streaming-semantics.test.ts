// test/e2e/streaming-semantics.test.ts again, with the upstream calls on grpc-js (--upstream-transport grpc-js)
// instead of attache's lean HTTP/2 transport: the same servers, the same expectations.
process.env['ATTACHE_UPSTREAM_TRANSPORT'] = 'grpc-js';
await import('../e2e/streaming-semantics.test.js');
