import { describe, expect, it } from 'vitest';
import {
  formatDuration, formatSize, parseBool, parseChoice, parseDialAddress, parseDuration, parseGrpcTarget,
  parseIntInRange, parseListenAddress, parseSize,
} from './values.js';
import type { Parsed } from './values.js';

const value = <T>(r: Parsed<T>): T | undefined => (r.ok ? r.value : undefined);
const reason = <T>(r: Parsed<T>): string => (r.ok ? '' : r.reason);

describe('parseSize', () => {
  it.each([
    ['1048576', 1048576],
    ['512KiB', 512 * 1024],
    ['4MiB', 4 * 1024 * 1024],
    ['1MB', 1_000_000],
    ['1GiB', 1024 ** 3],
    ['2GB', 2e9],
    ['10KB', 10_000],
    ['100B', 100],
    ['1.5KiB', 1536],
    ['4 MiB', 4 * 1024 * 1024],
    ['4mib', 4 * 1024 * 1024],
  ])('%s → %d bytes', (text, bytes) => {
    expect(parseSize(text)).toEqual({ ok: true, value: bytes });
  });

  it.each([
    ['', 'is not a size'],
    ['4 MiB/s', 'is not a size'],
    ['4TB', 'is not a size'],
    ['-1', 'is not a size'],
    ['1e6', 'is not a size'],
    ['0', 'at least 1 byte'],
    ['0.5B', 'whole number of bytes'],
    ['1.0001KB', 'whole number of bytes'],
  ])('%j is rejected: %s', (text, why) => {
    expect(reason(parseSize(text))).toContain(why);
    expect(reason(parseSize(text))).toContain(JSON.stringify(text));
  });

  it.each([
    [4 * 1024 * 1024, '4MiB'],
    [512 * 1024, '512KiB'],
    [1024 ** 3, '1GiB'],
    [1_000_000, '1000000'],
  ])('formatSize(%d) = %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['0', 0],
    ['0s', 0],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, value: ms });
  });

  it.each([
    ['15', 'has no unit'],
    ['1.5', 'has no unit'],
    ['', 'is not a duration'],
    ['2 s', 'is not a duration'],
    ['2S', 'is not a duration'],
    ['1d', 'is not a duration'],
    ['-1s', 'is not a duration'],
    ['0.5ms', 'whole number of milliseconds'],
    ['1000h', 'too long'],
  ])('%j is rejected: %s', (text, why) => {
    expect(reason(parseDuration(text))).toContain(why);
  });

  it.each([
    [15_000, '15s'],
    [250, '250ms'],
    [60_000, '1m'],
    [1500, '1500ms'],
    [0, '0'],
  ])('formatDuration(%d) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('parseListenAddress', () => {
  it.each([
    ['0.0.0.0:8080', '0.0.0.0', 8080],
    ['localhost:0', 'localhost', 0],
    ['127.0.0.1:65535', '127.0.0.1', 65535],
    ['[::1]:8080', '::1', 8080],
    ['[::]:9901', '::', 9901],
    ['my-host.example.com:443', 'my-host.example.com', 443],
  ])('%s → host %s port %d', (text, host, port) => {
    expect(parseListenAddress(text)).toEqual({ ok: true, value: { host, port } });
  });

  it.each([
    ['8080', 'has no port'],
    ['localhost', 'has no port'],
    [':8080', 'has no host'],
    ['localhost:', 'as port'],
    ['localhost:65536', 'as port'],
    ['localhost:-1', 'as port'],
    ['localhost:http', 'as port'],
    ['::1:8080', 'bare IPv6'],
    ['[::1]', 'has no port'],
    ['[not-v6]:80', 'not an IPv6 address'],
    ['bad_host:80', 'not a host name'],
    ['', 'has no host'],
  ])('%j is rejected: %s', (text, why) => {
    const r = reason(parseListenAddress(text));
    expect(r).toContain(why);
    expect(r).toContain('expected HOST:PORT');
  });
});

describe('parseDialAddress', () => {
  it.each(['payments:50051', '[::1]:50051', '10.0.0.1:1'])('%s is accepted as is', (text) => {
    expect(value(parseDialAddress(text))).toBe(text);
  });
  it.each(['payments', 'payments:0', 'payments:50051/x', ''])('%j is rejected', (text) => {
    expect(parseDialAddress(text).ok).toBe(false);
  });
});

describe('parseGrpcTarget', () => {
  it.each([
    'localhost:50051',
    'payments.svc.cluster.local:50051',
    'payments',
    '[::1]:50051',
    '10.0.0.1:50051',
    'dns:///payments:50051',
    'dns://8.8.8.8/payments:50051',
    'dns:payments:50051',
    'unix:/var/run/app.sock',
    'unix:relative.sock',
    'unix:///var/run/app.sock',
    'unix-abstract:my-socket',
    'ipv4:10.0.0.1:50051,10.0.0.2:50051',
    'ipv6:[::1]:50051',
  ])('%s is accepted', (text) => {
    expect(parseGrpcTarget(text)).toEqual({ ok: true, value: text });
  });

  it.each([
    ['', 'is empty'],
    ['host :1', 'whitespace'],
    ['http://payments:50051', 'unsupported scheme'],
    ['grpc://payments:50051', "backend.rules address"],
    ['unix:', 'no socket path'],
    ['unix-abstract:', 'no socket name'],
    ['ipv4:::1', 'not an IPv4'],
    ['ipv6:10.0.0.1', 'not an IPv6'],
    ['dns://8.8.8.8', 'no host after the authority'],
    ['bad_host:1', 'is not host[:port]'],
    ['host:99999', 'is not host[:port]'],
  ])('%j is rejected: %s', (text, why) => {
    expect(reason(parseGrpcTarget(text))).toContain(why);
  });
});

describe('parseBool', () => {
  it.each([
    ['1', true], ['0', false], ['true', true], ['false', false], ['yes', true], ['no', false],
    ['TRUE', true], ['No', false], ['Yes', true],
  ])('%s → %s', (text, b) => {
    expect(parseBool(text)).toEqual({ ok: true, value: b });
  });
  it.each(['', 'on', 'off', 'y', '2', 'truthy'])('%j is rejected', (text) => {
    expect(reason(parseBool(text))).toContain('expected 1, 0, true, false, yes or no');
  });
});

describe('parseIntInRange / parseChoice', () => {
  it.each([
    ['1', 1, true], ['1000', 1000, true], ['64', 64, true], ['0', undefined, false], ['1001', undefined, false],
    ['1.5', undefined, false], ['', undefined, false], ['ten', undefined, false],
  ])('maxDepth %j → %s', (text, n, good) => {
    const r = parseIntInRange(text, 1, 1000);
    expect(r.ok).toBe(good);
    expect(value(r)).toBe(n);
  });
  it.each([
    ['debug', 'debug'], ['DEBUG', 'debug'], ['Silent', 'silent'], ['verbose', undefined],
  ])('log level %s → %s', (text, level) => {
    expect(value(parseChoice(text, ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']))).toBe(level);
  });
});
