/**
 * A streamed HTTP/1.x response (NDJSON or SSE framing: stream.ts) as a {@link ResponseSink}, and the
 * {@link StreamIo} of one HTTP request.
 *
 * Each message is one `res.write`, flushed as it comes: the messages of one upstream read are corked
 * together and go out in one socket write at the end of that turn (the server sockets have Nagle off). HTTP/1.1 responses are chunked; to an HTTP/1.0 client Node writes the
 * body unframed and closes the connection at the end (RFC 9112 §6.3: the body is then read to close). When
 * the client sent `TE: trailers` on HTTP/1.1, the trailers also go out as HTTP trailers (Grpc-Trailer-*).
 */
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { statusToJson } from '../status/wire.js';
import type { RpcStatus } from '../status/status.js';
import { ndjsonSource, type ResponseSink, type StreamIo } from './stream-exchange.js';
import { contentTypeOf, errorFrame, framingFor, messageFrame, SSE_HEARTBEAT, type StreamFraming } from './stream.js';

/** The sink writing `framing` to `res`; `hijack` tells the framework the response is ours from now on. */
export function httpSink(res: ServerResponse, framing: StreamFraming, hijack: () => void, trailersWanted: boolean, draining: () => boolean): ResponseSink {
  let corked = false;
  const uncork = (): void => {
    corked = false;
    res.uncork();
  };
  return {
    begin(headers) {
      hijack();
      headers['content-type'] = contentTypeOf(framing);
      // Proxies must not buffer or transform the stream (nginx honours X-Accel-Buffering).
      headers['cache-control'] = 'no-cache';
      headers['x-accel-buffering'] = 'no';
      if (draining()) headers['connection'] = 'close';
      res.writeHead(200, headers);
      res.flushHeaders();
    },
    write(json, index) {
      // Messages that arrive together (one upstream read) go out in one socket write: corked until this
      // turn's work is done, then flushed. Nothing waits for a later message.
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(uncork);
      }
      return res.write(messageFrame(framing, json, index));
    },
    onDrain(cb) {
      res.once('drain', cb);
    },
    end(failure: RpcStatus | undefined, trailers) {
      if (res.destroyed) return;
      if (failure !== undefined) res.write(errorFrame(framing, statusToJson(failure)));
      if (trailersWanted && res.chunkedEncoding && Object.keys(trailers).length > 0) res.addTrailers(trailers as Record<string, string>);
      res.end();
    },
    ...(framing === 'sse' ? { heartbeat: () => void res.write(SSE_HEARTBEAT) } : {}),
  };
}

/** Whether the request's TE header accepts trailers (RFC 9110 §10.1.4). */
function acceptsTrailers(te: string | string[] | undefined): boolean {
  const v = Array.isArray(te) ? te.join(',') : te;
  return v !== undefined && /(^|,)\s*trailers\s*(;|,|$)/i.test(v);
}

/** What an HTTP request streams with: its sink, its NDJSON body as the request source, its disconnect. */
export function httpStreamIo(o: {
  readonly res: ServerResponse;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly bodyStream: Readable | undefined;
  readonly requestStreams: boolean;
  readonly responseStreams: boolean;
  readonly hijack: () => void;
  readonly maxLineBytes: number;
  readonly idleTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly draining: () => boolean;
}): StreamIo {
  const res = o.res;
  let gone = false;
  const framing = framingFor(o.headers['accept']);
  return {
    sink: o.responseStreams ? httpSink(res, framing, o.hijack, acceptsTrailers(o.headers['te']), o.draining) : undefined,
    source: o.requestStreams ? ndjsonSource(o.bodyStream, o.maxLineBytes) : undefined,
    onClientGone(cb) {
      const onClose = (): void => {
        if (res.writableEnded) return;
        gone = true;
        cb();
      };
      if (res.destroyed) onClose();
      else res.once('close', onClose);
    },
    clientGone: () => gone || res.destroyed,
    idleTimeoutMs: o.idleTimeoutMs,
    heartbeatMs: framing === 'sse' ? o.heartbeatMs : 0,
  };
}
