/**
 * Framing for streams over HTTP/1.x, as small pure functions (docs/streaming.md; grpc-gateway's
 * ForwardResponseStream is the model):
 * - NDJSON out: one `{"result":<message>}` line per message, and a last `{"error":<google.rpc.Status>}`
 *   line when the stream fails after it started;
 * - Server-Sent Events out (https://html.spec.whatwg.org/multipage/server-sent-events.html): `id:` and
 *   `data:` per message, `event: error` with the Status on failure, comment lines as heartbeats;
 * - NDJSON in: {@link LineSplitter} cuts a byte stream into numbered lines as it arrives.
 * The JSON handed in is compact (the codec never writes a raw newline), so one message is one line.
 */

/** How a streamed response is framed, from the request's Accept header. */
export type StreamFraming = 'ndjson' | 'sse';

export const NDJSON_TYPE = 'application/x-ndjson';
export const SSE_TYPE = 'text/event-stream';

/** `text/event-stream` in Accept gives SSE; anything else (NDJSON, application/json, none) gives NDJSON. */
export function framingFor(accept: string | readonly string[] | undefined): StreamFraming {
  const a = typeof accept === 'object' ? accept.join(',') : accept;
  return a !== undefined && a.toLowerCase().includes(SSE_TYPE) ? 'sse' : 'ndjson';
}

/** The Content-Type of a framing. */
export function contentTypeOf(f: StreamFraming): string {
  return f === 'sse' ? SSE_TYPE : NDJSON_TYPE;
}

/** One response message (its JSON text), the `index`-th of the stream (0-based). */
export function messageFrame(f: StreamFraming, json: string, index: number): string {
  return f === 'sse' ? `id: ${index}\ndata: ${json}\n\n` : `{"result":${json}}\n`;
}

/** The failure of a stream that already started (`statusJson`: the google.rpc.Status JSON). */
export function errorFrame(f: StreamFraming, statusJson: string): string {
  return f === 'sse' ? `event: error\ndata: ${statusJson}\n\n` : `{"error":${statusJson}}\n`;
}

/** An SSE comment: ignored by EventSource clients, but traffic for proxies that close idle connections. */
export const SSE_HEARTBEAT = ': heartbeat\n\n';

/** A line longer than the limit (the body limit applies to each NDJSON line of a request stream). */
export class LineTooLong extends Error {
  constructor(readonly lineNumber: number, readonly limit: number) {
    super(`request line ${lineNumber} is longer than the limit of ${limit} bytes`);
    this.name = 'LineTooLong';
  }
}

/**
 * Cuts NDJSON request bytes into lines as chunks arrive (`\n` or `\r\n`), numbering them from 1. Blank
 * lines are counted but not returned. A newline byte never occurs inside a UTF-8 multi-byte sequence, so
 * lines are cut on bytes and decoded whole.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  private line = 0;

  constructor(private readonly maxLineBytes: number) {}

  /**
   * The complete lines in `chunk` (with what came before it), as [lineNumber, text].
   * @throws LineTooLong when a line exceeds the limit
   */
  push(chunk: Buffer): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      const bytes = this.partBytes + piece.length;
      const whole = this.parts.length === 0 ? piece : Buffer.concat([...this.parts, piece], bytes);
      this.parts = [];
      this.partBytes = 0;
      this.emit(whole, out);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.partBytes += rest.length;
      if (this.partBytes > this.maxLineBytes) throw new LineTooLong(this.line + 1, this.maxLineBytes);
      // Copied: the chunk's buffer may be reused by the stream it came from.
      this.parts.push(Buffer.from(rest));
    }
    return out;
  }

  /** The last line, when the body did not end with a newline. */
  end(): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    if (this.partBytes > 0) this.emit(Buffer.concat(this.parts, this.partBytes), out);
    this.parts = [];
    this.partBytes = 0;
    return out;
  }

  private emit(bytes: Buffer, out: Array<[number, string]>): void {
    const n = ++this.line;
    if (bytes.length > this.maxLineBytes) throw new LineTooLong(n, this.maxLineBytes);
    const text = bytes.toString('utf8');
    if (text.trim() !== '') out.push([n, text]);
  }
}
