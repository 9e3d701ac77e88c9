/**
 * One client HTTP/2 connection (RFC 9113) as a unary gRPC client needs it, written by hand instead of
 * `node:http2`.
 *
 * Why: on node:http2 every call builds a ClientHttp2Stream (a Duplex with its own state machine), header
 * arrays and objects (`mapToHeaders`, `toHeaderObject`), an AsyncResource binding, several events and
 * nextTicks and ~10 KB of garbage, and nghttp2 keeps its own per-stream bookkeeping behind a C++ boundary
 * crossed several times per call (bench/RESULTS.md §0.3: ~13 µs/request of Node's http2 JS plus a share of
 * streams/events/GC). A unary call is one HEADERS + DATA out and HEADERS, DATA, trailers back; this class
 * does that with plain callbacks and one socket write per event-loop turn. Measured (bench/RESULTS.md
 * §0.7.1): the transport's client CPU per call 0.23× (c=16) and 0.39× (c=1) of the same transport on
 * node:http2, 49 → 32 KB allocated per proxied request, and no per-call work left in nghttp2.
 *
 * What it does: the preface and SETTINGS exchange (§3.4, §6.5), applying the server's
 * MAX_CONCURRENT_STREAMS (streams beyond it wait, without an id, until one closes: §5.1.2),
 * INITIAL_WINDOW_SIZE (incl. its effect on open streams, §6.9.2), MAX_FRAME_SIZE and MAX_HEADER_LIST_SIZE
 * (§6.5.2; the server's HEADER_TABLE_SIZE does not matter: hpack.ts never inserts into the peer's table);
 * send-side flow control (DATA that does not fit the windows waits for WINDOW_UPDATE, §6.9); receive-side
 * WINDOW_UPDATEs once half a window is consumed (as nghttp2 does); PING answers and our PINGs (§6.7);
 * GOAWAY in and out (§6.8); RST_STREAM in and out (§6.4). Anything the peer gets wrong at the connection
 * level (frame sizes, HEADERS on stream 0, CONTINUATION out of order, an undecodable header block…) is a
 * connection error: GOAWAY with the code, then the socket is destroyed and every stream ends (§5.4.1).
 * Server push is disabled (SETTINGS_ENABLE_PUSH 0), so PUSH_PROMISE is a PROTOCOL_ERROR (§8.4).
 *
 * Not here: timers (keepalive, connect timeout: connection.ts), gRPC semantics (attempt.ts).
 */
import type { Socket } from 'node:net';
import {
  DEFAULT_MAX_FRAME, ErrorCode, errorName, Flag, FRAME_HEADER, FrameError, FrameParser, FrameType, goawayFrame, pingFrame,
  PREFACE, rstStreamFrame, Setting, settingsFrame, windowUpdateFrame, writeHeader, type FrameSink,
} from './frames.js';
import { headerListSize, HpackDecoder, HpackError } from './hpack.js';
import { StreamTable } from './stream-table.js';

/** What a stream reports, in order: `onHeaders` (response headers, then trailers), `onData`, exactly one `onClose`. */
export interface StreamListener {
  /** A complete header block: name, value, name, value…; `end`: it ended the stream (trailers or trailers-only). */
  onHeaders(fields: string[], end: boolean): void;
  onData(chunk: Buffer): void;
  /** The stream is over. `rstCode`: the RST_STREAM code (ours or the server's), NO_ERROR for a normal end. */
  onClose(rstCode: number): void;
  /** Streams opened with an open body (`request(…, endBody false)`): everything pushed has been framed. */
  onDrained?(): void;
}

/** What the connection's owner hears. */
export interface SessionListener {
  /** The server's first SETTINGS arrived (the connection speaks HTTP/2). */
  onRemoteSettings(): void;
  onGoaway(code: number, lastStreamId: number, debug: Buffer): void;
  /** A connection error, ours or the socket's; `onClose` follows. */
  onError(err: Error): void;
  /** The session is over (every stream has had its `onClose`). Once. */
  onClose(): void;
}

