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
  parseIntInRange, parseListenAddress, parseSize, quote,
} from './values.js';
import type { ListenAddress, Parsed } from './values.js';

export type { ListenAddress } from './values.js';

/**
 * How one kind of value is read from each source. Every reader returns a {@link Parsed}; a failure's reason
 * names the bad value and what is allowed, and the loader prefixes where it came from.
 */
export interface Kind<T> {
  /** Placeholder in --help (`HOST:PORT`), or undefined for a switch: a bool flag that takes no separate value. */
  readonly metavar: string | undefined;
  /** Whether the flag may be repeated (each occurrence adds an item); env then splits on `:`. */
  readonly repeatable: boolean;
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

/** One of a fixed set of words, matched case-insensitively. */
export function choice<T extends string>(metavar: string, allowed: readonly T[]): Kind<T> {
  return textKind(metavar, (t) => parseChoice(t, allowed), String);
}

/** A setting that may be left unset (no default); `--help` shows `none`. */
export function optional<T>(kind: Kind<T>): Kind<T | undefined> {
  return { ...kind, show: (v) => (v === undefined ? 'none' : kind.show(v)) };
}

/** Identity with inference: lets each SCHEMA entry infer its value type from its kind. */
function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

/** pino's level names, in pino's order. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * Every setting. The first seven are the external contract (CONTRACT.md "Start"); their names are fixed.
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
    help: 'the admin listener: /healthz, /readyz, /metrics, /openapi.json' }),
  check: setting({ kind: bool, default: false, flag: 'check',
    help: 'load and validate everything, print the route table or the errors, exit 0 or 1; serve nothing' }),
  configFile: setting({ kind: optional(filePath), default: undefined, flag: 'config', env: 'ATTACHE_CONFIG',
    help: 'a YAML file of settings (keys as shown below); flags and env override it' }),
  demo: setting({ kind: bool, default: false, flag: 'demo',
    help: 'also run the embedded demo gRPC backend on loopback and use it as the upstream' }),
  logLevel: setting({ kind: choice('LEVEL', LOG_LEVELS), default: 'info' as (typeof LOG_LEVELS)[number], flag: 'log-level', env: 'ATTACHE_LOG_LEVEL', yaml: 'logLevel',
    help: `log level: ${LOG_LEVELS.join(', ')}` }),
  bodyLimitBytes: setting({ kind: size, default: 4 * 1024 * 1024, flag: 'body-limit', env: 'ATTACHE_BODY_LIMIT', yaml: 'bodyLimit',
    help: 'largest accepted request body: 1048576, 512KiB, 4MiB, 1MB' }),
  defaultDeadlineMs: setting({ kind: duration(1), default: 15_000, flag: 'default-deadline', env: 'ATTACHE_DEFAULT_DEADLINE', yaml: 'defaultDeadline',
    help: 'deadline of a call when neither its rule nor the request sets one: 250ms, 2s, 1.5s, 1m' }),
  drainTimeoutMs: setting({ kind: duration(0), default: 10_000, flag: 'drain-timeout', env: 'ATTACHE_DRAIN_TIMEOUT', yaml: 'drainTimeout',
    help: 'on SIGTERM, how long in-flight requests may take to finish' }),
  workers: setting({ kind: intRange(1, 64), default: 1, flag: 'workers', env: 'ATTACHE_WORKERS', yaml: 'workers',
    help: 'processes serving both listeners (node:cluster; 1 = no cluster): a standalone gateway uses one per core' }),
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
