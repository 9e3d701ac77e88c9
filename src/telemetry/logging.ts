/**
 * pino options (level, redaction), the demo's human-readable output, and the one access-log line per
 * request. Header values that carry credentials never reach a log line: `authorization`, `cookie`,
 * `set-cookie`, `proxy-authorization` and the configured `telemetry.redactHeaders` are censored wherever a
 * headers object is logged, and the access line itself carries no header values at all.
 */
import { Writable } from 'node:stream';
import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from '../config/load.js';

/** Headers whose values are always redacted. */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = Object.freeze(['authorization', 'cookie', 'set-cookie', 'proxy-authorization']);

/** What replaces a redacted value. */
export const REDACTED = '[redacted]';

/**
 * Fields that name a secret wherever OAuth2 and credential code would put one (RFC 6749 §4.4 and §5.1
 * parameter names, and their camelCase forms), censored at the top level and under the holders below.
 * attache's own code never logs these values (upstream/credentials.ts logs a source's name only); this is the
 * net under it, for an error object or a future log line that carries a token response or request.
 */
export const SECRET_FIELDS: readonly string[] = Object.freeze(['access_token', 'refresh_token', 'id_token', 'client_secret', 'accessToken', 'refreshToken', 'clientSecret']);
/** Where such fields may sit in a logged object (`err` is pino's error key; `cause` an error's cause). */
const SECRET_HOLDERS = ['', 'err.', 'err.cause.', 'cause.'];

/** The objects under which pino serialisers and our own code may log headers. */
const HEADER_HOLDERS = ['headers', 'req.headers', 'res.headers', 'request.headers', 'reply.headers'];

/** pino options for `config`: level, a `service` base field, redaction of the secret headers. */
export function loggerOptions(config: Pick<Config, 'logLevel' | 'telemetry'>): LoggerOptions {
  const names = [...new Set([...ALWAYS_REDACTED_HEADERS, ...config.telemetry.redactHeaders])];
  const paths = [
    ...HEADER_HOLDERS.flatMap((holder) => names.map((n) => `${holder}[${JSON.stringify(n)}]`)),
    // No wildcard paths: a leading `*` would take every log line (the access line too) off pino's direct path.
    ...SECRET_HOLDERS.flatMap((holder) => SECRET_FIELDS.map((f) => `${holder}${f}`)),
  ];
  return {
    level: config.logLevel,
    base: { service: 'attache' },
    redact: { paths, censor: REDACTED },
  };
}

/** The fields of the access-log line (message `request`). Absent fields are omitted from the line. */
export interface AccessLogLine {
  readonly reqId: string;
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  readonly method: string;
  /** The path without the query string (which may carry personal data). */
  readonly path: string;
  /** The HttpRule template, or undefined when no route matched. */
  readonly route: string | undefined;
  /** `pkg.Service/Method`. */
  readonly grpcMethod: string | undefined;
  readonly status: number;
  /** The gRPC code name of the answer. */
  readonly grpcCode: string;
  readonly latencyMs: number;
  /** Upstream attempts (0 when no call was made). */
  readonly attempts: number;
  readonly upstreamMs: number | undefined;
  readonly upstream: string | undefined;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Streams only: request messages sent upstream and response messages written (undefined for unary calls). */
  readonly messagesIn?: number | undefined;
  readonly messagesOut?: number | undefined;
}

/** The access line's keys in the order the line writes them (docs/observability.md "Logs"). */
const ACCESS_KEYS = ['reqId', 'traceId', 'spanId', 'method', 'path', 'route', 'grpcMethod', 'status', 'grpcCode', 'latencyMs', 'attempts', 'upstreamMs', 'upstream', 'bytesIn', 'bytesOut', 'messagesIn', 'messagesOut'] as const;
/** `,"key":` for each of ACCESS_KEYS, built once. */
const ACCESS_KEY_PREFIXES = ACCESS_KEYS.map((k) => `,${JSON.stringify(k)}:`);
/** The message of the access line. */
export const ACCESS_MESSAGE = 'request';
/** pino's level number for `info`. */
const INFO = 30;

/** A JSON value of the access line: strings escaped as JSON.stringify does, numbers as pino writes them. */
function jsonValue(v: string | number): string {
  return typeof v === 'string' ? JSON.stringify(v) : Number.isFinite(v) ? String(v) : 'null';
}

