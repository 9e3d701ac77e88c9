/**
 * The message and enum types a snapshot serves, kept as compact JSON text and turned into protobufjs
 * reflection objects only when a request first needs them.
 *
 * Why: a protobufjs Root of a real API set is large. The 25 Google Cloud API packages of bench/realworld
 * (211 files, ~1,200 HTTP rules) hold ~22 MiB of reflection objects once loaded, against ~2 MiB of
 * descriptor JSON, and a sidecar usually calls a handful of their methods. So the full Root lives only while
 * the snapshot is built (routes are validated against it), and what serving keeps is, per top-level type,
 * its protobufjs JSON descriptor (`toJSON()`, without comments) and the top-level types it refers to.
 * `type(name)` materializes a type with everything it refers to into one lazily grown Root of this store;
 * each type is materialized at most once, so objects are shared between routes as before.
 *
 * The JSON form is protobufjs's own serialization (`Type.toJSON` / `Namespace.addJSON`), which carries
 * edition/syntax, options, oneofs, maps, groups and reserved ranges; registry tests check that every type of
 * the real-world set and of the test fixtures materializes to the same `toJSON()` as the original.
 */
import protobuf from 'protobufjs';

/** Resolves full type names (no leading dot) to materialized protobufjs objects. */
export interface TypeSource {
  /** The message type `fullName`, materialized on first use; undefined when no such message is loaded. */
  messageType(fullName: string): protobuf.Type | undefined;
}

/** One top-level declaration (a message or enum directly in a package), as stored. */
interface Entry {
  /** The package it is declared in ('' for none). */
  readonly pkg: string;
  readonly name: string;
  /** `JSON.stringify(obj.toJSON())`: its nested declarations are part of it. */
  readonly json: string;
  /** The top-level declarations its fields (nested ones' too) refer to. */
  readonly deps: readonly string[];
}

/** What `entries` keeps of a declaration once it is materialized: its name only (the key). */
const MATERIALIZED: Entry = Object.freeze({ pkg: '', name: '', json: '', deps: [] });

/** A store of a resolved Root's types (see the file comment). Immutable except for its materialization cache. */
export interface SchemaStore extends TypeSource {
  /** Enum or message `fullName` (no leading dot), materialized on first use. */
  lookup(fullName: string): protobuf.Type | protobuf.Enum | undefined;
  /** How many top-level declarations it holds, and how many are materialized (for tests and benchmarks). */
  stats(): { readonly declarations: number; readonly materialized: number; readonly jsonBytes: number };
}

const noDot = (name: string): string => (name.startsWith('.') ? name.slice(1) : name);

/** The declaration directly inside a package (not nested in a message) that `obj` is or is nested in. */
function topLevelOf(obj: protobuf.ReflectionObject): protobuf.ReflectionObject {
  let o = obj;
  while (o.parent !== null && (o.parent instanceof protobuf.Type || o.parent instanceof protobuf.Enum)) o = o.parent;
  return o;
}

/** Every type reference of `type` and its nested messages (field types, map value types), as top-level names. */
function depsOf(type: protobuf.Type, self: string, out: Set<string>): void {
  for (const f of type.fieldsArray) {
    const target = f.resolvedType;
    if (target === null) continue;
    const top = noDot(topLevelOf(target).fullName);
    if (top !== self) out.add(top);
  }
  for (const nested of type.nestedArray) if (nested instanceof protobuf.Type) depsOf(nested, self, out);
}

