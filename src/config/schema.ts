/**
 * The single declaration of every attache setting: its flag, env var, YAML key, default, value kind and help
 * text. The `Config` type (load.ts) and the `--help` text are both derived from {@link SCHEMA}, so there is
 * no second list to keep in step (STYLE.md §4, "Two sources of truth for one option set").
 *
 * Adding a setting is one entry here. Its position in SCHEMA is where it lands in `Config` (a nested object
 * becomes a nested group, like `json`); `yaml` is its dotted key path in the --config file, which may nest
 * differently (`bodyLimit` lands in `bodyLimitBytes`). A setting with a structured YAML value (say a map of
 * named upstreams) is a {@link Kind} whose `fromYaml` takes the whole subtree and which omits flag and env.
 *
 * Imports nothing internal except the pure value parsers.
 */
import path from 'node:path';
import {
  fail, formatDuration, formatSize, ok, parseBool, parseChoice, parseDuration, parseGrpcTarget,
  parseCorsOrigin, parseIntInRange, parseListenAddress, parseSize, quote,
} from './values.js';
import {
  CALLER_AUTHORIZATION_MODES, CLIENT_AUTH_METHODS, parseChannelOptions, parseEnvName, parseNumberInRange, parseScopes, parseTokenUrl, splitScopes,
  type CallerAuthorization, type ClientAuthMethod,
} from './outbound-values.js';
import type { ListenAddress, Parsed } from './values.js';

export type { ListenAddress } from './values.js';

/**
 * How one kind of value is read from each source. Every reader returns a {@link Parsed}; a failure's reason
 * names the bad value and what is allowed, and the loader prefixes where it came from.
 */
export interface Kind<T> {
  /** Placeholder in --help (`HOST:PORT`), or undefined for a switch: a bool flag that takes no separate value. */
  readonly metavar: string | undefined;
  /** Whether the flag may be repeated (each occurrence adds an item). */
  readonly repeatable: boolean;
  /** For a list: what separates the items in the env var (`:` for paths, `,` for names), shown in --help. */
  readonly envSeparator?: ':' | ',';
  /** The values of every occurrence of the flag, in order (exactly one unless `repeatable`). */
  readonly fromFlag: (values: readonly string[]) => Parsed<T>;
  /** An env var's text (never empty: an empty env var counts as unset). */
  readonly fromEnv: (text: string) => Parsed<T>;
  /** A YAML value as plain JS (never null: a null value counts as unset); `baseDir` is the file's folder. */
  readonly fromYaml: (value: unknown, baseDir: string) => Parsed<T>;
  /** The value as --help shows a default. */
  readonly show: (value: T) => string;
}

/** One setting. At least one of `flag`, `env`, `yaml` is set. */
export interface Setting<T> {
  readonly kind: Kind<T>;
  readonly default: T;
  /** Flag name without the leading `--`. */
  readonly flag?: string;
  /** One-letter alias without the `-`. */
  readonly short?: string;
  readonly env?: string;
  /** Dotted key path in the --config YAML file. */
  readonly yaml?: string;
  /** One line for --help: what it does (the default and sources are appended). */
  readonly help: string;
}

/** A nested group of settings, which becomes a nested object in `Config`. */
export interface SettingGroup {
  // `any`: Setting<T> is invariant in T (a Kind both produces and shows T), so no narrower type admits them all.
  readonly [key: string]: Setting<any> | SettingGroup;
}

/** The value type a schema (group) declares: each Setting<T> becomes a readonly T, each group an object. */
export type ValuesOf<G> = {
  readonly [K in keyof G]: G[K] extends Setting<infer T> ? T : ValuesOf<G[K]>;
};

/** Distinguishes a setting from a group at run time: only settings carry a `kind` with readers. */
export function isSetting(x: Setting<unknown> | SettingGroup): x is Setting<unknown> {
  const kind = (x as { kind?: unknown }).kind;
  return typeof kind === 'object' && kind !== null && 'fromFlag' in kind;
}

const describe = (v: unknown): string =>
  typeof v === 'string' ? `the string ${quote(v)}` : Array.isArray(v) ? 'a list' : typeof v === 'object' && v !== null ? 'a mapping' : String(v);

/** A single-valued setting parsed from text; YAML may give a string or a number (`maxDepth: 64`). */
function textKind<T>(metavar: string, parse: (text: string) => Parsed<T>, show: (v: T) => string): Kind<T> {
  return {
    metavar,
    repeatable: false,
    fromFlag: (values) => parse(values[0] ?? ''),
    fromEnv: parse,
    fromYaml: (v) => (typeof v === 'string' || typeof v === 'number' ? parse(String(v)) : fail(`expected ${metavar}, got ${describe(v)}`)),
    show,
  };
}

/** A boolean. As a flag it is a switch (`--x`, or `--x=false`); in YAML it must be a YAML boolean. */
export const bool: Kind<boolean> = {
  metavar: undefined,
  repeatable: false,
  fromFlag: (values) => parseBool(values[0] ?? 'true'),
  fromEnv: parseBool,
  fromYaml: (v) => (typeof v === 'boolean' ? ok(v) : fail(`expected true or false, got ${describe(v)}`)),
  show: String,
};

/**
 * A list of filesystem paths. Flags repeat (`--protos a --protos b`), env splits on `:` like PATH (empty
 * entries are skipped), YAML gives a list. A relative path from the YAML file is resolved against that file's
 * folder, so a config file means the same thing from any working directory; flags and env stay relative to
 * the working directory, as a shell user expects.
 */
