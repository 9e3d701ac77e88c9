/**
 * Protobuf's merge rules for binary input, which protobufjs 7's generated decoders do not follow:
 *
 * - a singular message field that occurs more than once is **merged** (protobuf.dev/programming-guides/
 *   encoding/#last-one-wins: "for embedded message fields, the parser merges multiple instances of the same
 *   field, as if with the Merge method"); protobufjs keeps only the last occurrence;
 * - setting a member of a oneof clears the others, so the **last member on the wire wins**
 *   (protobuf.dev/programming-guides/proto3/#oneof-features); protobufjs keeps every member it saw.
 *
 * Both cases are legal and come from real producers: concatenating two encodings is protobuf's documented
 * way to merge messages, and a proxy may append fields to a message it forwards. They are rare, so instead of
 * a decoder of our own this module rewrites the bytes into a form protobufjs decodes correctly: every
 * occurrence of a singular message field becomes one occurrence whose payload is the concatenation of all
 * of them (concatenating encodings *is* merging them, recursively), and superseded oneof members are
 * dropped. The common case is one scan of the bytes and the same buffer back.
 *
 * Malformed input is never rewritten: the scan gives up and the caller's decoder reports the error exactly
 * as it would have. Proto2 groups are carried through as they are (not merged).
 */
import protobuf from 'protobufjs';
import type { Type } from 'protobufjs';
import { EGROUP, I32, I64, LEN, SGROUP, VARINT, tagOf } from './wire-types.js';

/** protobufjs's recursion limit (util.recursionLimit): deeper input is its decoder's error to report. */
const MAX_DEPTH = 100;

/** How the merge rules apply to one field of a message type. */
interface FieldRule {
  /** A singular (non-repeated, non-map) message field: occurrences merge. */
  readonly singularMessage: boolean;
  /** The oneof the field belongs to (its index among the type's oneofs of two or more members), or -1. */
  readonly oneof: number;
  /** The rules of the field's message payload (message fields, map entries with message values), if any can apply. */
  readonly payload: () => Rules | null;
}

/** The rules for one message type, by field number; null where no rule can ever apply to the type. */
interface Rules {
  readonly fields: ReadonlyMap<number, FieldRule>;
}

/** The merge-rule rewriter for the message types of one codec instance. */
export interface MergeNormalizer {
  /**
   * `bytes` rewritten so that protobufjs's decoder of `type` follows protobuf's merge rules; `bytes`
   * itself when nothing needs rewriting or the input is malformed. Never throws.
   */
  normalize(type: Type, bytes: Uint8Array): Uint8Array;
}

/** Builds a normalizer; per-type rules are compiled at first use and cached by the instance. */
export function createMergeNormalizer(): MergeNormalizer {
  const rulesByType = new Map<Type, Rules | null>();
  const mapEntryRules = new Map<Type, Rules>();

  const rulesFor = (type: Type): Rules | null => {
    if (rulesByType.has(type)) return rulesByType.get(type)!;
    const rules = mayNeedRules(type) ? compile(type) : null;
    rulesByType.set(type, rules);
    return rules;
  };

  /** A map entry is a message {1: key, 2: value}; its value, when a message, merges like a singular field. */
  const entryRulesFor = (valueType: Type): Rules => {
    let rules = mapEntryRules.get(valueType);
    if (rules === undefined) {
      rules = { fields: new Map([[2, { singularMessage: true, oneof: -1, payload: () => rulesFor(valueType) }]]) };
      mapEntryRules.set(valueType, rules);
    }
    return rules;
  };

  const compile = (type: Type): Rules => {
    const fields = new Map<number, FieldRule>();
    const oneofs = type.oneofsArray.filter((o) => o.fieldsArray.length > 1); // one member: nothing to clear
    for (const field of type.fieldsArray) {
      const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
      const oneof = field.partOf === null ? -1 : oneofs.indexOf(field.partOf);
      if (field.map) {
        if (sub !== null && mayNeedRules(sub)) fields.set(field.id, { singularMessage: false, oneof: -1, payload: () => entryRulesFor(sub) });
        continue;
      }
      const singularMessage = sub !== null && !field.repeated && !isGroup(field);
      const payload = sub !== null && !isGroup(field) ? (): Rules | null => rulesFor(sub) : (): null => null;
      if (singularMessage || oneof >= 0 || (sub !== null && mayNeedRules(sub))) fields.set(field.id, { singularMessage, oneof, payload });
    }
    return { fields };
  };

  return {
    normalize(type, bytes) {
      const rules = rulesFor(type);
      if (rules === null) return bytes;
      try {
        return needsRewrite(rules, bytes, 0, bytes.length, 0) ? Buffer.from(rewrite(rules, bytes, 0, bytes.length, 0)) : bytes;
      } catch (err) {
        if (err instanceof Malformed) return bytes;
        throw err;
      }
    },
  };
}

