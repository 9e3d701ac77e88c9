/**
 * The outbound sections of an `attache: rules:` entry in a mapping file: `retry`, `hedging`, `breaker`,
 * `bulkhead` and `tls`. Each reader checks the shape (known keys, value types, units) and returns a partial
 * spec; what a value means for a method (safety, gRFC A6 limits, conflicts between rules for one upstream)
 * is checked where the routes are resolved (src/upstream/policy.ts, service-config.ts), so defaults from the
 * config file go through the same checks.
 *
 * ```yaml
 * attache:
 *   rules:
 *     - selector: payments.v1.PaymentService.GetPayment
 *       retry: { maxAttempts: 4, retryableStatusCodes: [UNAVAILABLE, DEADLINE_EXCEEDED], perTryTimeout: 500ms }
 *     - selector: "payments.v1.*"
 *       breaker: { consecutiveFailures: 10, openTime: 2s }
 *       bulkhead: { maxConcurrent: 50, maxQueue: 10 }
 *       tls: { ca: certs/ca.pem, cert: certs/client.pem, key: certs/client.key, serverName: payments.internal }
 * ```
 */
import path from 'node:path';
import { parseStatusCodes } from './outbound-values.js';
import { closest } from './support.js';
import { parseDuration, quote } from './values.js';
import { describeNode, toPlain } from './yaml-source.js';
import type { YamlEntry, YamlNode } from './yaml-source.js';

/** Where section readers report: the mapping loader's per-file reporter. */
export interface SectionReporter {
  readonly file: string;
  error(line: number, message: string, rule?: string): void;
}

/** `retry:` per selector; absent keys keep the global defaults. `retry: false` is `{maxAttempts: 1}`. */
export interface RetryRuleOptions {
  readonly maxAttempts?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly backoffMultiplier?: number;
  /** Upper-case code names. */
  readonly retryableStatusCodes?: readonly string[];
  /** Each attempt's own deadline, carved out of the call's deadline. */
  readonly perTryTimeoutMs?: number;
  /**
   * The rule declares the method safe to repeat, as `option idempotency_level = IDEMPOTENT` in its proto
   * would: a call of unknown outcome may then be sent again, and the safe-only policies apply.
   */
  readonly idempotent?: boolean;
}

/** `hedging:` per selector (gRFC A6 hedgingPolicy): opt-in, for safe methods only. */
export interface HedgingRuleOptions {
  readonly maxAttempts?: number;
  readonly hedgingDelayMs?: number;
  readonly nonFatalStatusCodes?: readonly string[];
}

/** `breaker:` for the upstream of the selected methods. */
export interface BreakerRuleOptions {
  readonly enabled?: boolean;
  readonly consecutiveFailures?: number;
  readonly failureRatio?: number;
  readonly windowMs?: number;
  readonly minimumCalls?: number;
  readonly openMs?: number;
  readonly halfOpenProbes?: number;
}

/** `bulkhead:` for the upstream of the selected methods. */
export interface BulkheadRuleOptions {
  readonly maxConcurrent?: number;
  readonly maxQueue?: number;
}

/** `tls:` for the (grpcs://) upstream of the selected methods; paths are resolved against the mapping file's folder. */
export interface TlsRuleOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

type FieldKind = 'int' | 'number' | 'duration' | 'codes' | 'bool' | 'path' | 'string';

/** One YAML key → the spec key it fills and how its value is read. */
type Fields = Readonly<Record<string, readonly [specKey: string, kind: FieldKind]>>;

const RETRY_FIELDS: Fields = {
  maxAttempts: ['maxAttempts', 'int'],
  initialBackoff: ['initialBackoffMs', 'duration'],
  maxBackoff: ['maxBackoffMs', 'duration'],
  backoffMultiplier: ['backoffMultiplier', 'number'],
  retryableStatusCodes: ['retryableStatusCodes', 'codes'],
  perTryTimeout: ['perTryTimeoutMs', 'duration'],
  idempotent: ['idempotent', 'bool'],
};
const HEDGING_FIELDS: Fields = {
  maxAttempts: ['maxAttempts', 'int'],
  hedgingDelay: ['hedgingDelayMs', 'duration'],
  nonFatalStatusCodes: ['nonFatalStatusCodes', 'codes'],
};
const BREAKER_FIELDS: Fields = {
  enabled: ['enabled', 'bool'],
  consecutiveFailures: ['consecutiveFailures', 'int'],
  failureRatio: ['failureRatio', 'number'],
  window: ['windowMs', 'duration'],
  minimumCalls: ['minimumCalls', 'int'],
  openTime: ['openMs', 'duration'],
  halfOpenProbes: ['halfOpenProbes', 'int'],
};
const BULKHEAD_FIELDS: Fields = {
  maxConcurrent: ['maxConcurrent', 'int'],
  maxQueue: ['maxQueue', 'int'],
};
const TLS_FIELDS: Fields = {
  ca: ['ca', 'path'],
  cert: ['cert', 'path'],
  key: ['key', 'path'],
  serverName: ['serverName', 'string'],
};

