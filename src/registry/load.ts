/**
 * Loads every .proto under the user's import roots, plus the bundled Google proto families, into one
 * protobufjs reflection Root.
 *
 * Why protobufjs directly rather than @grpc/proto-loader's PackageDefinition: proto-loader is a thin layer
 * over exactly this (protobufjs `Root` + include-path resolution) and then throws the reflection tree away,
 * keeping only serializers and descriptor bytes. attache needs the tree itself — field descriptors,
 * json_name, method options (google.api.http, idempotency_level), oneofs and map fields — to compile its
 * routes and JSON codecs at start-up. So we do what proto-loader does internally, keep the Root, and add the
 * error reporting (file and line) that `--check` needs.
 */
import fs from 'node:fs';
import path from 'node:path';
import Long from 'long';
import protobuf from 'protobufjs';
import { BUNDLED_PROTOS_DIR } from '../package-dir.js';
import { withoutWideComments } from './proto-text.js';

// protobufjs finds `long` with a run-time require of its own (util.inquire), which only works where a
// node_modules folder sits beside the running file; handing it over keeps 64-bit fields exact in the
// bundled dist/cli.js too (protobufjs's README: "protobuf.util.Long = Long; protobuf.configure()").
protobuf.util.Long = Long;
protobuf.configure();

/**
 * protobufjs generates a message constructor per type with `new Function` when it resolves the type's
 * fields (Field#resolve puts the defaults on the constructor's prototype), so every type of every loaded
 * file gets one at start-up, used or not: ~6% of the start-up CPU of a large Google API set and 1.8 MiB per
 * 2,200 materialized types (source text and code). This builds the same constructor — own empty arrays for
 * repeated fields and objects for maps, then the given properties but null, undefined and `__proto__` — from
 * one shared closure. `Type.generateConstructor` is protobufjs's public hook for it (a Codegen: a function
 * returning the constructor).
 */
protobuf.Type.generateConstructor = ((mtype: protobuf.Type) => {
  const arrays: string[] = [];
  const maps: string[] = [];
  for (const f of mtype.fieldsArray) {
    if (f.map) maps.push(f.name);
    else if (f.repeated) arrays.push(f.name);
  }
  return () =>
    function Message(this: Record<string, unknown>, p?: Record<string, unknown>): void {
      for (let i = 0; i < maps.length; i++) this[maps[i]!] = {};
      for (let i = 0; i < arrays.length; i++) this[arrays[i]!] = [];
      if (p) {
        for (const k of Object.keys(p)) if (p[k] != null && k !== '__proto__') this[k] = p[k];
      }
    };
}) as unknown as typeof protobuf.Type.generateConstructor;

/** Files every registry loads, whatever the user ships: error details need them to render. */
const ALWAYS_LOADED = [
  'google/protobuf/any.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/empty.proto',
  'google/protobuf/field_mask.proto',
  'google/protobuf/struct.proto',
  'google/protobuf/timestamp.proto',
  'google/protobuf/wrappers.proto',
  'google/rpc/status.proto',
  'google/rpc/error_details.proto',
  'google/rpc/code.proto',
  'google/api/annotations.proto',
] as const;

/** The loaded protos. Immutable after `loadRegistry` returns. */
export interface Registry {
  /** The protobufjs reflection root, fully resolved (`resolveAll()` has run). */
  readonly root: protobuf.Root;
  /** The user's .proto files, as paths relative to their import root, sorted. */
  readonly userFiles: readonly string[];
  /** Import name (e.g. `payments/v1/payments.proto`) → absolute path it was loaded from. */
  readonly resolved: ReadonlyMap<string, string>;
}

