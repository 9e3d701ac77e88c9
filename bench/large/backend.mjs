// The large-message benchmark's gRPC backend (grpc-js), answering from pre-encoded bytes so it builds no
// objects per call. GetItems {size}: the ItemList of that size (bench/large/messages.mjs); `size@MS` answers
// after MS milliseconds (so that N concurrent requests are all in flight in attache at once). Ingest: counts
// the items of the posted ItemList on the wire and answers an IngestSummary.
// Usage: node bench/large/backend.mjs   (prints "listening PORT"; 127.0.0.1, a port the OS picks)
import * as grpc from '@grpc/grpc-js';
import { readVarint } from '../lib/proto.mjs';
import { buildMessages, largeMethod as method, loadLarge } from './messages.mjs';

const messages = buildMessages();
const { IngestSummary } = loadLarge();

/** How many `items` (field 1) a posted ItemList holds, read from the wire without decoding them. */
function countItems(buf) {
  const pos = { i: 0 };
  let items = 0;
  while (pos.i < buf.length) {
    const tag = readVarint(buf, pos);
    const wt = tag & 7;
    if (wt === 0) readVarint(buf, pos);
    else if (wt === 2) {
      const n = readVarint(buf, pos);
      if (tag >>> 3 === 1) items++;
      pos.i += n;
    } else if (wt === 1) pos.i += 8;
    else if (wt === 5) pos.i += 4;
    else throw new Error(`wire type ${wt}`);
  }
  return items;
}


const server = new grpc.Server({ 'grpc.enable_channelz': 0, 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': 64 << 20 });
server.addService(
  { GetItems: method('GetItems'), Ingest: method('Ingest') },
  {
    GetItems(call, cb) {
      const req = call.request;
      // GetItemsRequest { 1: string size }
      const text = req.length > 2 ? req.toString('utf8', 2) : '';
      const [size, ms] = text.split('@');
      const m = messages[size];
      if (m === undefined) return cb({ code: grpc.status.NOT_FOUND, details: `no size "${size}"` });
      const delay = Number(ms ?? 0);
      if (delay > 0) setTimeout(() => cb(null, m.bytes), Math.min(delay, 10_000));
      else cb(null, m.bytes);
    },
    Ingest(call, cb) {
      cb(null, Buffer.from(IngestSummary.encode({ items: countItems(call.request), requestBytes: call.request.length }).finish()));
    },
  },
);
server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  process.stdout.write(`listening ${port}\n`);
});