/**
 * Reads a section mapping by `fields`. Unknown keys (with a "did you mean"), wrong types and bad durations
 * or codes are reported; returns undefined when anything was wrong.
 */
function readSection(name: string, fields: Fields, entry: YamlEntry, rule: string, r: SectionReporter): Record<string, unknown> | undefined {
  if (entry.value.kind !== 'map') {
    r.error(entry.line, `${name}: expected a mapping of ${Object.keys(fields).join(', ')}, got ${describeNode(entry.value)}`, rule);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  let bad = false;
  const report = (line: number, message: string): void => {
    bad = true;
    r.error(line, message, rule);
  };
  for (const e of entry.value.entries) {
    const field = Object.hasOwn(fields, e.key) ? fields[e.key] : undefined;
    if (field === undefined) {
      const guess = closest(e.key, Object.keys(fields));
      report(e.line, `${name}: unknown key ${quote(e.key)}${guess ? `; did you mean ${quote(guess)}?` : ''} (allowed: ${Object.keys(fields).join(', ')})`);
      continue;
    }
    if (e.value.kind === 'scalar' && e.value.value === null) continue;
    const value = readValue(field[1], e.value, path.dirname(r.file));
    if (typeof value === 'object' && value !== null && 'error' in value) report(e.line, `${name}.${e.key}: ${value.error}`);
    else out[field[0]] = value;
  }
  return bad ? undefined : out;
}

function readValue(kind: FieldKind, node: YamlNode, baseDir: string): unknown {
  const v = node.kind === 'scalar' ? node.value : undefined;
  switch (kind) {
    case 'int':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : { error: `expected a whole number ≥ 0, got ${describeNode(node)}` };
    case 'number':
      return typeof v === 'number' && Number.isFinite(v) ? v : { error: `expected a number, got ${describeNode(node)}` };
    case 'bool':
      return typeof v === 'boolean' ? v : { error: `expected true or false, got ${describeNode(node)}` };
    case 'string':
      return typeof v === 'string' && v !== '' ? v : { error: `expected a non-empty string, got ${describeNode(node)}` };
    case 'path':
      return typeof v === 'string' && v !== '' ? path.resolve(baseDir, v) : { error: `expected a file path, got ${describeNode(node)}` };
    case 'duration': {
      // gRFC A6 writes durations as "0.1s"; parseDuration accepts that and 100ms, 2s, 1m.
      if (typeof v !== 'string') return { error: `expected a duration like 100ms, 0.5s or 2s, got ${describeNode(node)}` };
      const d = parseDuration(v);
      return d.ok ? d.value : { error: d.reason };
    }
    case 'codes': {
      if (node.kind !== 'seq') return { error: `expected a list of status codes like [UNAVAILABLE], got ${describeNode(node)}` };
      const c = parseStatusCodes(toPlain(node) as unknown[]);
      return c.ok ? c.value : { error: c.reason };
    }
  }
}

/** `retry:` — a mapping, or `false` (no retries: maxAttempts 1). */
export function readRetryOptions(entry: YamlEntry, rule: string, r: SectionReporter): RetryRuleOptions | undefined {
  if (entry.value.kind === 'scalar' && entry.value.value === false) return { maxAttempts: 1 };
  return readSection('retry', RETRY_FIELDS, entry, rule, r) as RetryRuleOptions | undefined;
}

/** `hedging:` — a mapping. */
export function readHedgingOptions(entry: YamlEntry, rule: string, r: SectionReporter): HedgingRuleOptions | undefined {
  return readSection('hedging', HEDGING_FIELDS, entry, rule, r) as HedgingRuleOptions | undefined;
}

/** `breaker:` — a mapping, or `false` (`{enabled: false}`). */
export function readBreakerOptions(entry: YamlEntry, rule: string, r: SectionReporter): BreakerRuleOptions | undefined {
  if (entry.value.kind === 'scalar' && entry.value.value === false) return { enabled: false };
  return readSection('breaker', BREAKER_FIELDS, entry, rule, r) as BreakerRuleOptions | undefined;
}

/** `bulkhead:` — a mapping. */
export function readBulkheadOptions(entry: YamlEntry, rule: string, r: SectionReporter): BulkheadRuleOptions | undefined {
  return readSection('bulkhead', BULKHEAD_FIELDS, entry, rule, r) as BulkheadRuleOptions | undefined;
}

/** `tls:` — a mapping. */
export function readTlsOptions(entry: YamlEntry, rule: string, r: SectionReporter): TlsRuleOptions | undefined {
  return readSection('tls', TLS_FIELDS, entry, rule, r) as TlsRuleOptions | undefined;
}
