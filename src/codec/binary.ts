/**
 * Msg ⇄ protobuf binary, through protobufjs's generated `Type.encode` / `Type.decode`, with protobuf's merge
 * rules applied to the input first (merge.ts), and fixes for the two places where protobufjs's plain-object
 * form of map keys does not round-trip:
 *
 * - int64-family keys: `decode` stores them as 8-character "long hashes" (util.longToHash), which
 *   `encode` cannot read back and which are useless as JSON. `decode` here rewrites them to decimal strings,
 *   the form `encode` accepts (writer.int64 parses strings with Long.fromString).
 * - bool keys: object keys are strings, and `encode` writes `writer.bool("false")`, i.e. `true`.
 *   `encode` here uses a writer whose `bool` reads the string "false" as false.
 *
 * Strings are read strictly: protobufjs's BufferReader cuts a string whose length runs past the end of its
 * message short and carries on, so a truncated or corrupt message decodes to plausible data (an upstream's
 * bug answered as a 200). protoc's parsers and grpc-go reject it, and so does {@link StrictBufferReader}.
 *
 * The decode fix is compiled per type from reachability, so types without such maps pay nothing. The same
 * writer also speeds up int64 values held as decimal strings (the readers' form): protobufjs parses each
 * with Long.fromString, which dominated encoding time; strings under 16 characters are exact as doubles
 * and take the cheap LongBits.fromNumber path instead.
 */
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import type Long from 'long';
import { mapKeyTypeOf } from './descriptors.js';
import { CodecError } from './errors.js';
import { createMergeNormalizer } from './merge.js';
import { implicitDefaultTest } from './presence.js';

/**
 * @private protobufjs's BufferReader with a bounds check on strings (see the module comment); everything
 * else, and the fast native slice, are BufferReader's own. Nested messages are decoded with the same reader.
 */
export class StrictBufferReader extends protobuf.BufferReader {
  override string(): string {
    const length = this.uint32();
    const start = this.pos;
    const end = start + length;
    if (end > this.len) throw new RangeError(`index out of range: ${start} + ${length} > ${this.len}`);
    this.pos = end;
    return (this.buf as Buffer).toString('utf8', start, end);
  }
}

/** The same bytes as a Buffer, without copying a Uint8Array (protobufjs may also hand over a plain array). */
const asBuffer = (b: Uint8Array | readonly number[]): Buffer =>
  Buffer.isBuffer(b) ? b : b instanceof Uint8Array ? Buffer.from(b.buffer, b.byteOffset, b.byteLength) : Buffer.from(b);

/** protobufjs plain-object form of a message (see index.ts for the full contract). */
export type Msg = Record<string, unknown>;

/** @private Binary encode/decode with the map-key fixes; one per codec instance. */
export interface BinaryCodec {
  /** Binary → Msg. Throws CodecError('', 'malformed protobuf …') on bad bytes. */
  decode(type: Type, bytes: Uint8Array): Msg;
  /** Msg → binary. Throws CodecError('', 'cannot encode …') when protobufjs rejects a value. */
  encode(type: Type, msg: Msg): Uint8Array;
}

const LONG_KEYS: ReadonlySet<string> = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** Scalar types whose default test is `v === 0 || v == null` (presence.ts): the 32-bit integers. */
const ZERO_DEFAULT: ReadonlySet<string> = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

type Fixer = (msg: Msg) => void;

/** Every message type reachable from `type` through its fields, `type` included. */
function reachableTypes(type: Type): Type[] {
  const seen = new Set<Type>([type]);
  const queue = [type];
  for (let i = 0; i < queue.length; i++) {
    for (const f of queue[i]!.fieldsArray) {
      const t = f.resolvedType;
      if (t instanceof protobuf.Type && !seen.has(t)) {
        seen.add(t);
        queue.push(t);
      }
    }
  }
  return queue;
}

function reachesMapKey(type: Type, matches: (keyType: string) => boolean): boolean {
  return reachableTypes(type).some((t) =>
    t.fieldsArray.some((f) => f.map && matches(mapKeyTypeOf(f))),
  );
}