/**
 * Copies a string into its own storage. protobufjs's tokenizer returns names as substrings of the proto
 * source, and V8 keeps such a substring as a slice of the whole file: one surviving name keeps the file's
 * text alive (~3.5 MB for the real-world set). JSON.stringify writes fresh strings, so the store's JSON never
 * retains a source; this is for the few names kept outside it.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (` ${s}`).slice(1);
}

/** Builds the store from a resolved Root (every declaration in it, the bundled Google types included). */
export function createSchemaStore(root: protobuf.Root): SchemaStore {
  const entries = new Map<string, Entry>();
  let jsonBytes = 0;
  const visit = (ns: protobuf.NamespaceBase, pkg: string): void => {
    for (const child of ns.nestedArray) {
      if (child instanceof protobuf.Type || child instanceof protobuf.Enum) {
        const full = pkg === '' ? child.name : `${pkg}.${child.name}`;
        const deps = new Set<string>();
        if (child instanceof protobuf.Type) depsOf(child, full, deps);
        const json = JSON.stringify(child.toJSON());
        jsonBytes += json.length;
        entries.set(full, { pkg, name: ownString(child.name), json, deps: [...deps] });
      } else if (child instanceof protobuf.Namespace && !(child instanceof protobuf.Service)) {
        visit(child, pkg === '' ? child.name : `${pkg}.${child.name}`);
      }
    }
  };
  visit(root, '');

  const lazy = new protobuf.Root();
  const materialized = new Set<string>();
  const features = new Map<string, object>();
  /** Adds `top` and everything it refers to (transitively) to `lazy`; returns whether `top` is known. */
  const materialize = (top: string): boolean => {
    if (materialized.has(top)) return true;
    if (!entries.has(top)) return false;
    const pending = [top];
    const added: string[] = [];
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (materialized.has(name)) continue;
      const e = entries.get(name);
      if (e === undefined) continue;
      materialized.add(name);
      added.push(name);
      const ns = e.pkg === '' ? lazy : lazy.define(e.pkg);
      const json = JSON.parse(e.json) as Record<string, unknown>;
      ns.addJSON({ [e.name]: json as protobuf.INamespace });
      restoreValuesOptions(ns.get(e.name), json);
      pending.push(...e.deps);
      // Its text is not read again: a materialized name is found in `materialized` first.
      entries.set(name, MATERIALIZED);
    }
    // Resolve the new declarations only (their references are all present now); resolveAll on the Root
    // would walk every type materialized so far.
    for (const name of added) {
      const obj = lazy.lookup(name);
      if (obj instanceof protobuf.Type) {
        resolveWithoutConstructors(obj);
        withLeanCodec(obj);
      }
      if (obj !== null) shareFeatures(obj, features);
    }
    return true;
  };

  const lookup = (fullName: string): protobuf.Type | protobuf.Enum | undefined => {
    const name = noDot(fullName);
    // The declaration to materialize is the longest known prefix: `a.b.Outer` for `a.b.Outer.Inner`.
    let top = name;
    while (!entries.has(top)) {
      const dot = top.lastIndexOf('.');
      if (dot < 0) return undefined;
      top = top.slice(0, dot);
    }
    if (!materialize(top)) return undefined;
    const found = lazy.lookup(name);
    if (found === null || noDot(found.fullName) !== name) return undefined;
    return found instanceof protobuf.Type || found instanceof protobuf.Enum ? found : undefined;
  };

  return Object.freeze({
    lookup,
    messageType: (fullName: string) => {
      const t = lookup(fullName);
      return t instanceof protobuf.Type ? t : undefined;
    },
    stats: () => ({ declarations: entries.size, materialized: materialized.size, jsonBytes }),
  });
}

/** protobufjs's private editions state on every reflection object: its resolved features. */
interface WithFeatures {
  _features?: Record<string, unknown>;
  _featuresResolved?: boolean;
}

/**
 * Makes `obj`, its fields, oneofs and nested declarations use one `_features` object per distinct content,
 * from `shared`. protobufjs gives each reflection object its own (editions feature resolution copies the
 * parent's and merges its own options in: ~6 keys), though a proto set has only a few distinct sets: two on
 * the 25-package set of bench/realworld, against ~10,000 objects, ~1 MB of its ~9.6 MB of materialized
 * types. Shared only once resolved: protobufjs reads them from then on (Field#hasPresence, #packed,
 * #delimited) and copies them before merging, so a shared object is never written.
 */
function shareFeatures(obj: protobuf.ReflectionObject, shared: Map<string, object>): void {
  const own = obj as unknown as WithFeatures;
  const f = own._features;
  if (own._featuresResolved === true && f !== undefined) {
    // Equal keys mean equal content; an unequal spelling of equal content (key order inside a nested
    // value) only shares less.
    const key = JSON.stringify(Object.keys(f).sort().map((k) => [k, f[k]]));
    const canonical = shared.get(key);
    if (canonical === undefined) shared.set(key, f);
    else own._features = canonical as Record<string, unknown>;
  }
  if (obj instanceof protobuf.Type) {
    for (const field of obj.fieldsArray) shareFeatures(field, shared);
    for (const oneof of obj.oneofsArray) shareFeatures(oneof, shared);
  }
  if (obj instanceof protobuf.Namespace) for (const nested of obj.nestedArray) shareFeatures(nested, shared);
}

/**
 * protobufjs's `Enum.fromJSON` drops `valuesOptions` (per-value options such as `deprecated`, which the
 * OpenAPI document shows), though `toJSON` writes them; put them back, nested enums included.
 */
