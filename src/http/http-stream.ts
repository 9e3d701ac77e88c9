/**
 * A streamed HTTP/1.x response (NDJSON or SSE framing: stream.ts) as a {@link ResponseSink}, and the
 * {@link StreamIo} of one HTTP request.
 *
 * Each message is flushed as it comes: the messages of one upstream read are joined and go out in one
 * write at the end of that event-loop iteration (the server sockets have Nagle off). HTTP/1.1 responses are chunked; to an HTTP/1.0 client Node writes the
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
  // The frames of one event-loop iteration (what one upstream read delivered) are joined and written once,
  // in its check phase (setImmediate; sooner past BATCH_CHARS): one chunk and one socket write instead of one
  // per message, which costs more than the message's JSON (grpc-js hands each message over in its own
  // microtask, so process.nextTick would still flush per message). Nothing waits for a later message.
  let pending = '';
  let scheduled = false;
  const flush = (): boolean => {
    const text = pending;
    pending = '';
    return res.write(text);
  };
  const flushTurn = (): void => {
    scheduled = false;
    if (pending !== '' && !res.destroyed) flush();
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
      pending += messageFrame(framing, json, index);
      if (pending.length >= BATCH_CHARS) return flush();
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushTurn);
      }
      return res.writableLength < BUFFERED_LIMIT;
    },
    onDrain(cb) {
      if (res.writableLength >= BUFFERED_LIMIT) res.once('drain', cb);
      else setImmediate(cb);
    },
    end(failure: RpcStatus | undefined, trailers) {
      if (res.destroyed) return;
      if (failure !== undefined) pending += errorFrame(framing, statusToJson(failure));
      if (pending !== '') flush();
      if (trailersWanted && res.chunkedEncoding && Object.keys(trailers).length > 0) res.addTrailers(trailers as Record<string, string>);
      res.end();
    },
    ...(framing === 'sse'
      ? {
          heartbeat: () => {
            pending += SSE_HEARTBEAT;
            flush();
          },
        }
      : {}),
  };
}

/** Past this many characters of frames waiting in an iteration, they are written at once. */
const BATCH_CHARS = 32 * 1024;
/**
 * Bytes the response may hold unsent before the call is paused. Above the socket's 16 KiB high-water mark
 * on purpose: pausing and resuming at every batch costs more than the memory (grpc-js restarts reading its
 * stream each time); still a small bound per stream.
 */
const BUFFERED_LIMIT = 256 * 1024;

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
