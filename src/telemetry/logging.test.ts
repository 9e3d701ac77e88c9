import { Writable } from 'node:stream';
import { pino, type Logger, type LoggerOptions } from 'pino';
import { describe, expect, it } from 'vitest';
import { accessLogWriter, loggerOptions, type AccessLogLine } from './logging.js';

/** A logger writing into an array of lines, with a fixed clock so two loggers' lines compare byte for byte. */
function capture(options: LoggerOptions, child?: Record<string, unknown>): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const base = pino({ ...options, timestamp: () => ',"time":1732238400000' }, sink);
  return { logger: child === undefined ? base : base.child(child), lines };
}

const FULL: AccessLogLine = {
  reqId: '4f1c8a52-0000-4000-8000-000000000000',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: 'a1b2c3d4e5f60718',
  method: 'GET',
  path: '/api/payments/pay_001',
  route: '/api/payments/{payment_id}',
  grpcMethod: 'payments.v1.PaymentService/GetPayment',
  status: 200,
  grpcCode: 'OK',
  latencyMs: 1.234,
  attempts: 1,
  upstreamMs: 0.9,
  upstream: '127.0.0.1:50051',
  bytesIn: 0,
  bytesOut: 312,
};
const UNMATCHED: AccessLogLine = {
  ...FULL,
  traceId: undefined,
  spanId: undefined,
  path: '/we"ird\\path\u00e9\u0001',
  route: undefined,
  grpcMethod: undefined,
  status: 404,
  grpcCode: 'NOT_FOUND',
  attempts: 0,
  upstreamMs: undefined,
  upstream: undefined,
  reqId: 'id-with-"quote"-and-\\',
  latencyMs: Number.NaN,
};
const OPTIONS = loggerOptions({ logLevel: 'info', telemetry: { redactHeaders: ['x-api-key'] } as never });

describe('accessLogWriter', () => {
  it.each([
    ['attache\'s logger options, a full line', OPTIONS, undefined, FULL, true],
    ['attache\'s logger options, an unmatched request with characters to escape', OPTIONS, undefined, UNMATCHED, true],
    ['a worker\'s child logger (pid binding)', OPTIONS, { pid: 4242 }, FULL, true],
    ['pino defaults (pid and hostname)', {}, undefined, FULL, true],
    ['a formatters.log', { ...OPTIONS, formatters: { log: (o: Record<string, unknown>) => ({ ...o, extra: 1 }) } }, undefined, FULL, false],
    ['a mixin', { ...OPTIONS, mixin: () => ({ mixed: true }) }, undefined, FULL, false],
    ['a redaction of an access key', { ...OPTIONS, redact: ['path'] }, undefined, FULL, false],
    ['a message key other than msg', { ...OPTIONS, messageKey: 'message' }, undefined, FULL, false],
  ])('writes what logger.info(line, "request") writes: %s (direct: %s)', (_name, options, child, line, direct_) => {
    const viaPino = capture(options, child);
    const direct = capture(options, child);
    viaPino.logger.info(line, 'request');
    let infoCalls = 0;
    const info = direct.logger.info.bind(direct.logger);
    direct.logger.info = ((...args: Parameters<typeof info>) => {
      infoCalls++;
      info(...args);
    }) as typeof info;
    accessLogWriter(direct.logger)(line);
    // The direct path does not go through logger.info; the fallbacks do.
    expect(infoCalls).toBe(direct_ ? 0 : 1);
    expect(direct.lines).toEqual(viaPino.lines);
    expect(direct.lines).toHaveLength(1);
  });
});

describe('loggerOptions redaction', () => {
  it.each([
    ['a header', { headers: { authorization: 'Bearer abc', 'x-api-key': 'k1' } }],
    ['a token response', { access_token: 'abc', refresh_token: 'r1', token_type: 'Bearer' }],
    ['a secret under err and its cause', { err: { client_secret: 'abc', cause: { clientSecret: 'k1', accessToken: 'r1' } } }],
  ])('censors %s', (_name, obj) => {
    const { logger, lines } = capture(OPTIONS);
    logger.info(obj, 'x');
    expect(lines[0]).toContain('[redacted]');
    for (const secret of ['abc', 'k1', 'r1']) expect(lines[0]).not.toContain(`"${secret}"`);
  });
});