/** @private Builds the binary codec. Per-type analysis is cached in Maps owned by the instance. */
export function createBinaryCodec(): BinaryCodec {
  const merges = createMergeNormalizer();
  const fixers = new Map<Type, Fixer | null>();

  const fixerFor = (type: Type): Fixer | null => {
    let fixer = fixers.get(type);
    if (fixer !== undefined) return fixer;
    fixer = reachesMapKey(type, (k) => LONG_KEYS.has(k)) ? compileFixer(type) : null;
    fixers.set(type, fixer);
    return fixer;
  };

  const compileFixer = (type: Type): Fixer => {
    const steps: Fixer[] = [];
    for (const field of type.fieldsArray) {
      const name = field.name;
      const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
      if (field.map) {
        const keyType = mapKeyTypeOf(field);
        const longKey = LONG_KEYS.has(keyType);
        const unsigned = keyType === 'uint64' || keyType === 'fixed64';
        if (!longKey && (sub === null || fixerFor(sub) === null)) continue;
        steps.push((msg) => {
          const map = msg[name] as Record<string, unknown> | null | undefined;
          if (map === null || map === undefined) return;
          const fixValue = sub === null ? null : fixerFor(sub);
          const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
          for (const k of Object.keys(map)) {
            const v = map[k];
            if (fixValue !== null && v !== null && typeof v === 'object') fixValue(v as Msg);
            // A hash is always 8 characters (util.longToHash); an entry that carried no key was stored
            // under protobufjs's default, the number 0, i.e. the key "0" — already the decimal form.
            out[longKey && k.length === 8 ? protobuf.util.longFromHash(k, unsigned).toString() : k] = v;
          }
          msg[name] = out;
        });
      } else if (sub !== null && fixerFor(sub) !== null) {
        steps.push((msg) => {
          const v = msg[name];
          if (v === null || v === undefined) return;
          const fix = fixerFor(sub)!;
          if (Array.isArray(v)) for (const e of v) fix(e as Msg);
          else fix(v as Msg);
        });
      }
    }
    return (msg) => {
      for (const step of steps) step(msg);
    };
  };

  // proto3: implicit-presence fields holding their default are not serialized (protobuf.dev "Field
  // Presence"); readers, path variables and query parameters may have stored them, so encode drops them,
  // as protobuf-go and Envoy do. Compiled per type; types with nothing to drop cost nothing.
  const pruners = new Map<Type, Fixer | null>();
  const prunerFor = (type: Type): Fixer | null => {
    let pruner = pruners.get(type);
    if (pruner !== undefined) return pruner;
    pruners.set(type, null); // recursion guard while compiling; replaced below
    pruner = compilePruner(type);
    pruners.set(type, pruner);
    return pruner;
  };
  const compilePruner = (type: Type): Fixer | null => {
    // Field names grouped by how their default is recognised, so a request runs a few tight loops of
    // comparisons instead of one closure call per field. `undefined` is never a default to clear.
    const strings: string[] = []; // '' or null
    const zeros: string[] = []; // 0 or null: 32-bit integers and enums (no -0 from the readers' ints)
    const bools: string[] = []; // false or null
    const others: { name: string; isDefault: (v: unknown) => boolean }[] = []; // 64-bit, floats, bytes
    const subs: { name: string; sub: Type; map: boolean }[] = [];
    for (const field of type.fieldsArray) {
      const name = field.name;
      const isDefault = implicitDefaultTest(field);
      if (isDefault !== undefined) {
        if (field.resolvedType instanceof protobuf.Enum || ZERO_DEFAULT.has(field.type)) zeros.push(name);
        else if (field.type === 'string') strings.push(name);
        else if (field.type === 'bool') bools.push(name);
        else others.push({ name, isDefault });
        continue;
      }
      if (field.resolvedType instanceof protobuf.Type) subs.push({ name, sub: field.resolvedType, map: field.map });
    }
    if (strings.length + zeros.length + bools.length + others.length + subs.length === 0) return null;
    return prunerOf(strings.slice(), zeros.slice(), bools.slice(), others.slice(), subs.slice());
  };
  /** The pruner over the field groups, copied to their length: a pushed array keeps spare capacity, per type. */
  const prunerOf = (
    strings: readonly string[],
    zeros: readonly string[],
    bools: readonly string[],
    others: readonly { name: string; isDefault: (v: unknown) => boolean }[],
    subs: readonly { name: string; sub: Type; map: boolean }[],
  ): Fixer => {
    return (msg) => {
      for (let i = 0; i < strings.length; i++) {
        const v = msg[strings[i]!];
        if (v === '' || v === null) msg[strings[i]!] = undefined;
      }
      for (let i = 0; i < zeros.length; i++) {
        const v = msg[zeros[i]!];
        if (v === 0 || v === null) msg[zeros[i]!] = undefined;
      }
      for (let i = 0; i < bools.length; i++) {
        const v = msg[bools[i]!];
        if (v === false || v === null) msg[bools[i]!] = undefined;
      }
      for (let i = 0; i < others.length; i++) {
        const o = others[i]!;
        const v = msg[o.name];
        if (v !== undefined && o.isDefault(v)) msg[o.name] = undefined;
      }
      for (let i = 0; i < subs.length; i++) {
        const s = subs[i]!;
        const v = msg[s.name];
        if (v === null || v === undefined || typeof v !== 'object') continue;
        const prune = prunerFor(s.sub);
        if (prune === null) continue;
        if (s.map) {
          for (const k in v as Record<string, unknown>) {
            const e = (v as Record<string, unknown>)[k];
            if (e !== null && typeof e === 'object') prune(e as Msg);
          }
        } else if (Array.isArray(v)) {
          for (const e of v) if (e !== null && typeof e === 'object') prune(e as Msg);
        } else {
          prune(v as Msg);
        }
      }
    };
  };

  return {
    decode(type, bytes) {
      let msg: Msg;
      try {
        // protobufjs replaces a repeated message field and keeps every oneof member; merge.ts rewrites
        // such input (rare) so that the decoder follows protobuf's merge rules.
        msg = type.decode(new StrictBufferReader(asBuffer(merges.normalize(type, bytes)))) as unknown as Msg;
      } catch (err) {
        throw new CodecError('', `malformed protobuf for ${type.fullName.slice(1)}: ${(err as Error).message}`);
      }
      const fix = fixerFor(type);
      if (fix !== null) fix(msg);
      return msg;
    },
    encode(type, msg) {
      const prune = prunerFor(type);
      if (prune !== null) prune(msg);
      try {
        return type.encode(msg, new MsgWriter()).finish();
      } catch (err) {
        throw new CodecError('', `cannot encode ${type.fullName.slice(1)}: ${(err as Error).message}`);
      }
    },
  };
}

