/**
 * Value parsers for the outbound (upstream) settings: fractional numbers, gRPC status code lists and raw
 * grpc-js channel options. Pure; each returns a {@link Parsed}, whose failure reason names the bad value and
 * what is allowed, ready to be prefixed with where it came from (like values.ts, which it complements).
 */
import { Code } from '../status/status.js';
import { fail, ok, quote, type Parsed } from './values.js';

/** A decimal number from `min` to `max` inclusive (`0.5`, `2`, `1.5`). */
export function parseNumberInRange(text: string, min: number, max: number): Parsed<number> {
  const t = text.trim();
  const n = /^-?\d+(?:\.\d+)?$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isFinite(n) || n < min || n > max) return fail(`${quote(text)} is not a number from ${min} to ${max}`);
  return ok(n);
}

/** The google.rpc.Code names, UNAVAILABLE etc. OK is not a failure and never appears in a policy. */
export const STATUS_CODE_NAMES: readonly string[] = Object.keys(Code).filter((n) => n !== 'OK');

/**
 * A list of gRPC status codes as gRFC A6 service config spells them: names (`UNAVAILABLE`, any case) or
 * numbers (`14`). Returned as upper-case names, deduplicated, in the order given. An empty list fails
 * (gRFC A6: "retryableStatusCodes … must be non-empty").
 */
export function parseStatusCodes(items: readonly unknown[]): Parsed<readonly string[]> {
  const out: string[] = [];
  for (const item of items) {
    let name: string | undefined;
    if (typeof item === 'number' && Number.isInteger(item)) name = Object.entries(Code).find(([, v]) => v === item)?.[0];
    else if (typeof item === 'string') name = STATUS_CODE_NAMES.find((n) => n === item.trim().toUpperCase());
    if (name === undefined || name === 'OK') {
      return fail(`${typeof item === 'string' ? quote(item) : String(item)} is not a gRPC status code; expected a name like UNAVAILABLE or a number from 1 to 16`);
    }
    if (!out.includes(name)) out.push(name);
  }
  return out.length === 0 ? fail('the list of status codes is empty; name at least one, e.g. [UNAVAILABLE]') : ok(out);
}

/** How a raw channel option's value is checked. */
type OptionType = 'int' | 'string' | 'flag';

/**
 * grpc-js channel options (channel-options.ts `recognizedOptions`) that may be passed through as they are.
 * Options attache sets from its own settings are left out on purpose, so each has one source of truth:
 * keepalive (`keepalive.*`), message sizes (`maxSendMessageSize`/`maxReceiveMessageSize`), reconnect backoff
 * (`reconnectBackoff.*`), the service config (retry/hedging/load balancing) and the TLS name override
 * (`tls.serverName`).
 */
export const PASSTHROUGH_CHANNEL_OPTIONS: Readonly<Record<string, OptionType>> = Object.freeze({
  'grpc.primary_user_agent': 'string',
  'grpc.secondary_user_agent': 'string',
  'grpc.default_authority': 'string',
  'grpc.max_concurrent_streams': 'int',
  'grpc.use_local_subchannel_pool': 'flag',
  'grpc.enable_http_proxy': 'flag',
  'grpc.enable_channelz': 'flag',
  'grpc.dns_min_time_between_resolutions_ms': 'int',
  'grpc.per_rpc_retry_buffer_size': 'int',
  'grpc.retry_buffer_size': 'int',
  'grpc.client_idle_timeout_ms': 'int',
  'grpc-node.max_session_memory': 'int',
  'grpc-node.flow_control_window': 'int',
  'grpc-node.retry_max_attempts_limit': 'int',
});

/** Channel options attache owns, with the setting to use instead (for the error message). */
const OWNED_CHANNEL_OPTIONS: Readonly<Record<string, string>> = {
  'grpc.keepalive_time_ms': 'keepalive.time',
  'grpc.keepalive_timeout_ms': 'keepalive.timeout',
  'grpc.keepalive_permit_without_calls': 'keepalive.permitWithoutCalls',
  'grpc.max_send_message_length': 'maxSendMessageSize',
  'grpc.max_receive_message_length': 'maxReceiveMessageSize',
  'grpc.initial_reconnect_backoff_ms': 'reconnectBackoff.initial',
  'grpc.max_reconnect_backoff_ms': 'reconnectBackoff.max',
  'grpc.service_config': 'retry.*, loadBalancing and the attache rules of the mapping files',
  'grpc.enable_retries': 'retry.maxAttempts: 1 (to turn retries off)',
  'grpc.ssl_target_name_override': 'tls.serverName',
};