/** Whether any type reachable from `type` has a singular message field or a oneof of two or more members. */
function mayNeedRules(type: Type): boolean {
  const seen = new Set<Type>([type]);
  const queue = [type];
  for (let i = 0; i < queue.length; i++) {
    const t = queue[i]!;
    if (t.oneofsArray.some((o) => o.fieldsArray.length > 1)) return true;
    for (const f of t.fieldsArray) {
      const sub = f.resolvedType;
      if (!(sub instanceof protobuf.Type) || isGroup(f)) continue;
      if (!f.repeated && !f.map) return true;
      if (!seen.has(sub)) {
        seen.add(sub);
        queue.push(sub);
      }
    }
  }
  return false;
}

function isGroup(field: protobuf.Field): boolean {
  return (field as protobuf.Field & { delimited?: boolean }).delimited === true || field.type === 'group';
}

/** Thrown when the bytes do not parse; the decoder is left to report it. */
class Malformed extends Error {}

/** A field on the wire: [start, end) is the whole field (tag included), [payloadStart, end) the LEN payload. */
interface WireField {
  id: number;
  wire: number;
  start: number;
  payloadStart: number;
  end: number;
}

const newField = (): WireField => ({ id: 0, wire: 0, start: 0, payloadStart: 0, end: 0 });

/** A varint's value, read from `buf` at `at.pos` (advanced past it); unsigned 32-bit, as tags and lengths are. */
function varint32(buf: Uint8Array, at: WireField, end: number): number {
  let v = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (at.end >= end) throw new Malformed();
    const b = buf[at.end++]!;
    v += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return v > 0xffffffff ? v % 2 ** 32 : v;
  }
  throw new Malformed();
}

/** Reads the field starting at `pos` into `f` (reused between calls); `f.end` is where the next one starts. */
function readField(buf: Uint8Array, pos: number, end: number, f: WireField, depth: number): void {
  f.start = f.end = pos;
  const tag = varint32(buf, f, end);
  f.id = tag >>> 3;
  f.wire = tag & 7;
  if (f.id === 0) throw new Malformed();
  switch (f.wire) {
    case VARINT:
      do {
        if (f.end >= end) throw new Malformed();
      } while ((buf[f.end++]! & 0x80) !== 0);
      return;
    case I64:
      f.end += 8;
      break;
    case I32:
      f.end += 4;
      break;
    case LEN: {
      const len = varint32(buf, f, end);
      f.payloadStart = f.end;
      f.end += len;
      break;
    }
    case SGROUP:
      f.end = skipGroup(buf, f.end, end, f.id, depth + 1);
      break;
    default:
      throw new Malformed();
  }
  if (f.end > end) throw new Malformed();
}

/** The position after the group `id` that starts at `pos`. */
function skipGroup(buf: Uint8Array, pos: number, end: number, id: number, depth: number): number {
  if (depth > MAX_DEPTH) throw new Malformed();
  const f = newField();
  while (pos < end) {
    f.end = pos;
    const tag = varint32(buf, f, end);
    if ((tag & 7) === EGROUP) {
      if (tag >>> 3 !== id) throw new Malformed();
      return f.end;
    }
    readField(buf, pos, end, f, depth);
    pos = f.end;
  }
  throw new Malformed();
}

