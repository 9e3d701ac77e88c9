/**
 * Parsers for the text forms of setting values: sizes, durations, listen addresses, gRPC targets, booleans,
 * bounded integers. Pure; each returns a {@link Parsed} rather than throwing, and a failure's reason names
 * the bad value and what is allowed, ready to be prefixed with where it came from.
 */
import net from 'node:net';

/** A parse outcome: the value, or a reason naming the bad input and the allowed forms. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** A host and port to listen on or dial. `host` is bare: an IPv6 address is given without its brackets. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const fail = <T = never>(reason: string): Parsed<T> => ({ ok: false, reason });

/** `JSON.stringify` quoting, so empty strings and stray spaces stay visible in messages. */
export const quote = (text: string): string => JSON.stringify(text);

/**
 * The largest delay Node's timers accept (2^31-1 ms, about 24.8 days); longer ones silently fire at once,
 * so durations are capped here rather than surprising anyone at run time.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const SIZE_ALLOWED = 'a byte count (1048576) or a number with a unit: B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024), e.g. 512KiB, 4MiB, 1MB';

/** `x * unit` when that is a whole number (within float noise), else undefined. */
function wholeProduct(x: number, unit: number): number | undefined {
  const product = x * unit;
  const rounded = Math.round(product);
  return Math.abs(product - rounded) <= 1e-9 * Math.max(1, rounded) ? rounded : undefined;
}

/**
 * A byte size: `1048576`, `512KiB`, `4MiB`, `1MB`, `1.5KiB`. Units are case-insensitive; `KB` is 1000 and
 * `KiB` 1024, as IEC 80000-13 defines them. Fails on anything else, on fractions of a byte, and on 0.
 */
export function parseSize(text: string): Parsed<number> {
  const m = /^(\d+(?:\.\d+)?) ?([A-Za-z]*)$/.exec(text.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return fail(`${quote(text)} is not a size; expected ${SIZE_ALLOWED}`);
  const bytes = wholeProduct(Number(m[1]), unit);
  if (bytes === undefined) return fail(`${quote(text)} is not a whole number of bytes`);
  if (bytes < 1 || bytes > Number.MAX_SAFE_INTEGER) {
    return fail(`${quote(text)} is out of range; a size must be at least 1 byte and at most ${Number.MAX_SAFE_INTEGER}`);
  }
  return ok(bytes);
}

/** A byte count in the largest binary unit that divides it exactly: 4194304 → `4MiB`. For --help. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_ALLOWED = 'a number with a unit ms, s, m or h, e.g. 250ms, 2s, 1.5s, 1m, or a sequence like 1m30s';

/**
 * A duration in whole milliseconds: `250ms`, `2s`, `1.5s`, `1m`, `1h`, `1m30s` (Go's `time.ParseDuration`
 * spelling, without the sub-millisecond units), or `0`. A bare number other than 0 is rejected: `15`
 * could mean seconds or milliseconds, and guessing wrong is a 1000× error.
 * Fails on other forms, on fractions of a millisecond, and above {@link MAX_TIMER_MS}.
 */
export function parseDuration(text: string): Parsed<number> {
  const t = text.trim();
  if (t === '0') return ok(0);
  if (/^\d+(?:\.\d+)?$/.test(t)) return fail(`${quote(text)} has no unit; expected ${DURATION_ALLOWED}`);
  if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(t)) return fail(`${quote(text)} is not a duration; expected ${DURATION_ALLOWED}`);
  let ms = 0;
  for (const part of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    const value = wholeProduct(Number(part[1]), DURATION_UNITS[part[2]!]!);
    if (value === undefined) return fail(`${quote(text)} is not a whole number of milliseconds`);
    ms += value;
  }
  if (ms > MAX_TIMER_MS) return fail(`${quote(text)} is too long; the maximum is ${formatDuration(MAX_TIMER_MS)} (2^31-1 ms, Node's timer limit)`);
  return ok(ms);
}

/** Milliseconds in the largest unit that divides them exactly: 15000 → `15s`, 250 → `250ms`. For --help. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** An RFC 1123 host name (which also covers dotted IPv4). */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