/** A proto that could not be loaded: a syntax error, a missing import, an unresolvable type. */
export class RegistryError extends Error {
  readonly code = 'ATTACHE_E_PROTO';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`);
    this.name = 'RegistryError';
  }
}

/** Every problem found while loading the protos (one per broken file, in load order). */
export class ProtoLoadError extends Error {
  readonly code = 'ATTACHE_E_PROTO';
  constructor(readonly problems: readonly RegistryError[]) {
    super(problems.map((p) => p.message).join('\n'));
    this.name = 'ProtoLoadError';
  }
}

/** Every `.proto` under `dir`, relative to it, sorted for a deterministic load order. */
function listProtos(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const child = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && !e.name.startsWith('.')) walk(child);
      } else if (e.name.endsWith('.proto')) {
        out.push(child);
      }
    }
  };
  walk('');
  return out.sort();
}

/** A proto file's text for protobufjs's `readFileSync(name).toString("utf8")`, wide comment characters out. */
function readProtoText(file: string): { toString(): string } {
  const text = withoutWideComments(fs.readFileSync(file, 'utf8'));
  return { toString: () => text };
}

/** The 1-based line of `needle` in `file`, when it can be found. */
function lineOf(file: string, needle: string): number | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8');
    const idx = text.indexOf(needle);
    return idx < 0 ? undefined : text.slice(0, idx).split('\n').length;
  } catch {
    return undefined;
  }
}

/**
 * protobufjs reports syntax errors as "… (file, line N)" or, once its parser has cleared its filename,
 * "… (line N)"; lift the line out and name the file being parsed (`currentFile`).
 */
function fromProtobufError(err: Error, currentFile: string): RegistryError {
  const m = /^(.*) \((?:([^,()]+), )?line (\d+)\)$/.exec(err.message);
  if (m) return new RegistryError(m[2] ?? currentFile, Number(m[3]), m[1]!);
  return new RegistryError(currentFile, undefined, err.message);
}

/**
 * Loads the protos under `roots` (and the bundled Google families) into a resolved Root.
 * A user file under the same import path as a bundled one takes precedence. `comments`: keep `//` comments
 * as well as doc comments (for the OpenAPI document).
 * @throws RegistryError for a root that is not a folder; ProtoLoadError listing every broken file (each
 *         with file and line where known), so `--check` can report them all at once.
 */
export function loadRegistry(roots: readonly string[], options: { readonly comments?: boolean } = {}): Registry {
  const absRoots = roots.map((r) => path.resolve(r));
  for (const r of absRoots) {
    if (!fs.existsSync(r) || !fs.statSync(r).isDirectory()) {
      throw new RegistryError(r, undefined, 'proto root is not a readable directory');
    }
  }
  const searchDirs = [...absRoots, BUNDLED_PROTOS_DIR];
  const resolved = new Map<string, string>();

  const root = new protobuf.Root();
  // protobufjs parses a file right after resolving it and before resolving its imports, so the last path
  // resolved is the file a syntax error comes from.
  let lastResolved = '';
  root.resolvePath = (origin: string, target: string): string => {
    lastResolved = resolvePath(origin, target);
    return lastResolved;
  };
  const resolvePath = (origin: string, target: string): string => {
    if (path.isAbsolute(target)) return target;
    const known = resolved.get(target);
    if (known !== undefined) return known;
    for (const dir of searchDirs) {
      const candidate = path.join(dir, target);
      if (fs.existsSync(candidate)) {
        resolved.set(target, candidate);
        return candidate;
      }
    }
    const from = origin === '' ? target : origin;
    throw new RegistryError(
      from,
      origin === '' ? undefined : lineOf(origin, `"${target}"`),
      `import "${target}" not found under the --protos roots (${roots.join(', ')}) or the bundled Google protos`,
    );
  };

  const userFiles = [...new Set(absRoots.flatMap((r) => listProtos(r)))].sort();
  const problems: RegistryError[] = [];
  const load = (name: string): void => {
    try {
      // alternateCommentMode keeps `//` comments too (most protos use them), which the OpenAPI document
      // shows as descriptions. Serving does not need them (~25% of the parse time of a Google API set, and
      // the strings), so only the document's own load asks for them (openapi/serve.ts).
      root.loadSync(name, { keepCase: true, alternateCommentMode: options.comments === true });
    } catch (err) {
      if (err instanceof RegistryError) problems.push(err);
      else problems.push(fromProtobufError(err as Error, lastResolved || name));
    }
  };
  // protobufjs reads an option's value as a number first and builds an Error (`illegal`) when it is not one:
  // once per enum-valued option (`(google.api.field_behavior) = REQUIRED`), 3,425 times on the 25-package
  // set of bench/realworld. Capturing each one's stack trace took ~30 ms of its start-up (Node 24), against
  // ~1 ms without; the errors attache reports from here carry file and line in their message, never a stack.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  // protobufjs reads a file with `util.fs.readFileSync(name).toString("utf8")` (src/root.js), its one read;
  // without comments the text it parses has none beyond Latin-1 (registry/proto-text.ts). node:fs is the
  // prototype, not spread: spreading it reads its lazy getters, and `fs.promises` loads Node's promise API
  // with node:readline behind it, which nothing here uses.
  const protobufFs = protobuf.util.fs;
  if (options.comments !== true) protobuf.util.fs = Object.create(protobufFs as object, { readFileSync: { value: readProtoText } }) as typeof protobufFs;
  try {
    for (const f of ALWAYS_LOADED) load(f);
    // Keep going after a broken file: users fix all of them in one round.
    for (const f of userFiles) load(f);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
    protobuf.util.fs = protobufFs;
  }
  if (problems.length > 0) throw new ProtoLoadError(problems);
  try {
    root.resolveAll();
  } catch (err) {
    const msg = (err as Error).message;
    // "no such type: x.Y in Type .a.B" — name the file that declared the referring type.
    const m = /in \w+ \.?([\w.]+)$/.exec(msg);
    let file = 'protos';
    if (m) {
      const owner = root.lookup(m[1]!);
      if (owner?.filename) file = owner.filename;
    }
    throw new ProtoLoadError([new RegistryError(file, undefined, msg)]);
  }
  return Object.freeze({ root, userFiles: Object.freeze(userFiles), resolved });
}

/**
 * A lookup of the 1-based line declaring `rpc <name>(` in a proto file (protobufjs keeps no line numbers), or
 * 0 when the file cannot be read or has no such line; for `--check`'s sources of annotations. Each file is
 * read and indexed once per lookup object (one per route build): searching a large file per method
 * (google/cloud/compute/v1, 4 MB and some 800 methods) took over a minute.
 */
export function rpcLineIndex(): (absPath: string, rpcName: string) => number {
  const byFile = new Map<string, ReadonlyMap<string, number>>();
  const index = (file: string): ReadonlyMap<string, number> => {
    const lines = new Map<string, number>();
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return lines;
    }
    let line = 1;
    let counted = 0;
    for (const m of text.matchAll(/\brpc\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)) {
      for (let i = text.indexOf('\n', counted); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) line++;
      counted = m.index;
      if (!lines.has(m[1]!)) lines.set(m[1]!, line);
    }
    return lines;
  };
  return (file, name) => {
    let lines = byFile.get(file);
    if (lines === undefined) {
      lines = index(file);
      byFile.set(file, lines);
    }
    return lines.get(name) ?? 0;
  };
}