/** Whether the message in [pos, end) has a repeated singular message field or two oneof members, at any depth. */
function needsRewrite(rules: Rules, buf: Uint8Array, pos: number, end: number, depth: number): boolean {
  if (depth > MAX_DEPTH) throw new Malformed();
  const f = newField();
  let seenMessages: Set<number> | undefined;
  let oneofMember: Map<number, number> | undefined;
  let found = false;
  while (pos < end) {
    readField(buf, pos, end, f, depth);
    pos = f.end;
    const rule = rules.fields.get(f.id);
    if (rule === undefined) continue;
    if (rule.oneof >= 0) {
      oneofMember ??= new Map();
      const member = oneofMember.get(rule.oneof);
      if (member !== undefined && member !== f.id) found = true;
      oneofMember.set(rule.oneof, f.id);
    }
    if (f.wire !== LEN) continue;
    if (rule.singularMessage) {
      seenMessages ??= new Set();
      if (seenMessages.has(f.id)) found = true;
      seenMessages.add(f.id);
    }
    const sub = rule.payload();
    // Keep scanning after a find: malformed bytes further on must still leave the input alone.
    if (sub !== null && needsRewrite(sub, buf, f.payloadStart, f.end, depth + 1)) found = true;
  }
  return found;
}

/** A field of the rewritten message: the original bytes, or a message payload built from merged parts. */
interface OutField {
  readonly id: number;
  readonly raw: Uint8Array | undefined;
  readonly parts: Uint8Array[] | undefined;
  readonly sub: Rules | null;
}

/** The message in [pos, end) with the merge rules applied, at every depth. Input is known well-formed. */
function rewrite(rules: Rules, buf: Uint8Array, pos: number, end: number, depth: number): Uint8Array {
  const f = newField();
  const out: Array<OutField | null> = [];
  const liveMessage = new Map<number, number>(); // singular message field id → its index in out
  const oneofFields = new Map<number, { member: number; indices: number[] }>();
  while (pos < end) {
    readField(buf, pos, end, f, depth);
    pos = f.end;
    const rule = rules.fields.get(f.id);
    if (rule === undefined) {
      out.push({ id: f.id, raw: buf.subarray(f.start, f.end), parts: undefined, sub: null });
      continue;
    }
    if (rule.oneof >= 0) {
      const o = oneofFields.get(rule.oneof);
      if (o === undefined) {
        oneofFields.set(rule.oneof, { member: f.id, indices: [out.length] });
      } else if (o.member !== f.id) {
        // Setting a member clears the oneof's other members, merged message included.
        for (const i of o.indices) {
          const dropped = out[i];
          if (dropped != null) liveMessage.delete(dropped.id);
          out[i] = null;
        }
        o.member = f.id;
        o.indices = [out.length];
      } else {
        o.indices.push(out.length);
      }
    }
    if (f.wire !== LEN) {
      out.push({ id: f.id, raw: buf.subarray(f.start, f.end), parts: undefined, sub: null });
      continue;
    }
    const payload = buf.subarray(f.payloadStart, f.end);
    if (rule.singularMessage) {
      const at = liveMessage.get(f.id);
      if (at !== undefined) {
        out[at]!.parts!.push(payload);
        out.push(null); // keeps the oneof indices pointing at the right slots
        continue;
      }
      liveMessage.set(f.id, out.length);
    }
    out.push({ id: f.id, raw: undefined, parts: [payload], sub: rule.payload() });
  }
  const chunks: Uint8Array[] = [];
  for (const o of out) {
    if (o === null) continue;
    if (o.raw !== undefined) {
      chunks.push(o.raw);
      continue;
    }
    let payload = o.parts!.length === 1 ? o.parts![0]! : Buffer.concat(o.parts!);
    if (o.sub !== null && needsRewrite(o.sub, payload, 0, payload.length, depth + 1)) payload = rewrite(o.sub, payload, 0, payload.length, depth + 1);
    chunks.push(varintBytes(tagOf(o.id, LEN)), varintBytes(payload.length), payload);
  }
  return Buffer.concat(chunks);
}

function varintBytes(v: number): Uint8Array {
  const bytes: number[] = [];
  while (v > 0x7f) {
    bytes.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  bytes.push(v);
  return Uint8Array.from(bytes);
}