function restoreValuesOptions(obj: protobuf.ReflectionObject | null, json: Record<string, unknown>): void {
  if (obj instanceof protobuf.Enum) {
    const vo = json['valuesOptions'];
    if (vo !== undefined) obj.valuesOptions = vo as Record<string, Record<string, unknown>>;
    return;
  }
  const nested = json['nested'] as Record<string, Record<string, unknown>> | undefined;
  if (!(obj instanceof protobuf.Namespace) || nested === undefined) return;
  for (const [name, child] of Object.entries(nested)) restoreValuesOptions(obj.get(name), child);
}

/** protobufjs's private cache behind `Type#ctor`. */
interface WithConstructor {
  _ctor: unknown;
}

/**
 * Where Field#resolve writes a field's default while the types resolve (see resolveWithoutConstructors): a
 * "constructor" whose prototype keeps nothing, shared by every type being resolved.
 */
const DISCARDING_CONSTRUCTOR = Object.freeze({ prototype: new Proxy({}, { set: () => true }) });

/**
 * protobufjs generates a message constructor for every type as it resolves: Field#resolve writes the field's
 * default onto `type.ctor.prototype`, and the first read of `Type#ctor` generates the constructor with
 * `new Function`, with a prototype that holds a property per field. attache's codec never builds messages
 * with it; only protobufjs's generated decoder does (`new this.ctor`), for the few types decoded into objects
 * rather than straight into JSON (src/codec/binary.ts, wire-json.ts). So `type` and its nested types resolve
 * with the discarding constructor, and `decodeSetup` builds the constructor of a type when it is first
 * decoded, with the defaults Field#resolve would have written: the same constructor and prototype
 * as protobufjs's own, for the decoded types only. (After one request on each of the 1,218 routes of
 * bench/realworld's 25-package set, the constructors and their prototypes were ~1.5 MiB of the live heap.)
 */
function resolveWithoutConstructors(type: protobuf.Type): void {
  const setAll = (t: protobuf.Type, ctor: unknown): void => {
    (t as unknown as WithConstructor)._ctor = ctor;
    for (const nested of t.nestedArray) if (nested instanceof protobuf.Type) setAll(nested, ctor);
  };
  setAll(type, DISCARDING_CONSTRUCTOR);
  type.resolveAll(); // the type and its nested types, as Root#resolveAll would for them
  setAll(type, null);
}

/** Builds `type`'s constructor as Field#resolve would have left it (see resolveWithoutConstructors). */
function constructorWithDefaults(type: protobuf.Type): void {
  if ((type as unknown as WithConstructor)._ctor !== null) return;
  const prototype = type.ctor.prototype as Record<string, unknown>; // Type#ctor generates it and sets it up
  for (const f of type.fieldsArray) prototype[f.name] = f.defaultValue;
}

/**
 * protobufjs generates five functions per type on its first encode or decode (`Type#setup`: encode, decode,
 * verify, fromObject, toObject), and V8 keeps each one's source text. attache's codec calls only encode and
 * decode (src/codec/binary.ts), so materialized types generate just those two, each on its first call: the
 * generated code of the 1,200 routes of bench/realworld went from 13.6 to 8.3 MiB. The other three stay protobufjs's own
 * set-up-on-first-call methods, which generate everything as before if anything calls them.
 */
function withLeanCodec(type: protobuf.Type): void {
  const t = type as unknown as { encode: unknown; decode: unknown };
  t.encode = encodeSetup;
  t.decode = decodeSetup;
  for (const nested of type.nestedArray) if (nested instanceof protobuf.Type) withLeanCodec(nested);
}

/** The fields' resolved types, lined up with fieldsArray, which the generated code indexes (as Type#setup does). */
function fieldTypes(type: protobuf.Type): (protobuf.Type | protobuf.Enum | null)[] {
  return type.fieldsArray.map((f) => f.resolve().resolvedType);
}

// Each generated on its own first call: request types are mostly only encoded, response types only decoded
// (when the one-pass JSON writer cannot be used), so half of them never need the other.
function encodeSetup(this: protobuf.Type, ...args: unknown[]): unknown {
  this.encode = protobuf.encoder(this)({ Writer: protobuf.Writer, types: fieldTypes(this), util: protobuf.util }) as typeof this.encode;
  return (this.encode as (...a: unknown[]) => unknown).apply(this, args);
}

function decodeSetup(this: protobuf.Type, ...args: unknown[]): unknown {
  constructorWithDefaults(this); // the decoder builds messages with it (`new this.ctor`)
  this.decode = protobuf.decoder(this)({ Reader: protobuf.Reader, types: fieldTypes(this), util: protobuf.util }) as typeof this.decode;
  return (this.decode as (...a: unknown[]) => unknown).apply(this, args);
}