export function pathList(metavar: string): Kind<readonly string[]> {
  const nonEmpty = (items: readonly string[]): Parsed<readonly string[]> =>
    items.some((p) => p === '') ? fail('a path must not be empty') : ok(items);
  return {
    metavar,
    repeatable: true,
    envSeparator: ':',
    fromFlag: nonEmpty,
    fromEnv: (text) => ok(text.split(':').filter((p) => p !== '')),
    fromYaml: (v, baseDir) => {
      if (!Array.isArray(v) || v.some((p) => typeof p !== 'string' || p === '')) {
        return fail(`expected a list of paths, e.g. [${metavar.toLowerCase()}], got ${Array.isArray(v) ? 'a list with a non-path item' : describe(v)}`);
      }
      return ok((v as string[]).map((p) => (path.isAbsolute(p) ? p : path.join(baseDir, p))));
    },
    show: (v) => v.join(' '),
  };
}

/** A path to one file (relative to the working directory). */
export const filePath: Kind<string> = textKind('FILE', (t) => (t === '' ? fail('a path must not be empty') : ok(t)), String);

/** A `HOST:PORT` listener address; see parseListenAddress. */
export const listenAddress: Kind<ListenAddress> = textKind('HOST:PORT', parseListenAddress, (a) =>
  a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`,
);

/** A grpc-js channel target; see parseGrpcTarget. */
export const grpcTarget: Kind<string> = textKind('TARGET', parseGrpcTarget, String);

/** A byte size (`4MiB`); see parseSize. */
export const size: Kind<number> = textKind('SIZE', parseSize, formatSize);

/** A duration in ms, at least `minMs` (`15s`); see parseDuration. */
export function duration(minMs: number): Kind<number> {
  const parse = (text: string): Parsed<number> => {
    const r = parseDuration(text);
    if (r.ok && r.value < minMs) return fail(`${quote(text)} is too short; the minimum is ${formatDuration(minMs)}`);
    return r;
  };
  return textKind('DUR', parse, formatDuration);
}

/** An integer from `min` to `max`. */
export function intRange(min: number, max: number): Kind<number> {
  return textKind('N', (t) => parseIntInRange(t, min, max), String);
}

/** `auto`, or an integer from `min` to `max`. */
export function autoOrIntRange(min: number, max: number): Kind<'auto' | number> {
  const parse = (t: string): Parsed<'auto' | number> => {
    if (t.trim().toLowerCase() === 'auto') return ok('auto');
    const n = parseIntInRange(t, min, max);
    return n.ok ? n : fail(`${quote(t)} is not auto or an integer from ${min} to ${max}`);
  };
  return textKind('N|auto', parse, String);
}

/** One of a fixed set of words, matched case-insensitively. */
export function choice<T extends string>(metavar: string, allowed: readonly T[]): Kind<T> {
  return textKind(metavar, (t) => parseChoice(t, allowed), String);
}

/** A setting that may be left unset (no default); `--help` shows `none`. */
export function optional<T>(kind: Kind<T>): Kind<T | undefined> {
  return { ...kind, show: (v) => (v === undefined ? 'none' : kind.show(v)) };
}

/** A decimal number from `min` to `max` (`0.5`). */
export function numberRange(min: number, max: number): Kind<number> {
  return textKind('X', (t) => parseNumberInRange(t, min, max), String);
}

/** A YAML-only mapping of raw grpc-js channel options; see parseChannelOptions. */
export const channelOptions: Kind<Readonly<Record<string, string | number>>> = {
  metavar: 'MAP',
  repeatable: false,
  fromFlag: () => fail('channel options are set in the --config file only'),
  fromEnv: () => fail('channel options are set in the --config file only'),
  fromYaml: (v) => parseChannelOptions(v),
  show: (v) => JSON.stringify(v),
};

/** OAuth2 scopes: a repeatable flag, space- or comma-separated text in env, a list (or the text) in YAML. */
export const scopes: Kind<readonly string[]> = {
  metavar: 'SCOPE',
  repeatable: true,
  envSeparator: ',',
  fromFlag: (values) => parseScopes(values.flatMap(splitScopes)),
  fromEnv: (t) => parseScopes(splitScopes(t)),
  fromYaml: (v) =>
    typeof v === 'string' ? parseScopes(splitScopes(v)) : Array.isArray(v) ? parseScopes(v) : fail(`expected a list of scopes, got ${describe(v)}`),
  show: (v) => (v.length === 0 ? 'none' : v.join(' ')),
};

/** Identity with inference: lets each SCHEMA entry infer its value type from its kind. */
function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

/**
 * A comma-separated list of words from `allowed` (the OTel spec's list syntax, e.g. OTEL_PROPAGATORS
 * `tracecontext,baggage`); YAML gives a list or the same text. Duplicates are dropped, order kept.
 */
export function wordList<T extends string>(metavar: string, allowed: readonly T[]): Kind<readonly T[]> {
  const parse = (items: readonly string[]): Parsed<readonly T[]> => {
    const out: T[] = [];
    for (const item of items) {
      const r = parseChoice(item, allowed);
      if (!r.ok) return r;
      if (!out.includes(r.value)) out.push(r.value);
    }
    return ok(out);
  };
  const split = (t: string): string[] => t.split(',').map((w) => w.trim()).filter((w) => w !== '');
  return {
    metavar,
    repeatable: false,
    fromFlag: (values) => parse(split(values[0] ?? '')),
    fromEnv: (t) => parse(split(t)),
    fromYaml: (v) =>
      typeof v === 'string' ? parse(split(v))
        : Array.isArray(v) && v.every((w) => typeof w === 'string') ? parse(v as string[])
          : fail(`expected a list of ${allowed.join(', ')}, got ${describe(v)}`),
    show: (v) => (v.length === 0 ? 'none' : v.join(',')),
  };
}

/** HTTP header names (RFC 9110 token), lower-cased; comma-separated in env, repeatable as a flag. */
export const headerNames: Kind<readonly string[]> = (() => {
  const parse = (items: readonly string[]): Parsed<readonly string[]> => {
    const bad = items.find((h) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h));
    return bad !== undefined ? fail(`${quote(bad)} is not an HTTP header name`) : ok(items.map((h) => h.toLowerCase()));
  };
  const split = (t: string): string[] => t.split(',').map((w) => w.trim()).filter((w) => w !== '');
  return {
    metavar: 'NAME',
    repeatable: true,
    envSeparator: ',',
    fromFlag: parse,
    fromEnv: (t) => parse(split(t)),
    fromYaml: (v) =>
      Array.isArray(v) && v.every((w) => typeof w === 'string') ? parse(v as string[]) : fail(`expected a list of header names, got ${describe(v)}`),
    show: (v) => (v.length === 0 ? 'none' : v.join(',')),
  };
})();

/**
 * CORS origins: `*`, an exact origin (`https://app.example.com`, `http://localhost:5173`) or a wildcard
 * subdomain (`https://*.example.com`). Flags repeat; env and YAML give a comma-separated text or a list.
 */
export const corsOrigins: Kind<readonly string[]> = (() => {
  const parse = (items: readonly string[]): Parsed<readonly string[]> => {
    const out: string[] = [];
    for (const item of items) {
      const r = parseCorsOrigin(item);
      if (!r.ok) return r;
      if (!out.includes(r.value)) out.push(r.value);
    }
    return ok(out);
  };
  const split = (t: string): string[] => t.split(',').map((w) => w.trim()).filter((w) => w !== '');
  return {
    metavar: 'ORIGIN',
    repeatable: true,
    fromFlag: parse,
    fromEnv: (t) => parse(split(t)),
    fromYaml: (v) =>
      typeof v === 'string' ? parse(split(v))
        : Array.isArray(v) && v.every((w) => typeof w === 'string') ? parse(v as string[])
          : fail(`expected a list of origins, got ${describe(v)}`),
    show: (v) => (v.length === 0 ? 'none (CORS off)' : v.join(',')),
  };
})();

/** A sampling ratio from 0 to 1 (OTEL_TRACES_SAMPLER_ARG). */
export const ratio: Kind<number> = textKind('RATIO', (t) => {
  const n = Number(t.trim());
  return t.trim() !== '' && Number.isFinite(n) && n >= 0 && n <= 1 ? ok(n) : fail(`${quote(t)} is not a number from 0 to 1`);
}, String);

/** OTEL_TRACES_EXPORTER values attache supports (the spec's `zipkin` and `jaeger` are not bundled). */
export const TRACES_EXPORTERS = ['none', 'otlp', 'console'] as const;
/** OTEL_PROPAGATORS values attache supports. */
export const PROPAGATORS = ['tracecontext', 'baggage', 'b3', 'b3multi', 'none'] as const;
/** OTEL_TRACES_SAMPLER values (the spec's list, less the vendor-specific ones). */
export const SAMPLERS = [
  'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio', 'always_on', 'always_off', 'traceidratio',
] as const;
/** OTEL_EXPORTER_OTLP_PROTOCOL values. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;

/** pino's level names, in pino's order. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting. The first seven are the documented interface every deployment uses (README.md, docs/configuration.md); their names are fixed.
 * Order here is the order of --help.
 */
export const SCHEMA = {
  protos: setting({ kind: pathList('DIR'), default: ['protos'], flag: 'protos', env: 'ATTACHE_PROTOS', yaml: 'protos',
    help: 'proto import roots; every .proto under them is loaded (repeatable)' }),
  mappings: setting({ kind: pathList('PATH'), default: ['mappings'], flag: 'mappings', env: 'ATTACHE_MAPPINGS', yaml: 'mappings',
    help: 'a google.api.Service mapping file, or a folder of them (repeatable)' }),
  upstream: setting({ kind: optional(grpcTarget), default: undefined, flag: 'upstream', env: 'GRPC_TARGET', yaml: 'upstream',
    help: 'default gRPC target: host:port, dns:///host:port, unix:/path, ipv4:…' }),
  listen: setting({ kind: listenAddress, default: { host: '0.0.0.0', port: 8080 }, flag: 'listen', env: 'ATTACHE_LISTEN', yaml: 'listen',
    help: 'the REST listener' }),
  adminListen: setting({ kind: listenAddress, default: { host: '0.0.0.0', port: 9901 }, flag: 'admin-listen', env: 'ATTACHE_ADMIN_LISTEN', yaml: 'adminListen',
    help: 'the admin listener: /healthz, /readyz, /metrics' }),
  check: setting({ kind: bool, default: false, flag: 'check',
    help: 'load and validate everything, print the route table or the errors, exit 0 or 1; serve nothing' }),
  configFile: setting({ kind: optional(filePath), default: undefined, flag: 'config', env: 'ATTACHE_CONFIG',
    help: 'a YAML file of settings (keys as shown below); flags and env override it' }),
  demo: setting({ kind: bool, default: false, flag: 'demo',
    help: 'also run the embedded demo gRPC backend on loopback and use it as the upstream' }),
  logLevel: setting({ kind: choice('LEVEL', LOG_LEVELS), default: 'info' as (typeof LOG_LEVELS)[number], flag: 'log-level', env: 'ATTACHE_LOG_LEVEL', yaml: 'logLevel',
    help: `log level: ${LOG_LEVELS.join(', ')}` }),
  logFormat: setting({ kind: choice('FORMAT', ['auto', 'json', 'pretty'] as const), default: 'auto' as 'auto' | 'json' | 'pretty', flag: 'log-format', env: 'ATTACHE_LOG_FORMAT', yaml: 'logFormat',
    help: 'log output: json (one JSON object a line), pretty (readable), auto (pretty with --demo, json otherwise)' }),
  bodyLimitBytes: setting({ kind: size, default: 4 * 1024 * 1024, flag: 'body-limit', env: 'ATTACHE_BODY_LIMIT', yaml: 'bodyLimit',
    help: 'largest accepted request body: 1048576, 512KiB, 4MiB, 1MB' }),
  defaultDeadlineMs: setting({ kind: duration(1), default: 15_000, flag: 'default-deadline', env: 'ATTACHE_DEFAULT_DEADLINE', yaml: 'defaultDeadline',
    help: 'deadline of a call when neither its rule nor the request sets one: 250ms, 2s, 1.5s, 1m' }),
  drainTimeoutMs: setting({ kind: duration(0), default: 10_000, flag: 'drain-timeout', env: 'ATTACHE_DRAIN_TIMEOUT', yaml: 'drainTimeout',
    help: 'on SIGTERM, how long in-flight requests may take to finish' }),
  streamIdleTimeoutMs: setting({ kind: duration(0), default: 0, flag: 'stream-idle-timeout', env: 'ATTACHE_STREAM_IDLE_TIMEOUT', yaml: 'streamIdleTimeout',
    help: 'a streaming call with no message either way for this long ends with DEADLINE_EXCEEDED (0: no idle limit; the deadline still covers the whole stream)' }),
  sseHeartbeatMs: setting({ kind: duration(0), default: 15_000, flag: 'sse-heartbeat', env: 'ATTACHE_SSE_HEARTBEAT', yaml: 'sseHeartbeat',
    help: 'a Server-Sent Events stream idle for this long gets a comment line, so proxies keep the connection (0: none)' }),
  heapGrowthPercent: setting({ kind: autoOrIntRange(0, 1000), default: 'auto' as 'auto' | number, flag: 'heap-growth', env: 'ATTACHE_HEAP_GROWTH', yaml: 'heapGrowth',
    help: 'how far the JavaScript heap may grow past the live data between full collections, in percent (V8 heap_growing_percent; 0: V8 decides, up to 4x); auto: 100 with no memory limit (or one of 1 GiB or more), V8\'s own inside a smaller one' }),
  heapTuning: setting({ kind: choice('MODE', ['auto', 'off'] as const), default: 'auto' as 'auto' | 'off', flag: 'heap-tuning', env: 'ATTACHE_HEAP_TUNING', yaml: 'heapTuning',
    help: "auto: inside a memory limit under 1 GiB, restart node once at start-up (same PID) with young-generation semi-spaces sized to the limit, which costs less CPU per request than V8's 1 MiB; off: V8's own sizing" }),
  workers: setting({ kind: intRange(1, 64), default: 1, flag: 'workers', env: 'ATTACHE_WORKERS', yaml: 'workers',
    help: 'processes serving both listeners (node:cluster; 1 = no cluster): a standalone gateway uses one per core' }),
  reflection: setting({ kind: bool, default: false, flag: 'reflection', env: 'ATTACHE_REFLECTION', yaml: 'reflection',
    help: "also load descriptors from the upstream's gRPC server reflection service (v1, else v1alpha), again on reload" }),
  autoMapping: setting({ kind: bool, default: false, flag: 'auto-mapping', env: 'ATTACHE_AUTO_MAPPING', yaml: 'autoMapping',
    help: 'expose every method without an HTTP rule as POST /{package.Service}/{Method}, body "*"' }),
  /** Browser access from other origins (CORS); off unless origins are given. See docs/frontend.md. */
  cors: {
    origins: setting({ kind: corsOrigins, default: [] as readonly string[], flag: 'cors-origin', env: 'ATTACHE_CORS_ORIGINS', yaml: 'cors.origins',
      help: 'an origin browsers may call from (repeatable): *, https://app.example.com, https://*.example.com' }),
    credentials: setting({ kind: bool, default: false, flag: 'cors-credentials', env: 'ATTACHE_CORS_CREDENTIALS', yaml: 'cors.credentials',
      help: 'let browsers send cookies and Authorization with cross-origin calls (not with origin *)' }),
    maxAgeMs: setting({ kind: duration(0), default: 600_000, flag: 'cors-max-age', env: 'ATTACHE_CORS_MAX_AGE', yaml: 'cors.maxAge',
      help: 'how long browsers may cache a preflight answer' }),
  },
  limits: {
    maxUrlLength: setting({ kind: size, default: 8 * 1024, flag: 'max-url-length', env: 'ATTACHE_MAX_URL_LENGTH', yaml: 'limits.maxUrlLength',
      help: 'longest request target (path and query); longer → 414' }),
    maxHeaderSize: setting({ kind: size, default: 16 * 1024, flag: 'max-header-size', env: 'ATTACHE_MAX_HEADER_SIZE', yaml: 'limits.maxHeaderSize',
      help: 'largest request head (request line and headers); larger → 431' }),
    maxQueryParams: setting({ kind: intRange(1, 1_000_000), default: 1000, flag: 'max-query-params', env: 'ATTACHE_MAX_QUERY_PARAMS', yaml: 'limits.maxQueryParams',
      help: 'most query parameters in one request; more → 400' }),
    headerTimeoutMs: setting({ kind: duration(1), default: 10_000, flag: 'header-timeout', env: 'ATTACHE_HEADER_TIMEOUT', yaml: 'limits.headerTimeout',
      help: 'time a client has to send the request head (slowloris); then 408 and close' }),
    keepAliveTimeoutMs: setting({ kind: duration(1), default: 75_000, flag: 'keep-alive-timeout', env: 'ATTACHE_KEEP_ALIVE_TIMEOUT', yaml: 'limits.keepAliveTimeout',
      help: 'idle keep-alive connections close after this; keep it above the idle timeout of a load balancer in front (AWS ALB 60 s)' }),
    maxConnections: setting({ kind: intRange(0, 1_000_000), default: 10_000, flag: 'max-connections', env: 'ATTACHE_MAX_CONNECTIONS', yaml: 'limits.maxConnections',
      help: 'concurrent client connections per process (0: no limit); beyond it new connections are closed at once' }),
    lingerMs: setting({ kind: duration(0), default: 5000, flag: 'linger-time', env: 'ATTACHE_LINGER_TIME', yaml: 'limits.lingerTime',
      help: 'after answering a request early (body too large), how long the rest of its body is read and discarded so the client can read the answer' }),
  },
  watch: setting({ kind: bool, default: false, flag: 'watch', env: 'ATTACHE_WATCH', yaml: 'watch',
    help: 'reload when a proto, mapping or config file changes (SIGHUP always reloads)' }),
  json: {
    emitUnpopulated: setting({ kind: bool, default: false, flag: 'emit-unpopulated', env: 'ATTACHE_EMIT_UNPOPULATED', yaml: 'json.emitUnpopulated',
      help: 'emit fields that hold their default value (grpc-gateway v2 style)' }),
    useProtoNames: setting({ kind: bool, default: false, flag: 'use-proto-names', env: 'ATTACHE_USE_PROTO_NAMES', yaml: 'json.useProtoNames',
      help: 'emit proto field names (amount_minor) instead of JSON names (amountMinor)' }),
    enumsAsNumbers: setting({ kind: bool, default: false, flag: 'enums-as-numbers', env: 'ATTACHE_ENUMS_AS_NUMBERS', yaml: 'json.enumsAsNumbers',
      help: 'emit enums as numbers instead of names' }),
    int64AsNumbers: setting({ kind: bool, default: false, flag: 'int64-as-numbers', env: 'ATTACHE_INT64_AS_NUMBERS', yaml: 'json.int64AsNumbers',
      help: 'emit 64-bit integers as JSON numbers instead of strings (loses precision above 2^53)' }),
    ignoreUnknownFields: setting({ kind: bool, default: false, flag: 'ignore-unknown-fields', env: 'ATTACHE_IGNORE_UNKNOWN_FIELDS', yaml: 'json.ignoreUnknownFields',
      help: 'ignore unknown JSON body fields instead of answering 400' }),
    caseInsensitiveEnums: setting({ kind: bool, default: false, flag: 'case-insensitive-enums', env: 'ATTACHE_CASE_INSENSITIVE_ENUMS', yaml: 'json.caseInsensitiveEnums',
      help: 'accept enum names in any letter case' }),
    strictQuery: setting({ kind: bool, default: false, flag: 'strict-query', env: 'ATTACHE_STRICT_QUERY', yaml: 'json.strictQuery',
      help: 'answer 400 to an unknown query parameter instead of ignoring it' }),
    maxDepth: setting({ kind: intRange(1, 1000), default: 64, flag: 'max-depth', env: 'ATTACHE_MAX_DEPTH', yaml: 'json.maxDepth',
      help: 'deepest JSON nesting accepted in a request body' }),
  },
  // Observability. The OTEL_* names are the OpenTelemetry SDK environment variables; the OTLP
  // exporter itself also reads OTEL_EXPORTER_OTLP_{,TRACES_}{ENDPOINT,HEADERS,TIMEOUT,COMPRESSION}.
  telemetry: {
    disabled: setting({ kind: bool, default: false, env: 'OTEL_SDK_DISABLED', yaml: 'telemetry.disabled',
      help: 'turn tracing off entirely: no spans, and trace headers are forwarded upstream verbatim' }),
    serviceName: setting({ kind: textKind('NAME', (t) => (t.trim() === '' ? fail('must not be empty') : ok(t.trim())), String),
      default: 'attache', env: 'OTEL_SERVICE_NAME', yaml: 'telemetry.serviceName', help: 'service.name of the spans' }),
    tracesExporter: setting({ kind: wordList('LIST', TRACES_EXPORTERS), default: [] as readonly (typeof TRACES_EXPORTERS)[number][],
      env: 'OTEL_TRACES_EXPORTER', yaml: 'telemetry.tracesExporter',
      help: 'where spans go: otlp, console or none (unset = none: propagation only, no spans recorded)' }),
    otlpProtocol: setting({ kind: choice('PROTOCOL', OTLP_PROTOCOLS), default: 'http/protobuf' as (typeof OTLP_PROTOCOLS)[number],
      env: 'OTEL_EXPORTER_OTLP_PROTOCOL', yaml: 'telemetry.otlpProtocol', help: 'OTLP transport: http/protobuf, http/json or grpc' }),
    otlpTracesProtocol: setting({ kind: optional(choice('PROTOCOL', OTLP_PROTOCOLS)), default: undefined,
      env: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', yaml: 'telemetry.otlpTracesProtocol', help: 'OTLP transport for traces (overrides the above)' }),
    propagators: setting({ kind: optional(wordList('LIST', PROPAGATORS)), default: undefined,
      env: 'OTEL_PROPAGATORS', yaml: 'telemetry.propagators',
      help: 'trace header formats; unset: read tracecontext, baggage, b3 and X-B3-*, write tracecontext, baggage and X-B3-*' }),
    sampler: setting({ kind: choice('SAMPLER', SAMPLERS), default: 'parentbased_always_on' as (typeof SAMPLERS)[number],
      env: 'OTEL_TRACES_SAMPLER', yaml: 'telemetry.sampler', help: `head sampler: ${SAMPLERS.join(', ')}` }),
    samplerArg: setting({ kind: ratio, default: 1, env: 'OTEL_TRACES_SAMPLER_ARG', yaml: 'telemetry.samplerArg',
      help: 'the ratio of the traceidratio samplers' }),
    redactHeaders: setting({ kind: headerNames, default: [] as readonly string[], flag: 'redact-header', env: 'ATTACHE_REDACT_HEADERS',
      yaml: 'telemetry.redactHeaders', help: 'more headers whose values never reach a log line (authorization and cookie always)' }),
  },
  /**
   * The outbound side: defaults for every upstream and method. Mapping files override retry, hedging,
   * breaker, bulkhead, TLS and credentials per selector (`attache: rules:`); see docs/resilience.md.
   */
  outbound: {
    retryMaxAttempts: setting({ kind: intRange(1, 5), default: 3, flag: 'retry-max-attempts', env: 'ATTACHE_RETRY_MAX_ATTEMPTS', yaml: 'retry.maxAttempts',
      help: 'attempts per call, the first included (1 turns retries off; gRFC A6 caps it at 5)' }),
    retryInitialBackoffMs: setting({ kind: duration(1), default: 100, flag: 'retry-initial-backoff', env: 'ATTACHE_RETRY_INITIAL_BACKOFF', yaml: 'retry.initialBackoff',
      help: 'backoff before the first retry (jittered: a random delay up to this)' }),
    retryMaxBackoffMs: setting({ kind: duration(1), default: 2000, flag: 'retry-max-backoff', env: 'ATTACHE_RETRY_MAX_BACKOFF', yaml: 'retry.maxBackoff',
      help: 'largest backoff between attempts' }),
    retryBackoffMultiplier: setting({ kind: numberRange(1, 10), default: 2, flag: 'retry-backoff-multiplier', env: 'ATTACHE_RETRY_BACKOFF_MULTIPLIER', yaml: 'retry.backoffMultiplier',
      help: 'growth of the backoff per attempt' }),
    retryThrottleMaxTokens: setting({ kind: intRange(1, 1000), default: 10, flag: 'retry-throttle-max-tokens', env: 'ATTACHE_RETRY_THROTTLE_MAX_TOKENS', yaml: 'retry.throttling.maxTokens',
      help: 'retry throttling bucket per upstream: each failure takes 1, retries stop below half (gRFC A6)' }),
    retryThrottleTokenRatio: setting({ kind: numberRange(0.001, 1), default: 0.1, flag: 'retry-throttle-token-ratio', env: 'ATTACHE_RETRY_THROTTLE_TOKEN_RATIO', yaml: 'retry.throttling.tokenRatio',
      help: 'tokens a successful call gives back' }),
    keepaliveTimeMs: setting({ kind: duration(1), default: 20_000, flag: 'keepalive-time', env: 'ATTACHE_KEEPALIVE_TIME', yaml: 'keepalive.time',
      help: 'a call waiting this long with nothing received on its connection sends a PING (gRFC A8); also the TCP keepalive idle time' }),
    keepaliveTimeoutMs: setting({ kind: duration(1), default: 20_000, flag: 'keepalive-timeout', env: 'ATTACHE_KEEPALIVE_TIMEOUT', yaml: 'keepalive.timeout',
      help: 'a ping unanswered for this long closes the connection; its calls fail UNAVAILABLE' }),
    keepalivePermitWithoutCalls: setting({ kind: bool, default: false, flag: 'keepalive-permit-without-calls', env: 'ATTACHE_KEEPALIVE_PERMIT_WITHOUT_CALLS', yaml: 'keepalive.permitWithoutCalls',
      help: 'also ping idle connections (the upstream must permit pings without calls, or it closes the connection: too_many_pings)' }),
    keepaliveServerMinTimeMs: setting({ kind: duration(0), default: 310_000, flag: 'keepalive-server-min-time', env: 'ATTACHE_KEEPALIVE_SERVER_MIN_TIME', yaml: 'keepalive.serverMinTime',
      help: "the upstream's ping policy: at most one PING per this interval while the upstream sends nothing (grpc-go, grpc-java and C-core servers allow one per 5 min)" }),
    maxSendBytes: setting({ kind: size, default: 4 * 1024 * 1024, flag: 'max-send-message-size', env: 'ATTACHE_MAX_SEND_MESSAGE_SIZE', yaml: 'maxSendMessageSize',
      help: 'largest request message sent upstream' }),
    maxReceiveBytes: setting({ kind: size, default: 4 * 1024 * 1024, flag: 'max-receive-message-size', env: 'ATTACHE_MAX_RECEIVE_MESSAGE_SIZE', yaml: 'maxReceiveMessageSize',
      help: 'largest response message accepted from upstream' }),
    reconnectInitialBackoffMs: setting({ kind: duration(1), default: 1000, flag: 'reconnect-backoff-initial', env: 'ATTACHE_RECONNECT_BACKOFF_INITIAL', yaml: 'reconnectBackoff.initial',
      help: 'first delay before reconnecting to an upstream that went away (gRPC connection backoff)' }),
    reconnectMaxBackoffMs: setting({ kind: duration(1), default: 10_000, flag: 'reconnect-backoff-max', env: 'ATTACHE_RECONNECT_BACKOFF_MAX', yaml: 'reconnectBackoff.max',
      help: 'longest delay between reconnection attempts' }),
    loadBalancing: setting({ kind: choice('POLICY', ['round_robin', 'pick_first'] as const), default: 'round_robin' as 'round_robin' | 'pick_first', flag: 'load-balancing', env: 'ATTACHE_LOAD_BALANCING', yaml: 'loadBalancing',
      help: 'how calls spread over the addresses of a target (dns:/// or ipv4:a,b): round_robin, pick_first' }),
    transport: setting({ kind: choice('TRANSPORT', ['auto', 'grpc-js'] as const), default: 'auto' as 'auto' | 'grpc-js', flag: 'upstream-transport', env: 'ATTACHE_UPSTREAM_TRANSPORT', yaml: 'transport',
      help: 'the gRPC client: auto (attache\'s lean HTTP/2 client for host:port, dns:, ipv4:, ipv6: and unix: targets; grpc-js for other targets, with channelOptions or a proxy variable set) or grpc-js (always)' }),
    channelOptions: setting({ kind: channelOptions, default: {}, yaml: 'channelOptions',
      help: 'raw grpc-js channel options (a checked list; see docs/resilience.md)' }),
    breakerEnabled: setting({ kind: bool, default: true, flag: 'breaker', env: 'ATTACHE_BREAKER', yaml: 'breaker.enabled',
      help: 'a circuit breaker per upstream' }),
    breakerConsecutiveFailures: setting({ kind: intRange(1, 100_000), default: 5, flag: 'breaker-consecutive-failures', env: 'ATTACHE_BREAKER_CONSECUTIVE_FAILURES', yaml: 'breaker.consecutiveFailures',
      help: 'this many failures in a row open the breaker' }),
    breakerFailureRatio: setting({ kind: numberRange(0.01, 1), default: 0.5, flag: 'breaker-failure-ratio', env: 'ATTACHE_BREAKER_FAILURE_RATIO', yaml: 'breaker.failureRatio',
      help: 'this share of failures over the window (with at least breaker.minimumCalls calls) opens it' }),
    breakerWindowMs: setting({ kind: duration(100), default: 10_000, flag: 'breaker-window', env: 'ATTACHE_BREAKER_WINDOW', yaml: 'breaker.window',
      help: 'the window the failure ratio is computed over' }),
    breakerMinimumCalls: setting({ kind: intRange(1, 1_000_000), default: 20, flag: 'breaker-minimum-calls', env: 'ATTACHE_BREAKER_MINIMUM_CALLS', yaml: 'breaker.minimumCalls',
      help: 'calls the window needs before the ratio counts' }),
    breakerOpenMs: setting({ kind: duration(1), default: 5000, flag: 'breaker-open-time', env: 'ATTACHE_BREAKER_OPEN_TIME', yaml: 'breaker.openTime',
      help: 'how long an open breaker refuses calls (Retry-After) before letting probes through' }),
    breakerHalfOpenProbes: setting({ kind: intRange(1, 1000), default: 1, flag: 'breaker-half-open-probes', env: 'ATTACHE_BREAKER_HALF_OPEN_PROBES', yaml: 'breaker.halfOpenProbes',
      help: 'concurrent probe calls while half-open; all must succeed to close' }),
    bulkheadMaxConcurrent: setting({ kind: intRange(0, 1_000_000), default: 256, flag: 'bulkhead-max-concurrent', env: 'ATTACHE_BULKHEAD_MAX_CONCURRENT', yaml: 'bulkhead.maxConcurrent',
      help: 'concurrent calls per upstream (0: no limit)' }),
    bulkheadMaxQueue: setting({ kind: intRange(0, 1_000_000), default: 64, flag: 'bulkhead-max-queue', env: 'ATTACHE_BULKHEAD_MAX_QUEUE', yaml: 'bulkhead.maxQueue',
      help: 'calls that may wait for a slot; beyond that, 503 at once' }),
    tlsCa: setting({ kind: optional(filePath), default: undefined, flag: 'upstream-ca', env: 'ATTACHE_UPSTREAM_CA', yaml: 'tls.ca',
      help: 'PEM CA bundle for grpcs:// upstreams (default: the system roots)' }),
    tlsCert: setting({ kind: optional(filePath), default: undefined, flag: 'upstream-cert', env: 'ATTACHE_UPSTREAM_CERT', yaml: 'tls.cert',
      help: 'PEM client certificate for mTLS to grpcs:// upstreams (with --upstream-key)' }),
    tlsKey: setting({ kind: optional(filePath), default: undefined, flag: 'upstream-key', env: 'ATTACHE_UPSTREAM_KEY', yaml: 'tls.key',
      help: 'PEM private key of the client certificate' }),
    tlsServerName: setting({ kind: optional(textKind('NAME', (t) => (t === '' ? fail('a server name must not be empty') : ok(t)), String)), default: undefined, flag: 'upstream-server-name', env: 'ATTACHE_UPSTREAM_SERVER_NAME', yaml: 'tls.serverName',
      help: 'name checked against the upstream certificate (and sent as SNI/:authority) instead of the host' }),
    tlsReloadMs: setting({ kind: duration(10), default: 10_000, flag: 'tls-reload-interval', env: 'ATTACHE_TLS_RELOAD_INTERVAL', yaml: 'tls.reloadInterval',
      help: 'how often certificate files are re-read; a change takes effect for new calls' }),
    // Upstream credentials (docs/credentials.md). No setting holds a secret itself: the client secret is
    // read from a file or from the environment variable named here, so it is never in Config (which may be
    // logged), on a command line (visible in `ps`) or in a YAML file (often a ConfigMap).
    credentialsTokenFile: setting({ kind: optional(filePath), default: undefined, flag: 'upstream-token-file', env: 'ATTACHE_UPSTREAM_TOKEN_FILE', yaml: 'credentials.tokenFile',
      help: 'a file holding a bearer token sent as `authorization: Bearer …` on every upstream call; re-read when it changes' }),
    credentialsTokenUrl: setting({ kind: optional(textKind('URL', parseTokenUrl, String)), default: undefined, flag: 'upstream-token-url', env: 'ATTACHE_UPSTREAM_TOKEN_URL', yaml: 'credentials.tokenUrl',
      help: 'OAuth2 token endpoint (https://, or http:// to loopback) for a client-credentials token sent on every upstream call' }),
    credentialsClientId: setting({ kind: optional(textKind('ID', (t) => (t.trim() === '' ? fail('a client id must not be empty') : ok(t.trim())), String)), default: undefined, flag: 'upstream-client-id', env: 'ATTACHE_UPSTREAM_CLIENT_ID', yaml: 'credentials.clientId',
      help: 'OAuth2 client id (with --upstream-token-url)' }),
    credentialsClientSecretFile: setting({ kind: optional(filePath), default: undefined, flag: 'upstream-client-secret-file', env: 'ATTACHE_UPSTREAM_CLIENT_SECRET_FILE', yaml: 'credentials.clientSecretFile',
      help: 'a file holding the OAuth2 client secret (re-read at each token request)' }),
    credentialsClientSecretEnv: setting({ kind: textKind('VAR', parseEnvName, String), default: 'ATTACHE_UPSTREAM_CLIENT_SECRET', flag: 'upstream-client-secret-env', env: 'ATTACHE_UPSTREAM_CLIENT_SECRET_ENV', yaml: 'credentials.clientSecretEnv',
      help: 'the environment variable holding the OAuth2 client secret, when no secret file is given' }),
    credentialsScopes: setting({ kind: scopes, default: [] as readonly string[], flag: 'upstream-scope', env: 'ATTACHE_UPSTREAM_SCOPES', yaml: 'credentials.scopes',
      help: 'OAuth2 scopes to ask for (repeatable)' }),
    credentialsAudience: setting({ kind: optional(textKind('AUDIENCE', (t) => (t.trim() === '' ? fail('an audience must not be empty') : ok(t.trim())), String)), default: undefined, flag: 'upstream-audience', env: 'ATTACHE_UPSTREAM_AUDIENCE', yaml: 'credentials.audience',
      help: 'the `audience` parameter of the token request (Auth0, Okta and others use it to pick the API)' }),
    credentialsClientAuth: setting({ kind: choice('METHOD', CLIENT_AUTH_METHODS), default: 'basic' as ClientAuthMethod, flag: 'upstream-client-auth', env: 'ATTACHE_UPSTREAM_CLIENT_AUTH', yaml: 'credentials.clientAuth',
      help: 'how the client authenticates to the token endpoint: basic (HTTP Basic, RFC 6749 §2.3.1) or post (in the form body)' }),
    credentialsCallerAuthorization: setting({ kind: choice('MODE', CALLER_AUTHORIZATION_MODES), default: 'forward' as CallerAuthorization, flag: 'upstream-caller-authorization', env: 'ATTACHE_UPSTREAM_CALLER_AUTHORIZATION', yaml: 'credentials.callerAuthorization',
      help: "a caller's own Authorization when attache attaches an upstream credential: forward (sent as x-forwarded-authorization, as ESPv2 does), keep (the caller's wins; no credential added), drop" }),
    credentialsReloadMs: setting({ kind: duration(10), default: 10_000, flag: 'upstream-token-reload-interval', env: 'ATTACHE_UPSTREAM_TOKEN_RELOAD_INTERVAL', yaml: 'credentials.reloadInterval',
      help: 'how often a token file is re-read; a change takes effect for new calls' }),
    upstreamTls: setting({ kind: bool, default: false, flag: 'upstream-tls', env: 'ATTACHE_UPSTREAM_TLS', yaml: 'upstreamTls',
      help: 'use TLS for --upstream (backend rules say grpcs:// instead)' }),
    readiness: setting({ kind: choice('POLICY', ['ignore', 'channel', 'health'] as const), default: 'ignore' as 'ignore' | 'channel' | 'health', flag: 'readiness', env: 'ATTACHE_READINESS', yaml: 'readiness.policy',
      help: 'what /readyz requires of upstreams: ignore, channel (connected), health (grpc.health.v1 SERVING)' }),
    healthIntervalMs: setting({ kind: duration(10), default: 5000, flag: 'health-interval', env: 'ATTACHE_HEALTH_INTERVAL', yaml: 'readiness.interval',
      help: 'how often each upstream is checked for --readiness channel/health' }),
    healthService: setting({ kind: textKind('NAME', ok, String), default: '', flag: 'health-service', env: 'ATTACHE_HEALTH_SERVICE', yaml: 'readiness.service',
      help: 'the service name sent in grpc.health.v1 Check ("" is the whole server)' }),
  },
  help: setting({ kind: bool, default: false, flag: 'help', short: 'h', help: 'print this help and exit' }),
  version: setting({ kind: bool, default: false, flag: 'version', help: 'print the version and exit' }),
} satisfies SettingGroup;

/** The settings' values, shaped like {@link SCHEMA}. load.ts exports it as `Config`. */
export type SchemaValues = ValuesOf<typeof SCHEMA>;

/** A setting with its position in the value tree (`['json', 'maxDepth']`). */
export interface SettingEntry {
  readonly path: readonly string[];
  readonly setting: Setting<unknown>;
}

/** Every setting of a schema (default {@link SCHEMA}) in declaration order, depth first. */
export function settingEntries(group: SettingGroup = SCHEMA, prefix: readonly string[] = []): SettingEntry[] {
  return Object.entries(group).flatMap(([key, s]) =>
    isSetting(s) ? [{ path: [...prefix, key], setting: s }] : settingEntries(s, [...prefix, key]),
  );
}
