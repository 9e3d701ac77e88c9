// The gRPC backend of the real-world bench and test: one grpc-js server for every service of a set
// (bench/realworld/build-set.mjs), answering every method with a "filled" message of its output type
// (bench/realworld/fill.mjs), encoded once at start. Requests are not decoded: the handlers see bytes.
// Unary: the message. Server stream: the message twice. Client stream: reads every request message, then
// the message. Bidi: the message once per request message, then ends when the client does.
//
// Usage: node bench/realworld/backend.mjs --set DIR [--port 0] [--max-seconds 1800]
// Listens on 127.0.0.1 only and prints `listening PORT`; exits after --max-seconds whatever happens, so a
// bench that dies cannot leave it behind for long.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary, toJson } from '@bufbuild/protobuf';
import { fillMessage } from './fill.mjs';
import { loadSet } from './set.mjs';

const identity = (b) => b;

function handlerFor(kind, bytes, onRequest) {
  switch (kind) {
    case 'unary':
      return (call, callback) => {
        onRequest(call.request);
        callback(null, bytes);
      };
    case 'server-stream':
      return (call) => {
        call.write(bytes);
        call.write(bytes);
        call.end();
      };
    case 'client-stream':
      return (call, callback) => {
        call.on('data', () => {});
        call.on('error', () => {});
        call.on('end', () => callback(null, bytes));
      };
    case 'bidi':
      return (call) => {
        call.on('data', () => call.write(bytes));
        call.on('error', () => {});
        call.on('end', () => call.end());
      };
    default:
      throw new Error(`method kind ${kind}`);
  }
}

/**
 * The responses of a loaded set (loadSet's answer): a Map selector → `{ method, bytes, json }`, `bytes` the
 * encoded filled message and `json` its proto3 JSON form as @bufbuild/protobuf prints it from those bytes
 * (defaults omitted, int64 as strings, enums as names, bytes as base64, well-known types in their forms).
 */
export function responsesOf(set) {
  const out = new Map();
  const byType = new Map();
  for (const m of set.methods) {
    let r = byType.get(m.output.typeName);
    if (!r) {
      const bytes = Buffer.from(toBinary(m.output, fillMessage(m.output)));
      r = { bytes, json: toJson(m.output, fromBinary(m.output, bytes), { registry: set.registry }) };
      byType.set(m.output.typeName, r);
    }
    out.set(m.selector, { method: m, ...r });
  }
  return out;
}

/**
 * Starts the backend for `set` on 127.0.0.1:`port` (0: the OS picks); resolves with
 * `{ port, target, responses, received, close() }` (`received`: selector → the bytes of the last request of
 * each unary method). Rejects if it cannot bind.
 */
export async function startBackend(set, { port = 0 } = {}) {
  const responses = responsesOf(set);
  const received = new Map();
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 2 ** 20 });
  const services = new Map();
  for (const { method: m, bytes } of responses.values()) {
    if (!services.has(m.service)) services.set(m.service, { definition: {}, handlers: {} });
    const s = services.get(m.service);
    s.definition[m.name] = {
      path: `/${m.service}/${m.name}`,
      requestStream: m.kind === 'client-stream' || m.kind === 'bidi',
      responseStream: m.kind === 'server-stream' || m.kind === 'bidi',
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    s.handlers[m.name] = handlerFor(m.kind, bytes, (req) => received.set(m.selector, req));
  }
  for (const s of services.values()) server.addService(s.definition, s.handlers);
  const bound = await new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    port: bound,
    target: `127.0.0.1:${bound}`,
    responses,
    received,
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : dflt;
  };
  const dir = arg('set', '');
  if (dir === '') throw new Error('--set DIR is required');
  const maxSeconds = Number(arg('max-seconds', '1800'));
  const b = await startBackend(loadSet(dir), { port: Number(arg('port', '0')) });
  setTimeout(() => process.exit(0), maxSeconds * 1000).unref();
  process.on('SIGTERM', () => b.close().then(() => process.exit(0)));
  process.stdout.write(`listening ${b.port}\n`);
}