/**
 * The access-log writer for `logger`: `write(line)` writes at level info exactly the line
 * `logger.info(line, 'request')` would — the same keys in the same order, absent (undefined) fields
 * omitted, the logger's level/time/bindings prefix and line end — but builds it directly: its keys are
 * known, so none is escaped or looked up per request, and pino's generic per-key path (serializer and
 * redaction look-ups, the mixin/hook/formatter checks, message formatting) is skipped. That costs about
 * half of `logger.info` (bench/micro-exchange.mjs). The caller checks `logger.isLevelEnabled('info')`.
 *
 * The direct path reads pino's exported `pino.symbols` once, here. When the logger uses anything that
 * changes a line (a `formatters.log`, a mixin, a `logMethod`/`streamWrite` hook, a message prefix, a
 * nested key, a message key other than `msg`, a serializer, redaction or custom stringifier on one of the
 * access keys, or a multistream that needs the metadata), the writer is plain `logger.info(line,
 * 'request')`. Never throws for a line (a destination's own errors are the destination's, as with pino).
 */
export function accessLogWriter(logger: Logger): (line: AccessLogLine) => void {
  const viaPino = (line: AccessLogLine): void => logger.info(line, ACCESS_MESSAGE);
  const sym = pino.symbols;
  const l = logger as unknown as Record<symbol, unknown>;
  const formatters = l[sym.formattersSym] as { log?: unknown } | undefined;
  const hooks = l[sym.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const serializers = (l[sym.serializersSym] ?? {}) as Record<string, unknown>;
  const stringifiers = (l[sym.stringifiersSym] ?? {}) as Record<string | symbol, unknown>;
  const stream = l[sym.streamSym] as { write(s: string): unknown; [k: symbol]: unknown } | undefined;
  const time = l[sym.timeSym];
  // pino 10 has msgPrefixSym; its type declarations do not list it yet.
  const msgPrefixSym = (sym as unknown as Record<string, symbol | undefined>)['msgPrefixSym'];
  const plain =
    formatters?.log === undefined &&
    hooks?.logMethod === undefined &&
    hooks?.streamWrite === undefined &&
    l[sym.mixinSym] == null &&
    (msgPrefixSym === undefined || typeof l[msgPrefixSym] !== 'string') &&
    l[sym.nestedKeySym] == null &&
    l[sym.messageKeySym] === 'msg' &&
    stringifiers[sym.wildcardFirstSym] === undefined &&
    ACCESS_KEYS.every((k) => serializers[k] === undefined && stringifiers[k] === undefined) &&
    typeof time === 'function' &&
    typeof (l[sym.lsCacheSym] as Record<number, unknown> | undefined)?.[INFO] === 'string' &&
    typeof l[sym.chindingsSym] === 'string' &&
    typeof l[sym.endSym] === 'string' &&
    stream !== undefined &&
    typeof stream.write === 'function' &&
    stream[sym.needsMetadataGsym] !== true;
  if (!plain) return viaPino;
  const head = (l[sym.lsCacheSym] as Record<number, string>)[INFO]!;
  const now = time as () => string;
  const tail = `,"msg":${JSON.stringify(ACCESS_MESSAGE)}${l[sym.endSym] as string}`;
  return (line) => {
    // Read per line: a child logger made later, or setBindings, changes the bindings of this logger.
    let s = head + now() + (l[sym.chindingsSym] as string);
    for (let i = 0; i < ACCESS_KEYS.length; i++) {
      const v = line[ACCESS_KEYS[i]!];
      if (v !== undefined) s += ACCESS_KEY_PREFIXES[i]! + jsonValue(v);
    }
    stream.write(s + tail);
  };
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service']);

/** One JSON log line as `12:00:00.000 INFO  msg key=value …`; a line that is not JSON passes through. */
export function prettyLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof o['time'] === 'number' ? new Date(o['time']).toISOString().slice(11, 23) : '';
  const level = (LEVEL_NAMES[o['level'] as number] ?? String(o['level'])).padEnd(5);
  const rest = Object.entries(o)
    .filter(([k, v]) => !OMIT.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${level} ${typeof o['msg'] === 'string' ? o['msg'] : ''}${rest ? ` ${rest}` : ''}`;
}

/** A pino destination that writes {@link prettyLine}s to `out`: the demo's output, never production's. */
export function prettyStream(out: NodeJS.WritableStream): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      pending += chunk.toString();
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        out.write(`${prettyLine(pending.slice(0, nl))}\n`);
        pending = pending.slice(nl + 1);
      }
      done();
    },
  });
}
