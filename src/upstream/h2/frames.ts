/**
 * HTTP/2 frames (RFC 9113 §4, §6): the 9-octet header, encoders for the frames a gRPC client sends, and a
 * streaming parser that takes the socket's chunks as they come (a frame split over any number of chunks,
 * many frames in one chunk) and hands each whole frame to a sink.
 *
 * The parser checks what needs no connection state: the frame size against our SETTINGS_MAX_FRAME_SIZE
 * (§4.2), the fixed payload sizes (§6.3–§6.9), padding (§6.1, §6.2) and the HEADERS priority fields (which
 * it drops: §5.3.2 lets a client ignore priority). A violation is a {@link FrameError} carrying the
 * connection error code; the session answers it with GOAWAY and closes (§5.4.1). Stream-level rules
 * (which stream a frame may be on, CONTINUATION order) are the session's.
 */

/** Frame types (RFC 9113 §6). */
export const enum FrameType { DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PUSH_PROMISE = 5, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9 }

/** Frame flags (the same bit means END_STREAM on DATA/HEADERS and ACK on SETTINGS/PING). */
export const enum Flag { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIORITY = 0x20 }

/** Error codes (RFC 9113 §7). */
export const enum ErrorCode {
  NO_ERROR = 0, PROTOCOL_ERROR = 1, INTERNAL_ERROR = 2, FLOW_CONTROL_ERROR = 3, SETTINGS_TIMEOUT = 4, STREAM_CLOSED = 5,
  FRAME_SIZE_ERROR = 6, REFUSED_STREAM = 7, CANCEL = 8, COMPRESSION_ERROR = 9, CONNECT_ERROR = 10, ENHANCE_YOUR_CALM = 11,
  INADEQUATE_SECURITY = 12, HTTP_1_1_REQUIRED = 13,
}

const ERROR_NAMES = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

/** RFC 9113 §7's name of an error code. */
export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `code ${code}`;
}

/** SETTINGS identifiers (RFC 9113 §6.5.2). */
export const enum Setting { HEADER_TABLE_SIZE = 1, ENABLE_PUSH = 2, MAX_CONCURRENT_STREAMS = 3, INITIAL_WINDOW_SIZE = 4, MAX_FRAME_SIZE = 5, MAX_HEADER_LIST_SIZE = 6 }

/** RFC 9113 §3.4: what a client sends first. */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER = 9;
/** §4.2: the initial (and smallest allowed) SETTINGS_MAX_FRAME_SIZE. */
export const DEFAULT_MAX_FRAME = 16_384;

/** A connection error (§5.4.1) found while parsing. */
export class FrameError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

/** Writes a frame header at `at`. */
export function writeHeader(buf: Buffer, at: number, length: number, type: FrameType | number, flags: number, streamId: number): void {
  buf[at] = length >>> 16;
  buf[at + 1] = (length >>> 8) & 0xff;
  buf[at + 2] = length & 0xff;
  buf[at + 3] = type;
  buf[at + 4] = flags;
  buf.writeUInt32BE(streamId, at + 5);
}

/** A whole frame with `payload` (copied). */
export function frame(type: FrameType | number, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const n = payload?.length ?? 0;
  const buf = Buffer.allocUnsafe(FRAME_HEADER + n);
  writeHeader(buf, 0, n, type, flags, streamId);
  if (payload !== undefined) buf.set(payload, FRAME_HEADER);
  return buf;
}

/** SETTINGS with the given [id, value] pairs (§6.5.1). */
export function settingsFrame(settings: ReadonlyArray<readonly [Setting, number]>): Buffer {
  const p = Buffer.allocUnsafe(6 * settings.length);
  settings.forEach(([id, value], i) => {
    p.writeUInt16BE(id, 6 * i);
    p.writeUInt32BE(value, 6 * i + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
}

/** WINDOW_UPDATE (§6.9) of `increment` (1 … 2^31-1). */
export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER + 4);
  writeHeader(buf, 0, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  buf.writeUInt32BE(increment, FRAME_HEADER);
  return buf;
}

/** RST_STREAM (§6.4). */
export function rstStreamFrame(streamId: number, code: ErrorCode): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER + 4);
  writeHeader(buf, 0, 4, FrameType.RST_STREAM, 0, streamId);
  buf.writeUInt32BE(code, FRAME_HEADER);
  return buf;
}

/** GOAWAY (§6.8). */
export function goawayFrame(lastStreamId: number, code: ErrorCode, debug = ''): Buffer {
  const d = Buffer.from(debug, 'utf8');
  const buf = Buffer.allocUnsafe(FRAME_HEADER + 8 + d.length);
  writeHeader(buf, 0, 8 + d.length, FrameType.GOAWAY, 0, 0);
  buf.writeUInt32BE(lastStreamId, FRAME_HEADER);
  buf.writeUInt32BE(code, FRAME_HEADER + 4);
  d.copy(buf, FRAME_HEADER + 8);
  return buf;
}

