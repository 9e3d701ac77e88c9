/**
 * attache metadata (call-metadata.ts) ↔ grpc-js `Metadata`, at the grpc-js wire's boundary only
 * (grpcjs-wire.ts, call.ts, attempt-lb.ts). The lean transport never builds a grpc-js Metadata.
 */
import { Metadata } from '@grpc/grpc-js';
import { CallMetadata, isLegalEntry, type MetadataValue } from './call-metadata.js';

/**
 * A new grpc-js Metadata with `md`'s entries, in order. Never throws: CallMetadata entries are legal by
 * construction, and grpc-js checks the same rules (an entry it would refuse anyway is skipped).
 */
export function toGrpcJsMetadata(md: CallMetadata): Metadata {
  const out = new Metadata();
  writeInto(out, md);
  return out;
}

/**
 * Replaces every entry of grpc-js `target` with `md`'s (its options are kept): how an attempt observer's
 * rewritten metadata reaches a grpc-js attempt, whose picker owns the Metadata object it sends.
 */
export function replaceGrpcJsMetadata(target: Metadata, md: CallMetadata): void {
  for (const key of Object.keys(target.toJSON())) target.remove(key);
  writeInto(target, md);
}

function writeInto(out: Metadata, md: CallMetadata): void {
  for (let i = 0; i < md.size; i++) {
    const k = md.keyAt(i);
    const v = md.valueAt(i);
    if (isLegalEntry(k, v)) out.add(k, v);
  }
}

/** `md` (grpc-js Metadata, received or built by grpc-js) as attache metadata; grpc-js checked its entries. */
export function fromGrpcJsMetadata(md: Metadata): CallMetadata {
  const list: MetadataValue[] = [];
  const all = md.toJSON();
  for (const key of Object.keys(all)) for (const v of all[key]!) list.push(key, v);
  return new CallMetadata(list);
}