interface HostPortOptions {
  /** Port 0 means "any free port", which makes sense for a listener and not for a dial target. */
  readonly allowPortZero: boolean;
  /** Whether the port may be left out (then `port` is undefined). */
  readonly portOptional: boolean;
  /** The expected form, for messages: `HOST:PORT, e.g. 0.0.0.0:8080 or [::1]:8080`. */
  readonly expected: string;
}

/** `host:port`, `[v6]:port` and, when allowed, `host` or `[v6]`; the shared core of listen and dial addresses. */
function parseHostPort(text: string, opts: HostPortOptions): Parsed<{ host: string; port: number | undefined }> {
  const bad = (why: string): Parsed<never> => fail(`${quote(text)} ${why}; expected ${opts.expected}`);
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (!net.isIPv6(host)) return bad(`has ${quote(host)} in brackets, which is not an IPv6 address`);
  } else {
    const colons = text.split(':').length - 1;
    if (colons > 1) return bad('looks like a bare IPv6 address; put it in brackets');
    [host, portText] = colons === 1 ? (text.split(':') as [string, string]) : [text, undefined];
    if (host === '') return bad('has no host (use 0.0.0.0 for every IPv4 interface, [::] for every interface)');
    if (!HOST_NAME.test(host)) return bad(`has ${quote(host)} as host, which is not a host name or IP address`);
  }
  if (portText === undefined) {
    return opts.portOptional ? ok({ host, port: undefined }) : bad('has no port');
  }
  const min = opts.allowPortZero ? 0 : 1;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < min || Number(portText) > 65535) {
    return bad(`has ${quote(portText)} as port; a port is a number from ${min} to 65535`);
  }
  return ok({ host, port: Number(portText) });
}

/**
 * A listener address `HOST:PORT`: `0.0.0.0:8080`, `localhost:0`, `[::1]:8080`, `[::]:9901`. Port 0 (an
 * ephemeral port) is allowed. IPv6 must be bracketed, since `::1:8080` is ambiguous. An empty host (`:8080`)
 * is rejected rather than guessed at, because "every interface" differs between IPv4 and dual-stack.
 */
export function parseListenAddress(text: string): Parsed<ListenAddress> {
  const r = parseHostPort(text, { allowPortZero: true, portOptional: false, expected: 'HOST:PORT, e.g. 0.0.0.0:8080 or [::1]:8080' });
  return r.ok ? ok({ host: r.value.host, port: r.value.port! }) : r;
}

/**
 * A dial address `host:port` or `[v6]:port` with a port from 1 to 65535, as written after `grpc://` in a
 * BackendRule address. Returns the text as given (a valid grpc-js target).
 */
export function parseDialAddress(text: string): Parsed<string> {
  const r = parseHostPort(text, { allowPortZero: false, portOptional: false, expected: 'host:port, e.g. payments:50051 or [::1]:50051' });
  return r.ok ? ok(text) : r;
}

const TARGET_ALLOWED = 'a grpc-js target: host:port, dns:///host:port, unix:/path, unix-abstract:name, ipv4:1.2.3.4:50051, ipv6:[::1]:50051';

/**
 * A grpc-js channel target, per https://github.com/grpc/grpc/blob/master/doc/naming.md as grpc-js implements
 * it: `host[:port]`, `[v6][:port]`, `dns:[//authority/]host[:port]`, `unix:path`, `unix:///abs/path`,
 * `unix-abstract:name`, `ipv4:addr[:port],…`, `ipv6:[addr]:port,…`. Returns the text unchanged.
 * Other schemes fail (grpc-js would silently treat `http://x` as a DNS name), with a pointer to mapping-file
 * addresses for `grpc://` and `grpcs://`.
 */
