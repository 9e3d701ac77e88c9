/**
 * Bidirectional streaming over a WebSocket (docs/streaming.md), on @fastify/websocket:
 * a WebSocket upgrade on a bidi route's path (any of its bindings; the upgrade itself is a GET). Each text
 * frame is one JSON message, each way. An empty text frame from the client half-closes the request side
 * (a WebSocket has no half-close of its own); the client closing the socket cancels the call.
 *
 * The final status is the close frame: code 1000 for OK, else 4000 + the google.rpc.Code (4001 CANCELLED …
 * 4016 UNAUTHENTICATED), with the status message as the reason (RFC 6455 §5.5.1 allows 123 bytes; longer
 * messages are cut at a character boundary). A failure before the first message closes the same way.
 *
 * Flow control: a send is "full" while more than {@link HIGH_WATER} bytes wait in the socket, and the call
 * is paused until the sends complete; incoming frames are paused (ws `pause()`) while the call cannot take
 * more request messages.
 */
import { ServerResponse } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { Code, type RpcStatus } from '../status/status.js';
import { handleRequest, type HttpAnswer, type PipelineContext } from './pipeline.js';
import type { RequestSource, ResponseSink, StreamIo } from './stream-exchange.js';

const HIGH_WATER = 64 * 1024;
const OPEN = 1;
/** RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the code. */
const MAX_REASON_BYTES = 123;

/** The close code for a google.rpc.Code: 1000 for OK, 4000 + code otherwise (the private-use range). */
export function closeCodeOf(code: number): number {
  return code === Code.OK ? 1000 : 4000 + code;
}

/** `text` cut to at most MAX_REASON_BYTES of UTF-8, never inside a character. */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  let out = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > MAX_REASON_BYTES) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** The stream io of one WebSocket. */
function socketIo(socket: WebSocket, idleTimeoutMs: number): StreamIo {
  let closedByUs = false;
  const close = (code: number, reason: string): void => {
    closedByUs = true;
    if (socket.readyState === OPEN) socket.close(code, closeReason(reason));
  };
  let pendingSends = 0;
  let drained: (() => void) | undefined;
  const sent = (): void => {
    pendingSends--;
    if (drained !== undefined && socket.bufferedAmount < HIGH_WATER) {
      const cb = drained;
      drained = undefined;
      cb();
    }
  };
  const sink: ResponseSink = {
    begin: () => undefined,
    write(json) {
      pendingSends++;
      socket.send(json, sent);
      return socket.bufferedAmount < HIGH_WATER;
    },
    onDrain(cb) {
      if (pendingSends === 0 || socket.bufferedAmount < HIGH_WATER) setImmediate(cb);
      else drained = cb;
    },
    end(failure: RpcStatus | undefined) {
      close(closeCodeOf(failure?.code ?? Code.OK), failure?.message ?? '');
    },
  };
  const source: RequestSource = {
    start(line, end) {
      let n = 0;
      let ended = false;
      socket.on('message', (data, isBinary) => {
        if (ended) return;
        const text = isBinary ? '' : data.toString();
        n++;
        if (text.trim() === '') {
          ended = true;
          end();
          return;
        }
        line(n, text);
      });
    },
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    stop: () => undefined,
  };
  return {
    sink,
    source,
    onClientGone(cb) {
      socket.once('close', () => {
        if (!closedByUs) cb();
      });
    },
    clientGone: () => socket.readyState !== OPEN,
    idleTimeoutMs,
    heartbeatMs: 0,
  };
}

/** The google.rpc.Status message of an error answer's body, for a close reason. */
function messageOf(answer: HttpAnswer): string {
  try {
    const m = (JSON.parse(answer.body) as { message?: unknown }).message;
    return typeof m === 'string' ? m : '';
  } catch {
    return '';
  }
}

/**
 * The @fastify/websocket handler: serves the upgraded request through the same pipeline as HTTP requests
 * (routing, deadline, metadata, telemetry), with the socket as the stream's io.
 */
export function webSocketHandler(ctx: PipelineContext): (socket: WebSocket, request: FastifyRequest) => Promise<void> {
  return async (socket, request) => {
    const io = socketIo(socket, ctx.snapshot().config.streamIdleTimeoutMs);
    const answer = await handleRequest(ctx, {
      method: 'GET',
      url: request.raw.url ?? '/',
      headers: request.headers,
      body: undefined,
      requestId: request.id,
      // Unused on this path (the socket is the response); the pipeline's type wants one.
      res: new ServerResponse(request.raw),
      webSocket: io,
    });
    if (answer.streamed !== true && socket.readyState === OPEN) socket.close(closeCodeOf(answer.code), closeReason(messageOf(answer)));
  };
}