/** PING (§6.7) with 8 octets of opaque data. */
export function pingFrame(data: Uint8Array, ack: boolean): Buffer {
  return frame(FrameType.PING, ack ? Flag.ACK : 0, 0, data);
}

/** Receives whole frames. `payload` is a view into the socket's chunk (padding removed); `length` is the frame's length as sent (flow control counts padding, §6.1). */
export interface FrameSink {
  onFrame(type: number, flags: number, streamId: number, payload: Buffer, length: number): void;
}

/**
 * The receive side: `push` every chunk from the socket. Frames go to the sink synchronously, in order.
 * Throws {@link FrameError} on the first violation; the parser is unusable afterwards.
 */
export class FrameParser {
  /** Our SETTINGS_MAX_FRAME_SIZE: larger frames are a FRAME_SIZE_ERROR (§4.2). */
  maxFrameSize = DEFAULT_MAX_FRAME;
  /** Octets of an incomplete frame carried over from earlier chunks. */
  private rest: Buffer | undefined;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    let buf = chunk;
    let pos = 0;
    if (this.rest !== undefined) {
      // Only the frame the last chunk left unfinished is joined (≤ one frame copied), not the whole chunk:
      // with 16 KiB frames in 64 KiB reads, joining the chunk copied nearly every DATA octet once more.
      const rest = this.rest;
      const head = rest.length >= FRAME_HEADER ? rest : Buffer.concat([rest, chunk.subarray(0, FRAME_HEADER - rest.length)]);
      if (head.length < FRAME_HEADER) {
        this.rest = head;
        return;
      }
      const length = (head[0]! << 16) | (head[1]! << 8) | head[2]!;
      if (length > this.maxFrameSize) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} octets exceeds the maximum frame size ${this.maxFrameSize}`);
      const need = FRAME_HEADER + length - rest.length;
      if (chunk.length < need) {
        this.rest = Buffer.concat([rest, chunk]);
        return;
      }
      this.rest = undefined;
      buf = Buffer.concat([rest, chunk.subarray(0, need)]);
      this.frames(buf, 0);
      buf = chunk;
      pos = need;
    }
    this.frames(buf, pos);
  }

  /** Delivers the whole frames of `buf` from `pos` on; keeps an unfinished last frame in `rest`. */
  private frames(buf: Buffer, from: number): void {
    const end = buf.length;
    let pos = from;
    while (end - pos >= FRAME_HEADER) {
      const length = (buf[pos]! << 16) | (buf[pos + 1]! << 8) | buf[pos + 2]!;
      if (length > this.maxFrameSize) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} octets exceeds the maximum frame size ${this.maxFrameSize}`);
      if (end - pos < FRAME_HEADER + length) break;
      const type = buf[pos + 3]!;
      const flags = buf[pos + 4]!;
      const streamId = buf.readUInt32BE(pos + 5) & 0x7fffffff; // §4.1: the reserved bit is ignored
      const start = pos + FRAME_HEADER;
      pos = start + length;
      this.sink.onFrame(type, flags, streamId, checkPayload(type, flags, buf.subarray(start, pos)), length);
    }
    if (pos < end) {
      this.rest = buf.subarray(pos);
    }
  }
}

/** The fixed-size and padding rules; returns the payload without padding or priority fields. */
function checkPayload(type: number, flags: number, p: Buffer): Buffer {
  switch (type) {
    case FrameType.DATA:
    case FrameType.HEADERS: {
      let start = 0;
      let end = p.length;
      if ((flags & Flag.PADDED) !== 0) {
        if (end < 1) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, 'padded frame without a pad length');
        end -= p[0]!;
        start = 1;
      }
      if (type === FrameType.HEADERS && (flags & Flag.PRIORITY) !== 0) start += 5;
      // §6.1/§6.2: padding that is not shorter than the rest of the payload is a PROTOCOL_ERROR.
      if (end < start) throw new FrameError(ErrorCode.PROTOCOL_ERROR, 'padding exceeds the frame payload');
      return start === 0 && end === p.length ? p : p.subarray(start, end);
    }
    case FrameType.PRIORITY:
      if (p.length !== 5) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY frame is not 5 octets');
      return p;
    case FrameType.RST_STREAM:
      if (p.length !== 4) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM frame is not 4 octets');
      return p;
    case FrameType.SETTINGS:
      if ((flags & Flag.ACK) !== 0 ? p.length !== 0 : p.length % 6 !== 0) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS frame of a bad length');
      return p;
    case FrameType.PING:
      if (p.length !== 8) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, 'PING frame is not 8 octets');
      return p;
    case FrameType.GOAWAY:
      if (p.length < 8) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY frame shorter than 8 octets');
      return p;
    case FrameType.WINDOW_UPDATE:
      if (p.length !== 4) throw new FrameError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE frame is not 4 octets');
      return p;
    default:
      return p;
  }
}
