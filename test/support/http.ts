/**
 * Small HTTP clients for end-to-end tests against a listening attache.
 *
 * `request` goes through node:http rather than fetch: it sends any method token (PURGE), lets a test set
 * headers fetch forbids (Host, Connection, TE, Transfer-Encoding) and returns the raw header values.
 * `rawRequest` writes bytes as given over a TCP socket, for what no client library will send: HTTP/1.0,
 * malformed request lines, odd framing.
 */
import http from 'node:http';
import net from 'node:net';

/** What a test may send. A non-string, non-Buffer body is sent as JSON with `Content-Type: application/json`. */
export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string | Buffer | object;
  /** Rejects when no complete response arrives in time; default 10 000 ms. */
  readonly timeoutMs?: number;
}

/** A complete response. */
export interface HttpResponse {
  readonly status: number;
  /** Header names lower-cased, as node:http reports them (`set-cookie` is an array, others joined). */
  readonly headers: http.IncomingHttpHeaders;
  /** The body as UTF-8 text. */
  readonly body: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  readonly json: unknown;
}

/** Parses `text` as JSON, or undefined; for the newline-delimited stream bodies use `ndjson`. */
function tryJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Sends one HTTP/1.1 request and reads the whole response.
 * @throws (rejects) on a connection error or after `timeoutMs`.
 */
export function request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers[k] = typeof v === 'string' ? v : [...v];
  let payload: string | Buffer | undefined;
  if (opts.body === undefined || typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) {
    payload = opts.body;
  } else {
    payload = JSON.stringify(opts.body);
    const hasType = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
    if (!hasType) headers['content-type'] = 'application/json';
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers, timeout: opts.timeoutMs ?? 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: tryJson(body) });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`request ${opts.method ?? 'GET'} ${url}: no response within ${opts.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Each non-empty line of a newline-delimited JSON body, parsed. @throws on a line that is not JSON. */
export function ndjson(body: string): unknown[] {
  return body
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/**
 * How many bytes of `buf` the first HTTP response occupies, or undefined while it is incomplete (or is
 * delimited only by the connection closing). Follows RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304;
 * else chunked, else Content-Length, else until close.
 */
function responseLength(buf: Buffer, isHead: boolean): number | undefined {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return undefined;
  const head = buf.subarray(0, headEnd).toString('latin1');
  const bodyStart = headEnd + 4;
  const statusCode = Number(/^HTTP\/\d\.\d (\d{3})/.exec(head)?.[1] ?? 0);
  if (statusCode >= 100 && statusCode < 200) {
    // An interim response (100 Continue): the real one follows.
    const rest = responseLength(buf.subarray(bodyStart), isHead);
    return rest === undefined ? undefined : bodyStart + rest;
  }
  if (isHead || statusCode === 204 || statusCode === 304) return bodyStart;
  const header = (name: string): string | undefined =>
    new RegExp(`^${name}:[ \\t]*(.*?)[ \\t]*$`, 'im').exec(head)?.[1];
  if (/chunked/i.test(header('transfer-encoding') ?? '')) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.subarray(at, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return undefined;
      if (size === 0) {
        // The last chunk, then optional trailer fields, then an empty line.
        const end = buf.indexOf('\r\n\r\n', lineEnd);
        return end < 0 ? undefined : end + 4;
      }
      at = lineEnd + 2 + size + 2;
      if (at > buf.length) return undefined;
    }
  }
  const length = header('content-length');
  if (length !== undefined) {
    const end = bodyStart + Number(length);
    return buf.length >= end ? end : undefined;
  }
  return undefined;
}

/**
 * Writes `text` as is to 127.0.0.1:`port` and returns the response text (head and body, as UTF-8). It
 * returns as soon as the first response is complete by its framing, or when the server closes the
 * connection (HTTP/1.0 and `Connection: close`), whichever comes first; with `untilClose` it always waits
 * for the close, to see everything the server sent (e.g. pipelined responses).
 * @throws (rejects) on a connection error or after `timeoutMs` (default 10 000 ms).
 */
export function rawRequest(
  port: number,
  text: string | Buffer,
  opts: { readonly host?: string; readonly timeoutMs?: number; readonly untilClose?: boolean } = {},
): Promise<string> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const isHead = /^HEAD /.test(typeof text === 'string' ? text : text.toString('latin1', 0, 5));
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, opts.host ?? '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(buf.toString('utf8'));
    };
    const timer = setTimeout(
      () => finish(new Error(`rawRequest to port ${port}: no complete response within ${timeoutMs} ms; got ${JSON.stringify(buf.toString('utf8'))}`)),
      timeoutMs,
    );
    socket.on('connect', () => socket.write(text));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (opts.untilClose) return;
      const length = responseLength(buf, isHead);
      if (length !== undefined) {
        buf = buf.subarray(0, length);
        finish();
      }
    });
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (err) => finish(err));
  });
}
