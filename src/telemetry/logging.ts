/**
 * pino options (level, redaction), the demo's human-readable output, and the one access-log line per
 * request. Header values that carry credentials never reach a log line: `authorization`, `cookie`,
 * `set-cookie`, `proxy-authorization` and the configured `telemetry.redactHeaders` are censored wherever a
 * headers object is logged, and the access line itself carries no header values at all.
 */
import { Writable } from 'node:stream';
import type { LoggerOptions } from 'pino';
import type { Config } from '../config/load.js';

/** Headers whose values are always redacted. */
export const ALWAYS_REDACTED_HEADERS: readonly string[] = Object.freeze(['authorization', 'cookie', 'set-cookie', 'proxy-authorization']);

/** What replaces a redacted value. */
export const REDACTED = '[redacted]';

/** The objects under which pino serialisers and our own code may log headers. */
const HEADER_HOLDERS = ['headers', 'req.headers', 'res.headers', 'request.headers', 'reply.headers'];

/** pino options for `config`: level, a `service` base field, redaction of the secret headers. */
export function loggerOptions(config: Pick<Config, 'logLevel' | 'telemetry'>): LoggerOptions {
  const names = [...new Set([...ALWAYS_REDACTED_HEADERS, ...config.telemetry.redactHeaders])];
  const paths = HEADER_HOLDERS.flatMap((holder) => names.map((n) => `${holder}[${JSON.stringify(n)}]`));
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