/** Our side's settings. */
export interface SessionOptions {
  /** SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce on responses (§6.5.2). */
  readonly maxHeaderList: number;
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise (the receive window of each stream). */
  readonly streamWindow: number;
  /** The connection receive window (raised from 65 535 by a WINDOW_UPDATE on stream 0 at once). */
  readonly connectionWindow: number;
}

/** §6.9.1: windows never exceed 2^31-1. */
const MAX_WINDOW = 2 ** 31 - 1;
const DEFAULT_WINDOW = 65_535;
/** Stream ids are 31 bits; clients use the odd ones (§5.1.1). */
const MAX_STREAM_ID = 2 ** 31 - 1;
const EMPTY = Buffer.alloc(0);
/** DATA payloads from this size on are queued as views of the body, not copied behind their frame header. */
const COPY_BELOW = 4096;
/** A flush of this many octets or more goes to the socket as a corked batch of its buffers (writev), not joined. */
const WRITEV_FROM = 64 * 1024;
/**
 * Frames the peer makes us send (PING and SETTINGS acknowledgements) that may wait unwritten at once. A peer
 * that sends PINGs or SETTINGS faster than it reads our answers is flooding us (the "ping flood" and
 * "settings flood" of CVE-2019-9512/9515); nghttp2 ends such a session at 1000 queued items, and so do we.
 */
const MAX_QUEUED_ACKS = 1000;

const enum StreamState { Queued, Open, Closed }

/** One request stream. */
export class ClientStream {
  /** The stream id; 0 while queued behind MAX_CONCURRENT_STREAMS (never sent). */
  id = 0;
  /** The RST_STREAM code it ended with (NO_ERROR: ended normally; undefined while open). */
  rstCode: number | undefined;
  state = StreamState.Queued;
  /** Request body not yet sent (flow control), and whether END_STREAM is still to be sent. */
  body: Buffer;
  /** Octets that go before `body` (a large unary message's gRPC length prefix, so the message is not copied behind it). */
  bodyHead: Buffer | undefined = undefined;
  bodySent = false;
  /** No more body will be pushed: END_STREAM goes with the last of `body` (always so for unary calls). */
  bodyEnded = true;
  /** The reader is paused: received DATA is not given back as stream WINDOW_UPDATE until it resumes. */
  paused = false;
  sendWindow = 0;
  recvConsumed = 0;
  /** Response headers arrived (the next HEADERS are trailers). */
  gotHeaders = false;
  remoteEnded = false;

  /**
   * The request header block until HEADERS is written, then empty. Not kept for the stream's life: it is a
   * slice of Node's shared 8 KiB Buffer pool (hpack.ts encodeFields), and a stream that outlives
   * young-generation collections under load would keep the whole pool chunk until the next full collection
   * (bench/RESULTS.md §19).
   */
  block: Buffer;

  constructor(readonly session: ClientSession, block: Buffer, body: Buffer, readonly listener: StreamListener) {
    this.block = block;
    this.body = body;
  }

  /** Ends the stream now with RST_STREAM `code` (a queued stream just leaves the queue). Idempotent. */
  close(code: number): void {
    this.session.resetStream(this, code);
  }

  /** Streams opened with an open body: appends `data` to the request body; `end` sends END_STREAM after it. */
  push(data: Buffer, end: boolean): void {
    this.session.pushBody(this, data, end);
  }

  /**
   * Receive-side flow control (RFC 9113 §6.9): while paused, the stream's window is not replenished, so the
   * server can send at most one window (SessionOptions.streamWindow) ahead of the reader.
   */
  setPaused(paused: boolean): void {
    this.session.setPaused(this, paused);
  }
}

/**
 * The connection. `request` opens streams; `close` is graceful (no new streams, GOAWAY and end once the
 * streams are done), `destroy` is not (streams end now).
 */