export function parseGrpcTarget(text: string): Parsed<string> {
  const bad = (why: string): Parsed<never> => fail(`${quote(text)} ${why}; expected ${TARGET_ALLOWED}`);
  if (text.trim() === '' || /\s/.test(text)) return bad(text.trim() === '' ? 'is empty' : 'contains whitespace');
  const hostPort = (t: string): boolean =>
    parseHostPort(t, { allowPortZero: false, portOptional: true, expected: '' }).ok;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/.exec(text);
  switch (scheme?.[1]?.toLowerCase()) {
    case 'dns': {
      const rest = scheme![2]!;
      const target = rest.startsWith('//') ? rest.slice(rest.indexOf('/', 2) + 1) : rest;
      if (rest.startsWith('//') && rest.indexOf('/', 2) < 0) return bad('has no host after the authority');
      return hostPort(target) ? ok(text) : bad(`has ${quote(target)} as host, which is not host[:port]`);
    }
    case 'unix':
      return scheme![2]!.replace(/^\/\//, '') === '' ? bad('has no socket path') : ok(text);
    case 'unix-abstract':
      return scheme![2] === '' ? bad('has no socket name') : ok(text);
    case 'ipv4':
    case 'ipv6': {
      const family = scheme![1]!.toLowerCase() === 'ipv4' ? 4 : 6;
      for (const addr of scheme![2]!.split(',')) {
        const hp = parseHostPort(addr, { allowPortZero: false, portOptional: true, expected: '' });
        if (!hp.ok || net.isIP(hp.value.host) !== family) return bad(`has ${quote(addr)}, which is not an IPv${family} address[:port]`);
      }
      return ok(text);
    }
    default:
      break;
  }
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text)) {
    const hint = /^grpcs?:/i.test(text) ? ' (grpc:// and grpcs:// addresses belong in a mapping file\'s backend.rules address)' : '';
    return bad(`has an unsupported scheme${hint}`);
  }
  return hostPort(text) ? ok(text) : bad('is not host[:port]');
}

/** Boolean text as env vars spell it: `1/0/true/false/yes/no`, case-insensitive. Anything else fails. */
export function parseBool(text: string): Parsed<boolean> {
  const t = text.trim().toLowerCase();
  if (t === '1' || t === 'true' || t === 'yes') return ok(true);
  if (t === '0' || t === 'false' || t === 'no') return ok(false);
  return fail(`${quote(text)} is not a boolean; expected 1, 0, true, false, yes or no`);
}

/** A decimal integer from `min` to `max` inclusive. */
export function parseIntInRange(text: string, min: number, max: number): Parsed<number> {
  const t = text.trim();
  if (!/^-?\d+$/.test(t) || Number(t) < min || Number(t) > max) {
    return fail(`${quote(text)} is not an integer from ${min} to ${max}`);
  }
  return ok(Number(t));
}

/** One of `allowed`, compared case-insensitively and returned as spelled in `allowed`. */
export function parseChoice<T extends string>(text: string, allowed: readonly T[]): Parsed<T> {
  const hit = allowed.find((a) => a.toLowerCase() === text.trim().toLowerCase());
  return hit === undefined ? fail(`${quote(text)} is not one of ${allowed.join(', ')}`) : ok(hit);
}

/**
 * A CORS origin (https://fetch.spec.whatwg.org/#origin-header): `*`, `scheme://host[:port]`, or
 * `scheme://*.domain[:port]` for every subdomain of `domain` (not `domain` itself); the port may be `*`
 * for any port (`http://localhost:*`). Scheme and host are lower-cased, as browsers send them. A path,
 * `null` (the opaque origin sandboxed pages send, which any page can forge) and a bare `*.example.com` fail.
 */
export function parseCorsOrigin(text: string): Parsed<string> {
  const t = text.trim();
  if (t === '*') return ok(t);
  const allowed = 'expected *, an origin like https://app.example.com or http://localhost:5173, or https://*.example.com';
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(\*\.)?([^/:?#\s]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}|\*))?$/.exec(t);
  if (m === null) return fail(`${quote(text)} is not a CORS origin; ${allowed}`);
  const [, scheme, wildcard, host, port] = m;
  if (!HOST_NAME.test(host!) && !(host!.startsWith('[') && net.isIPv6(host!.slice(1, -1)))) {
    return fail(`${quote(text)} has ${quote(host!)} as host, which is not a host name or IP address; ${allowed}`);
  }
  if (port !== undefined && port !== '*' && (Number(port) < 1 || Number(port) > 65535)) return fail(`${quote(text)} has port ${port}; a port is a number from 1 to 65535`);
  return ok(`${scheme!.toLowerCase()}://${wildcard ?? ''}${host!.toLowerCase()}${port === undefined ? '' : `:${port}`}`);
}
