// The large-message benchmark's messages (bench/large/protos/large/v1/large.proto), built once with
// protobufjs: an ItemList per size, its protobuf bytes, and its proto3 JSON as protobufjs's own toJSON
// writes it (an encoder independent of attache's codec; the tests compare attache's output to it).
// Sizes: tiny (one item with an id: ~16 B of protobuf), medium (~100 KiB of JSON), large (~3 MiB of JSON)
// and blobs (~3 MiB of JSON, most of it base64 of 48 KiB bytes fields).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const LARGE_PROTOS = path.join(HERE, 'protos');
const REPO = path.resolve(HERE, '..', '..');
const GOOGLEAPIS = path.join(REPO, 'third_party', 'googleapis');

/** The large.v1 types, loaded with protobufjs (google/api from third_party/googleapis, WKTs built in). */
export function loadLarge() {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of [LARGE_PROTOS, GOOGLEAPIS]) {
      const p = path.join(dir, target);
      try {
        protobuf.util.fs.accessSync(p);
        return p;
      } catch {
        /* next root */
      }
    }
    return target;
  };
  root.loadSync('large/v1/large.proto', { keepCase: false });
  root.resolveAll();
  return { root, ItemList: root.lookupType('large.v1.ItemList'), IngestSummary: root.lookupType('large.v1.IngestSummary') };
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'écho', 'foxtrot', 'golf', 'hôtel', 'india', 'juliett', 'kilo', 'lima', 'mike', 'naïve', 'oscar', 'papa', 'Zürich', '東京', 'quote"d', 'back\\slash', 'tab\there', 'emoji😀'];

/** A deterministic pseudo-random generator (xorshift32), so every run builds the same messages. */
function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function words(r, n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(r() * WORDS.length)]);
  return out.join(' ');
}

/** One realistic item (`i`-th): strings with accents, CJK, an emoji and JSON escapes, an int64, a double… */
function item(r, i, blobBytes) {
  const it = {
    id: `item_${String(i).padStart(7, '0')}`,
    name: words(r, 3),
    description: words(r, 12),
    priceMinor: String(Math.floor(r() * 1e12)),
    quantity: 1 + Math.floor(r() * 50),
    score: Math.round(r() * 1e6) / 1e3,
    active: r() < 0.7,
    kind: 1 + Math.floor(r() * 3),
    tags: [words(r, 1), words(r, 1)],
    updatedAt: { seconds: String(1_700_000_000 + i), nanos: (i % 1000) * 1_000_000 },
  };
  if (!it.active) delete it.active; // proto3 implicit presence: protobufjs would encode a false it was given
  if (blobBytes > 0) {
    const b = Buffer.alloc(blobBytes);
    for (let k = 0; k < blobBytes; k += 4) b.writeUInt32LE(Math.floor(r() * 4294967296), k);
    it.blob = b;
  }
  return it;
}

/** The ItemList object (protobufjs `fromObject` input) of a size name. */
export function listOf(size) {
  const r = rng(17);
  switch (size) {
    case 'tiny':
      return { items: [{ id: 'item_000001' }], total: '1' };
    case 'medium':
      return { items: Array.from({ length: 330 }, (_, i) => item(r, i, 0)), nextPageToken: 'page_2', total: '330' };
    case 'large':
      return { items: Array.from({ length: 10_000 }, (_, i) => item(r, i, 0)), nextPageToken: 'page_2', total: '10000' };
    case 'blobs':
      return { items: Array.from({ length: 48 }, (_, i) => item(r, i, 48 * 1024)), nextPageToken: 'page_2', total: '48' };
    default:
      throw new Error(`unknown size ${size}`);
  }
}

export const SIZES = ['tiny', 'medium', 'large', 'blobs'];

/**
 * Per size: `bytes` (protobuf) and `json` (proto3 JSON text from protobufjs's toJSON: lowerCamelCase,
 * int64 as strings, enums as names, bytes as base64, the Timestamp as RFC 3339; defaults omitted).
 */
export function buildMessages(sizes = SIZES) {
  const { ItemList } = loadLarge();
  const out = {};
  for (const size of sizes) {
    const msg = ItemList.fromObject(listOf(size));
    const bytes = Buffer.from(ItemList.encode(msg).finish());
    out[size] = { bytes, json: itemListJson(ItemList.decode(bytes)) };
  }
  return out;
}

/** The proto3 JSON of a decoded ItemList (protobufjs toObject, then the Timestamps in RFC 3339). */
export function itemListJson(list) {
  const obj = list.$type.toObject(list, JSON_OPTIONS);
  for (const it of obj.items ?? []) if (it.updatedAt !== undefined) it.updatedAt = rfc3339(it.updatedAt);
  return JSON.stringify(obj);
}

/** protobufjs toObject options that give the proto3 JSON mapping for these types but the Timestamp (rfc3339). */
const JSON_OPTIONS = { longs: String, enums: String, bytes: String, json: true };

/** A Timestamp's proto3 JSON: RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits. */
function rfc3339({ seconds, nanos = 0 }) {
  const base = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  const frac = String(nanos).padStart(9, '0');
  const digits = frac.endsWith('000000') ? 3 : frac.endsWith('000') ? 6 : 9;
  return `${base}.${frac.slice(0, digits)}Z`;
}

/**
 * A unary method of large.v1.LargeService as grpc-js describes it, with bytes in and out unchanged (the
 * backend and the tests answer pre-encoded messages and read raw request bytes).
 */
export function largeMethod(name) {
  const identity = (b) => b;
  return {
    path: `/large.v1.LargeService/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}