export class ClientSession implements FrameSink {
  /** No new streams (GOAWAY received or sent, or closing). */
  closing = false;
  destroyed = false;
  /**
   * HEADERS and DATA frames received: what gRPC servers' ping policies count as the server having sent
   * something (keepalive, connection.ts).
   */
  framesIn = 0;
  private readonly parser = new FrameParser(this);
  private readonly decoder = new HpackDecoder();
  private readonly streams = new StreamTable<ClientStream>();
  private readonly queued: ClientStream[] = [];
  /** Open streams whose body waits for window. */
  private readonly blocked = new Set<ClientStream>();
  private nextId = 1;
  /** The highest stream id we sent HEADERS on. */
  private lastId = 0;
  private active = 0;
  private gotSettings = false;
  // The server's settings (§6.5.2 initial values until its SETTINGS arrive).
  private maxConcurrent = Infinity;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private peerMaxHeaderList = Infinity;
  private sendWindow = DEFAULT_WINDOW;
  private recvConsumed = 0;
  /** The stream whose header block is being continued (§6.10), its fragments, and whether it ended the stream. */
  private contStream = 0;
  private contFlags = 0;
  private contParts: Buffer[] = [];
  private contBytes = 0;
  private readonly pings: Array<(ok: boolean) => void> = [];
  private pingSeq = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  /** Acknowledgements in `out`, and handed to the socket but not yet written (MAX_QUEUED_ACKS). */
  private acksQueued = 0;
  private acksInSocket = 0;
  private flushScheduled = false;
  private readonly flushNow = (): void => this.flush();