type LongLike = Long | number | string;

/** A 64-bit value in a form LongBits converts cheaply: short decimal strings become numbers. */
function cheapLong(value: LongLike): LongLike {
  return typeof value === 'string' && value.length < 16 ? Number(value) : value;
}

/** protobufjs's Node writer, with the map-key and int64 adjustments described in the header comment. */
class MsgWriter extends protobuf.BufferWriter {
  /**
   * The encoded message's storage (protobufjs's `finish` asks the writer's class): its own, of exactly its
   * size, not a slice of Node's shared 8 KiB Buffer pool (BufferWriter's `Buffer.allocUnsafe`). The bytes of
   * a request live as long as its upstream call (retries send them again), and under load a call outlives
   * young-generation collections: promoted to the old generation, a pool slice keeps its whole chunk until
   * the next full collection, as the request header block did (h2/session.ts ClientStream.block,
   * bench/RESULTS.md §19). `Buffer.alloc` is a plain Uint8Array: on V8's heap up to 64 bytes (most GET
   * requests), else a backing store of its own size.
   */
  static override alloc(size: number): Buffer {
    return Buffer.alloc(size);
  }

  override bool(value: boolean): protobuf.Writer {
    return super.bool((value as unknown) === 'false' ? false : value);
  }
  override int64(value: LongLike): protobuf.Writer {
    return super.int64(cheapLong(value));
  }
  override uint64(value: LongLike): protobuf.Writer {
    return super.uint64(cheapLong(value));
  }
  override sint64(value: LongLike): protobuf.Writer {
    return super.sint64(cheapLong(value));
  }
  override fixed64(value: LongLike): protobuf.Writer {
    return super.fixed64(cheapLong(value));
  }
  override sfixed64(value: LongLike): protobuf.Writer {
    return super.sfixed64(cheapLong(value));
  }
}