/**
 * A YAML mapping of raw grpc-js channel options, e.g. `{"grpc.client_idle_timeout_ms": 60000}`. Keys must be
 * in {@link PASSTHROUGH_CHANNEL_OPTIONS}; integers must be whole and ≥ 0; flags are 0/1 or booleans (stored as
 * 0/1, as grpc-js expects).
 */
export function parseChannelOptions(value: unknown): Parsed<Readonly<Record<string, string | number>>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('expected a mapping of grpc-js channel options, e.g. {"grpc.client_idle_timeout_ms": 60000}');
  }
  const out: Record<string, string | number> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const owned = OWNED_CHANNEL_OPTIONS[key];
    if (owned !== undefined) return fail(`${quote(key)} is set by attache itself; use ${owned} instead`);
    const type = Object.hasOwn(PASSTHROUGH_CHANNEL_OPTIONS, key) ? PASSTHROUGH_CHANNEL_OPTIONS[key] : undefined;
    if (type === undefined) {
      return fail(`${quote(key)} is not a grpc-js channel option attache passes through (allowed: ${Object.keys(PASSTHROUGH_CHANNEL_OPTIONS).join(', ')})`);
    }
    if (type === 'string') {
      if (typeof v !== 'string') return fail(`${key}: expected a string, got ${JSON.stringify(v)}`);
      out[key] = v;
    } else if (type === 'flag') {
      if (v !== 0 && v !== 1 && typeof v !== 'boolean') return fail(`${key}: expected 0, 1, true or false, got ${JSON.stringify(v)}`);
      out[key] = v === true || v === 1 ? 1 : 0;
    } else {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) return fail(`${key}: expected a whole number ≥ 0, got ${JSON.stringify(v)}`);
      out[key] = v;
    }
  }
  return ok(out);
}

/** Host names that stay on this machine (RFC 6761 `localhost`, 127.0.0.0/8, ::1). */
function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * An OAuth2 token endpoint URL (RFC 6749 §3.2): `https://…`, or `http://` to a loopback address only
 * (a token proxy in the same pod, a test server): over plain HTTP the client secret would cross the network
 * in clear text. No fragment (RFC 6749 §3.2: "MUST NOT include a fragment component"). Returns the URL as
 * the WHATWG parser normalises it.
 */
export function parseTokenUrl(text: string): Parsed<string> {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return fail(`${quote(text)} is not a URL; expected https://host/path of an OAuth2 token endpoint`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return fail(`${quote(text)} is not an https:// URL`);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    return fail(`${quote(text)} uses http:// to a host that is not loopback; use https:// (the client secret would cross the network in clear text)`);
  }
  if (url.hash !== '') return fail(`${quote(text)} has a fragment; a token endpoint URL must not (RFC 6749 §3.2)`);
  // Not quoted back: the text holds a password.
  if (url.username !== '' || url.password !== '') return fail(`the token URL for ${url.host} has a user name or password in it (not shown); give the client id and secret as settings instead`);
  return ok(url.href);
}

/** Whether a token endpoint URL is plain http:// (loopback only, see {@link parseTokenUrl}). */
export function isPlainHttpUrl(url: string): boolean {
  return url.startsWith('http:');
}

/** An environment variable name (POSIX portable: letters, digits, `_`, not starting with a digit). */
export function parseEnvName(text: string): Parsed<string> {
  const t = text.trim();
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(t) ? ok(t) : fail(`${quote(text)} is not an environment variable name (letters, digits and _, not starting with a digit)`);
}

/**
 * OAuth2 scopes (RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`), from a list or
 * from text separated by spaces or commas. Duplicates are dropped, order kept.
 */
export function parseScopes(items: readonly unknown[]): Parsed<readonly string[]> {
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(item)) {
      return fail(`${typeof item === 'string' ? quote(item) : String(item)} is not an OAuth2 scope (printable characters except space, " and \\)`);
    }
    if (!out.includes(item)) out.push(item);
  }
  return ok(out);
}

/** Splits scope text on spaces and commas (`a b`, `a,b`). */
export const splitScopes = (text: string): string[] => text.split(/[\s,]+/).filter((s) => s !== '');

/** How a caller's own `Authorization` header is treated when attache attaches an upstream credential. */
export const CALLER_AUTHORIZATION_MODES = ['forward', 'keep', 'drop'] as const;
export type CallerAuthorization = (typeof CALLER_AUTHORIZATION_MODES)[number];

/** OAuth2 client authentication at the token endpoint (RFC 6749 §2.3.1): HTTP Basic, or in the form body. */
export const CLIENT_AUTH_METHODS = ['basic', 'post'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