  constructor(readonly socket: Socket, private readonly listener: SessionListener, private readonly o: SessionOptions) {
    // A socket read through SocketReads (socket-reads.ts) emits no 'data': its reads come to `receive`.
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err: Error) => this.destroy(err));
    socket.on('end', () => this.destroy());
    socket.on('close', () => this.destroy());
    // §3.4: the preface, then our SETTINGS; the connection window is raised at once (§6.9.2: only
    // WINDOW_UPDATE can change it).
    this.write(PREFACE);
    this.write(settingsFrame([[Setting.ENABLE_PUSH, 0], [Setting.INITIAL_WINDOW_SIZE, o.streamWindow], [Setting.MAX_HEADER_LIST_SIZE, o.maxHeaderList]]));
    if (o.connectionWindow > DEFAULT_WINDOW) this.write(windowUpdateFrame(0, o.connectionWindow - DEFAULT_WINDOW));
  }

  /** Streams not yet closed (open or queued). */
  get streamCount(): number {
    return this.streams.size + this.queued.length;
  }

  /**
   * Starts a stream: `block` is the encoded request header block (`listSize`: its §6.5.2 header list size),
   * `body` the whole request body (sent with END_STREAM). Throws when the session takes no new streams
   * (closing, destroyed, ids used up) or the header list exceeds the server's SETTINGS_MAX_HEADER_LIST_SIZE.
   */
  request(block: Buffer, listSize: number, body: Buffer, listener: StreamListener, endBody = true, bodyHead?: Buffer): ClientStream {
    if (this.destroyed || this.closing) throw new Error('The session is closed');
    if (this.nextId > MAX_STREAM_ID) throw new Error('Stream ids exhausted');
    if (listSize > this.peerMaxHeaderList) throw new Error(`Request headers (${listSize} octets) exceed the server's SETTINGS_MAX_HEADER_LIST_SIZE (${this.peerMaxHeaderList})`);
    const s = new ClientStream(this, block, body, listener);
    if (bodyHead !== undefined && bodyHead.length > 0) s.bodyHead = bodyHead;
    if (!endBody) s.bodyEnded = false;
    if (this.active < this.maxConcurrent) this.open(s);
    else this.queued.push(s);
    return s;
  }

  /** Sends a PING; `cb(true)` on its ACK, `cb(false)` if the session ends first. False if the session is gone. */
  ping(cb: (ok: boolean) => void): boolean {
    if (this.destroyed) return false;
    const data = Buffer.alloc(8);
    data.writeUInt32BE(++this.pingSeq >>> 0, 4);
    this.pings.push(cb);
    this.write(pingFrame(data, false));
    return true;
  }

  /** Graceful close: no new streams; GOAWAY NO_ERROR and the socket's end once every stream has closed. */
  close(): void {
    this.closing = true;
    if (this.streamCount === 0 && !this.destroyed) {
      this.write(goawayFrame(0, ErrorCode.NO_ERROR));
      this.destroy(undefined, true);
    }
  }

  /**
   * Ends everything now: every stream still open closes (rstCode CANCEL; the owner sees `destroyed`). With
   * `flushFirst` what is queued for the socket (a GOAWAY) is written before the socket closes; otherwise the
   * socket is destroyed at once. Idempotent.
   */
  destroy(err?: Error, flushFirst = false): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closing = true;
    if (err !== undefined) this.listener.onError(err);
    if (flushFirst && !this.socket.destroyed) {
      this.flush();
      this.socket.destroySoon();
    } else {
      this.out = [];
      this.socket.destroy();
    }
    const all = [...this.streams.values(), ...this.queued.splice(0)];
    this.streams.clear();
    this.blocked.clear();
    for (const s of all) this.finish(s, ErrorCode.CANCEL);
    for (const cb of this.pings.splice(0)) cb(false);
    this.listener.onClose();
  }

  /** RST_STREAM `code` for `s` (from ClientStream.close). */
  resetStream(s: ClientStream, code: number): void {
    if (s.state === StreamState.Closed) return;
    if (s.state === StreamState.Queued) {
      this.queued.splice(this.queued.indexOf(s), 1);
    } else if (!this.destroyed) {
      this.write(rstStreamFrame(s.id, code));
    }
    this.closeStream(s, code);
  }

  /** ClientStream.push. Ignored once the stream closed or its END_STREAM went out. */
  pushBody(s: ClientStream, data: Buffer, end: boolean): void {
    if (s.state === StreamState.Closed || s.bodySent || s.bodyEnded) return;
    if (data.length > 0) s.body = s.body.length === 0 ? data : Buffer.concat([s.body, data]);
    if (end) s.bodyEnded = true;
    if (s.state === StreamState.Open) this.sendBody(s);
  }

  /** ClientStream.setPaused: on resume, the window consumed meanwhile is given back. */
  setPaused(s: ClientStream, paused: boolean): void {
    s.paused = paused;
    if (!paused && s.state === StreamState.Open && !s.remoteEnded && s.recvConsumed >= this.o.streamWindow / 2) {
      this.write(windowUpdateFrame(s.id, s.recvConsumed));
      s.recvConsumed = 0;
    }
  }

  // ---- sending

  private open(s: ClientStream): void {
    const id = this.nextId;
    this.nextId += 2;
    s.id = id;
    this.lastId = id;
    s.state = StreamState.Open;
    s.sendWindow = this.peerInitialWindow;
    this.streams.add(s);
    this.active++;
    this.writeHeaders(s);
    this.sendBody(s);
  }

  /** HEADERS (+ CONTINUATION when the block exceeds the server's frame size, §6.10). */
  private writeHeaders(s: ClientStream): void {
    const block = s.block;
    s.block = EMPTY;
    const max = this.peerMaxFrame;
    if (block.length <= max) {
      const buf = Buffer.allocUnsafe(FRAME_HEADER + block.length);
      writeHeader(buf, 0, block.length, FrameType.HEADERS, Flag.END_HEADERS, s.id);
      block.copy(buf, FRAME_HEADER);
      this.write(buf);
      return;
    }
    for (let at = 0; at < block.length; at += max) {
      const part = block.subarray(at, at + max);
      const last = at + max >= block.length;
      const buf = Buffer.allocUnsafe(FRAME_HEADER + part.length);
      writeHeader(buf, 0, part.length, at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION, last ? Flag.END_HEADERS : 0, s.id);
      part.copy(buf, FRAME_HEADER);
      this.write(buf);
    }
  }

  /** Sends as much of the body as the windows allow; the rest waits for WINDOW_UPDATE. */
  private sendBody(s: ClientStream): void {
    while (!s.bodySent) {
      const head = s.bodyHead;
      const total = s.body.length + (head === undefined ? 0 : head.length);
      // An open body with nothing pushed yet: wait for ClientStream.push.
      if (total === 0 && !s.bodyEnded) break;
      const n = Math.min(total, this.peerMaxFrame, s.sendWindow, this.sendWindow);
      if (n <= 0 && total > 0) {
        this.blocked.add(s);
        return;
      }
      const all = n === total;
      const last = all && s.bodyEnded;
      if (head === undefined && n < COPY_BELOW) {
        // Small frames (every small unary call): header and payload in one buffer.
        const buf = Buffer.allocUnsafe(FRAME_HEADER + n);
        writeHeader(buf, 0, n, FrameType.DATA, last ? Flag.END_STREAM : 0, s.id);
        s.body.copy(buf, FRAME_HEADER, 0, n);
        this.write(buf);
        s.body = all ? EMPTY : s.body.subarray(n);
      } else {
        // Large bodies: the frame header, then views of the body, which go to the socket as they are.
        const h = Buffer.allocUnsafe(FRAME_HEADER);
        writeHeader(h, 0, n, FrameType.DATA, last ? Flag.END_STREAM : 0, s.id);
        this.write(h);
        let left = n;
        if (head !== undefined) {
          const k = Math.min(left, head.length);
          this.write(k === head.length ? head : head.subarray(0, k));
          s.bodyHead = k === head.length ? undefined : head.subarray(k);
          left -= k;
        }
        if (left > 0) {
          this.write(left === s.body.length ? s.body : s.body.subarray(0, left));
          s.body = left === s.body.length ? EMPTY : s.body.subarray(left);
        }
      }
      s.sendWindow -= n;
      this.sendWindow -= n;
      if (last) s.bodySent = true;
    }
    this.blocked.delete(s);
    if (!s.bodyEnded || s.bodySent) s.listener.onDrained?.();
  }

  private resumeBlocked(): void {
    for (const s of this.blocked) {
      if (this.sendWindow <= 0) return;
      this.sendBody(s);
    }
  }

  /** Queues `buf` for the socket; everything queued in one event-loop turn goes out in one write. */
  private write(buf: Buffer): void {
    this.out.push(buf);
    this.outBytes += buf.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushNow);
    }
  }

  /** Queues an acknowledgement the peer asked for; too many unwritten ones are a flood (MAX_QUEUED_ACKS). */
  private writeAck(buf: Buffer): void {
    if (++this.acksQueued + this.acksInSocket > MAX_QUEUED_ACKS) {
      throw new FrameError(ErrorCode.ENHANCE_YOUR_CALM, `flood: more than ${MAX_QUEUED_ACKS} PING/SETTINGS acknowledgements waiting to be written`);
    }
    this.write(buf);
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    const bytes = this.outBytes;
    const acks = this.acksQueued;
    this.acksQueued = 0;
    this.outBytes = 0;
    if (out.length === 0 || this.socket.destroyed) {
      this.out = [];
      return;
    }
    this.out = [];
    const done = acks === 0 ? undefined : (): void => {
      this.acksInSocket -= acks;
    };
    this.acksInSocket += acks;
    if (bytes >= WRITEV_FROM && out.length > 1) {
      // Much to send (large bodies): one corked batch, which the socket hands to writev as it is, rather
      // than a copy of all of it joined.
      const socket = this.socket;
      socket.cork();
      for (let i = 0; i < out.length - 1; i++) socket.write(out[i]!);
      socket.write(out[out.length - 1]!, done);
      socket.uncork();
      return;
    }
    this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out, bytes), done);
  }

  // ---- receiving

  /** Octets read from the socket. */
  receive(chunk: Buffer): void {
    if (this.destroyed) return;
    try {
      this.parser.push(chunk);
    } catch (err) {
      if (err instanceof FrameError) this.connectionError(err.code, err.message);
      else if (err instanceof HpackError) this.connectionError(ErrorCode.COMPRESSION_ERROR, `Header block could not be decoded: ${err.message}`);
      else throw err;
    }
  }

  /** §5.4.1: GOAWAY with the code, then close the connection. */
  private connectionError(code: ErrorCode, message: string): void {
    if (this.destroyed) return;
    this.write(goawayFrame(0, code, message)); // §6.8: the last stream the server initiated: none
    this.destroy(new Error(`Protocol error (${errorName(code)}): ${message}`), true);
  }

  onFrame(type: number, flags: number, id: number, p: Buffer, length: number): void {
    if (this.destroyed) return;
    if (this.contStream !== 0 && type !== FrameType.CONTINUATION) {
      throw new FrameError(ErrorCode.PROTOCOL_ERROR, `frame of type ${type} while a header block on stream ${this.contStream} awaits CONTINUATION`);
    }
    switch (type) {
      case FrameType.DATA: return this.onData(flags, id, p, length);
      case FrameType.HEADERS:
        if (id === 0) throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'HEADERS frame on stream 0');
        if ((flags & Flag.END_HEADERS) !== 0) return this.onHeaderBlock(id, flags, p);
        this.contStream = id;
        this.contFlags = flags;
        this.contParts = [Buffer.from(p)];
        this.contBytes = p.length;
        return;
      case FrameType.CONTINUATION:
        if (this.contStream === 0 || id !== this.contStream) throw new FrameError(ErrorCode.PROTOCOL_ERROR, `unexpected CONTINUATION frame on stream ${id}`);
        this.contParts.push(Buffer.from(p));
        this.contBytes += p.length;
        // An encoded block is never larger than the header list it carries (each field's list size counts 32
        // octets more than its literal): one far beyond our limit is abuse, and cannot be skipped without
        // losing the HPACK context (§10.5.1).
        if (this.contBytes > this.o.maxHeaderList) throw new FrameError(ErrorCode.ENHANCE_YOUR_CALM, `header block on stream ${id} exceeds ${this.o.maxHeaderList} octets`);
        if ((flags & Flag.END_HEADERS) !== 0) {
          const block = Buffer.concat(this.contParts);
          this.contStream = 0;
          this.contParts = [];
          this.onHeaderBlock(id, this.contFlags, block);
        }
        return;
      case FrameType.RST_STREAM: {
        if (id === 0) throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM frame on stream 0');
        this.checkKnown(id, 'RST_STREAM');
        const s = this.streams.get(id);
        if (s !== undefined) this.closeStream(s, p.readUInt32BE(0));
        return;
      }
      case FrameType.SETTINGS: return this.onSettings(flags, id, p);
      case FrameType.PUSH_PROMISE: throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
      case FrameType.PING:
        if (id !== 0) throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'PING frame on a stream');
        if ((flags & Flag.ACK) === 0) this.writeAck(pingFrame(p, true));
        else this.pings.shift()?.(true);
        return;
      case FrameType.GOAWAY:
        if (id !== 0) throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY frame on a stream');
        return this.onGoaway(p.readUInt32BE(0) & 0x7fffffff, p.readUInt32BE(4), Buffer.from(p.subarray(8)));
      case FrameType.WINDOW_UPDATE: return this.onWindowUpdate(id, p.readUInt32BE(0) & 0x7fffffff);
      default:
        // PRIORITY is advisory and a client may ignore it (§5.3.2); unknown types are ignored (§4.1, §5.5).
        return;
    }
  }

  /** §5.1: frames on a stream id we never opened (even ids, or above our last) are a PROTOCOL_ERROR. */
  private checkKnown(id: number, what: string): void {
    if ((id & 1) === 0 || id > this.lastId) throw new FrameError(ErrorCode.PROTOCOL_ERROR, `${what} frame on stream ${id}, which the client never opened`);
  }

  private onData(flags: number, id: number, p: Buffer, length: number): void {
    if (id === 0) throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'DATA frame on stream 0');
    this.checkKnown(id, 'DATA');
    this.framesIn++;
    // §6.9: the whole frame counts against the connection window, even on a stream we closed.
    this.recvConsumed += length;
    if (this.recvConsumed > this.o.connectionWindow) throw new FrameError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    if (this.recvConsumed >= this.o.connectionWindow / 2) {
      this.write(windowUpdateFrame(0, this.recvConsumed));
      this.recvConsumed = 0;
    }
    const s = this.streams.get(id);
    if (s === undefined) return; // closed by us (RST_STREAM crossed this frame): ignored
    if (!s.gotHeaders) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    const end = (flags & Flag.END_STREAM) !== 0;
    s.recvConsumed += length;
    if (s.recvConsumed > this.o.streamWindow) return this.streamError(s, ErrorCode.FLOW_CONTROL_ERROR);
    if (!end && !s.paused && s.recvConsumed >= this.o.streamWindow / 2) {
      this.write(windowUpdateFrame(id, s.recvConsumed));
      s.recvConsumed = 0;
    }
    if (p.length > 0) s.listener.onData(p);
    if (end && s.state === StreamState.Open) this.remoteEnd(s);
  }

  private onHeaderBlock(id: number, flags: number, block: Buffer): void {
    this.checkKnown(id, 'HEADERS');
    this.framesIn++;
    const fields: string[] = [];
    // Decoded even for a stream we no longer track: the HPACK context must see every block (RFC 7541 §2.2).
    this.decoder.decode(block, fields);
    const s = this.streams.get(id);
    if (s === undefined) return;
    // §6.5.2/§10.5.1: a header list above what we advertised is refused (nghttp2 resets the stream too).
    if (headerListSize(fields) > this.o.maxHeaderList) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    const end = (flags & Flag.END_STREAM) !== 0;
    // §8.1.1: a malformed response is a stream error PROTOCOL_ERROR, as nghttp2 treats it.
    if (!wellFormed(fields, !s.gotHeaders)) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    if (!s.gotHeaders) {
      // §8.1: 1xx responses come before the final one and are skipped.
      if (fields[1]!.startsWith('1') && !end) return;
      s.gotHeaders = true;
    } else if (!end) {
      return this.streamError(s, ErrorCode.PROTOCOL_ERROR); // §8.1: trailers must end the stream
    }
    s.listener.onHeaders(fields, end);
    if (end && s.state === StreamState.Open) this.remoteEnd(s);
  }

  /** The server ended its side. A body we have not finished sending is abandoned (§8.1: RST_STREAM NO_ERROR). */
  private remoteEnd(s: ClientStream): void {
    s.remoteEnded = true;
    if (!s.bodySent) this.write(rstStreamFrame(s.id, ErrorCode.NO_ERROR));
    this.closeStream(s, ErrorCode.NO_ERROR);
  }

  private streamError(s: ClientStream, code: ErrorCode): void {
    this.write(rstStreamFrame(s.id, code));
    this.closeStream(s, code);
  }

  private onSettings(flags: number, id: number, p: Buffer): void {
    if (id !== 0) throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS frame on a stream');
    if ((flags & Flag.ACK) !== 0) return;
    for (let at = 0; at < p.length; at += 6) {
      const key = p.readUInt16BE(at);
      const value = p.readUInt32BE(at + 2);
      switch (key) {
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new FrameError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_ENABLE_PUSH ${value}`);
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.maxConcurrent = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new FrameError(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
          // §6.9.2: the change applies to every open stream's window, which may go negative.
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) s.sendWindow += delta;
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME || value > 2 ** 24 - 1) throw new FrameError(ErrorCode.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
          this.peerMaxFrame = value;
          break;
        case Setting.MAX_HEADER_LIST_SIZE:
          this.peerMaxHeaderList = value;
          break;
        default: // HEADER_TABLE_SIZE: our encoder keeps no table; unknown settings are ignored (§6.5.2)
      }
    }
    this.writeAck(frameAck());
    this.resumeBlocked();
    this.startQueued();
    if (!this.gotSettings) {
      this.gotSettings = true;
      this.listener.onRemoteSettings();
    }
  }

  private onWindowUpdate(id: number, increment: number): void {
    if (id === 0) {
      if (increment === 0) throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0 on the connection');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new FrameError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      this.resumeBlocked();
      return;
    }
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (increment === 0) return this.streamError(s, ErrorCode.PROTOCOL_ERROR);
    s.sendWindow += increment;
    if (s.sendWindow > MAX_WINDOW) return this.streamError(s, ErrorCode.FLOW_CONTROL_ERROR);
    if (this.blocked.has(s)) this.sendBody(s);
  }

  /**
   * §6.8: streams above `lastStreamId` (and those still queued) were not processed: they close with
   * REFUSED_STREAM as their code. After a NO_ERROR GOAWAY the rest finish and the session then closes; any
   * other code ends the session now (as node:http2 does).
   */
  private onGoaway(lastStreamId: number, code: number, debug: Buffer): void {
    this.closing = true;
    this.listener.onGoaway(code, lastStreamId, debug);
    if (this.destroyed) return;
    for (const s of this.queued.splice(0)) this.closeStream(s, ErrorCode.REFUSED_STREAM);
    for (const s of this.streams.values()) if (s.id > lastStreamId) this.closeStream(s, ErrorCode.REFUSED_STREAM);
    if (code !== ErrorCode.NO_ERROR) this.destroy();
    else this.close();
  }

  private closeStream(s: ClientStream, code: number): void {
    if (s.state === StreamState.Closed) return;
    if (s.state === StreamState.Open) {
      this.streams.delete(s);
      this.blocked.delete(s);
      this.active--;
    }
    this.finish(s, code);
    if (!this.destroyed) {
      this.startQueued();
      if (this.closing && this.streamCount === 0) this.close();
    }
  }

  private finish(s: ClientStream, code: number): void {
    if (s.state === StreamState.Closed) return;
    s.state = StreamState.Closed;
    s.rstCode = code;
    s.listener.onClose(code);
  }

  /**
   * Opens queued streams while the server's limit allows (also after our own graceful `close`: they were
   * accepted before it). Once the ids are used up, what is left was never sent: REFUSED_STREAM (unprocessed).
   */
  private startQueued(): void {
    while (this.queued.length > 0 && this.active < this.maxConcurrent && !this.destroyed) {
      if (this.nextId > MAX_STREAM_ID) {
        for (const s of this.queued.splice(0)) this.finish(s, ErrorCode.REFUSED_STREAM);
        return;
      }
      this.open(this.queued.shift()!);
    }
  }
}

/** §8.2.2: fields that only HTTP/1 connections have. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * RFC 9113's rules for a response's field block (§8.1.1 malformed): a response starts with `:status`, its
 * only pseudo-header (§8.3.2); trailers have none (§8.1); names are lowercase (§8.2.1); no
 * connection-specific fields (§8.2.2).
 */
function wellFormed(fields: readonly string[], response: boolean): boolean {
  if (response && fields[0] !== ':status') return false;
  for (let i = response ? 2 : 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    if (name.length === 0 || name.charCodeAt(0) === 58 /* : */ || CONNECTION_SPECIFIC.has(name)) return false;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c >= 65 && c <= 90) return false; // A-Z
    }
  }
  return true;
}

function frameAck(): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER);
  writeHeader(buf, 0, 0, FrameType.SETTINGS, Flag.ACK, 0);
  return buf;
}
