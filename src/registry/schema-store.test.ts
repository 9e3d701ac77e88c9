import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import protobuf from 'protobufjs';
import { afterAll, describe, expect, it } from 'vitest';
// The real-world set of the benchmark (bench/realworld/build-set.mjs): 25 Google Cloud API packages and
// everything they import, from the google-proto-files devDependency.
import { buildSet } from '../../bench/realworld/build-set.mjs';
import { loadRegistry } from './load.js';
import { createSchemaStore, ownString } from './schema-store.js';

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-store-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

/** Every message and enum declared in `root`, with its full name (no leading dot). */
function declarations(root: protobuf.Root): [string, protobuf.Type | protobuf.Enum][] {
  const out: [string, protobuf.Type | protobuf.Enum][] = [];
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const c of ns.nestedArray) {
      if (c instanceof protobuf.Type || c instanceof protobuf.Enum) out.push([c.fullName.slice(1), c]);
      if (c instanceof protobuf.Namespace || c instanceof protobuf.Type) visit(c as protobuf.NamespaceBase);
    }
  };
  visit(root);
  return out;
}

/** What the codec reads off a resolved field: every fact protobufjs derives at resolve time. */
function fieldFacts(f: protobuf.Field): unknown {
  return [
    f.name, f.id, f.type, (f as unknown as { rule?: string }).rule, f.repeated, f.map, f.optional, f.required, f.long, f.bytes, f.packed, f.delimited,
    Boolean(f.hasPresence), f.partOf?.name, f.resolvedType?.fullName, JSON.stringify(f.typeDefault), JSON.stringify(f.defaultValue),
    f.options, (f as unknown as { _features: unknown })._features, (f as unknown as protobuf.MapField).keyType,
  ];
}

describe.each([
  ['the e2e fixture', () => ['test/fixtures/e2e']],
  ['the codec fixture (proto3 optional, maps, oneofs, every well-known type, json_name)', () => ['test/fixtures/codec']],
  [
    'proto2 and editions files (groups, defaults, required, packed, delimited, explicit presence)',
    () => {
      const dir = path.join(temp, 'syntaxes');
      fs.mkdirSync(path.join(dir, 's'), { recursive: true });
      fs.writeFileSync(
        path.join(dir, 's', 'two.proto'),
        'syntax = "proto2"; package s2; enum K { K_A = 1; K_B = 2; }\n' +
          'message M { required int32 a = 1; optional string b = 2 [default = "x"]; optional K k = 3 [default = K_B];\n' +
          '  repeated int32 plain = 4; repeated int32 packed = 5 [packed = true]; optional int64 big = 6 [default = 9007199254740993];\n' +
          '  optional group G = 7 { optional int32 g = 8; } optional bytes raw = 9 [default = "\\001"]; map<string, M> m = 10; }\n',
      );
      fs.writeFileSync(
        path.join(dir, 's', 'ed.proto'),
        'edition = "2023"; package ed; option features.field_presence = IMPLICIT;\n' +
          'message N { int32 a = 1; int32 b = 2 [features.field_presence = EXPLICIT]; N child = 3 [features.message_encoding = DELIMITED];\n' +
          '  repeated int32 r = 4 [features.repeated_field_encoding = EXPANDED]; }\n',
      );
      return [dir];
    },
  ],
  [
    'the real-world set (25 Google Cloud API packages)',
    () => {
      buildSet(25, path.join(temp, '25'));
      return [path.join(temp, '25')];
    },
  ],
])('%s: every declaration materializes as loaded', (_name, roots) => {
  const root = loadRegistry(roots()).root;
  const store = createSchemaStore(root);
  const all = declarations(root);

  it('holds every declaration and materializes none until asked', () => {
    expect(all.length).toBeGreaterThan(10);
    expect(store.stats().materialized).toBe(0);
  });

  it('the same descriptor (toJSON without comments) and the same resolved fields', () => {
    const diffs: string[] = [];
    for (const [name, original] of all) {
      const got = store.lookup(name);
      if (got === undefined) {
        diffs.push(`${name}: missing`);
        continue;
      }
      if (JSON.stringify(got.toJSON()) !== JSON.stringify(original.toJSON())) diffs.push(`${name}: descriptor differs`);
      if (original instanceof protobuf.Type) {
        for (const f of original.fieldsArray) {
          // Extension fields live on the extended type only as protobufjs's sister copies; the codec has no use for them.
          if (f.declaringField !== null) continue;
          const g = (got as protobuf.Type).fields[f.name];
          if (g === undefined || JSON.stringify(fieldFacts(g)) !== JSON.stringify(fieldFacts(f))) diffs.push(`${name}.${f.name}: field differs`);
        }
      }
    }
    expect(diffs).toEqual([]);
  });
});

describe('materialization', () => {
  const root = loadRegistry(['test/fixtures/e2e']).root;

  it('brings a type with what it refers to, once; nested names resolve; unknown names are undefined', () => {
    const store = createSchemaStore(root);
    const echo = store.messageType('e2e.v1.EchoRequest');
    expect(echo?.fullName).toBe('.e2e.v1.EchoRequest');
    const after = store.stats().materialized;
    expect(after).toBeGreaterThan(1);
    expect(after).toBeLessThan(store.stats().declarations);
    expect(store.messageType('e2e.v1.EchoRequest')).toBe(echo);
    expect(store.stats().materialized).toBe(after);
    for (const f of echo!.fieldsArray) if (f.resolvedType !== null) expect(store.lookup(f.resolvedType.fullName)).toBe(f.resolvedType);
    expect(store.messageType('e2e.v1.NoSuchType')).toBeUndefined();
    expect(store.messageType('e2e.v1')).toBeUndefined();
    expect(store.messageType('EchoRequest')).toBeUndefined();
    expect(store.lookup('google.protobuf.NullValue')).toBeInstanceOf(protobuf.Enum);
    expect(store.messageType('google.protobuf.NullValue')).toBeUndefined();
  });

  it('keeps per-value enum options, which protobufjs fromJSON drops', () => {
    const r = protobuf.parse('syntax = "proto3"; package t; enum E { E_A = 0; E_B = 1 [deprecated = true]; } message M { E e = 1; }', { keepCase: true }).root;
    r.resolveAll();
    const store = createSchemaStore(r);
    expect(store.messageType('t.M')?.fields['e']?.resolvedType).toBeInstanceOf(protobuf.Enum);
    expect((store.lookup('t.E') as protobuf.Enum).valuesOptions).toEqual({ E_B: { deprecated: true } });
  });
});

describe('message constructors', () => {
  const root = loadRegistry(['test/fixtures/codec']).root;
  type Internal = { _ctor: unknown };

  it('are built only for types decoded, with the prototype protobufjs gives (field defaults, oneof properties)', () => {
    const store = createSchemaStore(root);
    const t = store.messageType('codectest.v1.Everything')!;
    expect((t as unknown as Internal)._ctor).toBeNull();
    const nested = t.fieldsArray.map((f) => f.resolvedType).filter((r): r is protobuf.Type => r instanceof protobuf.Type);
    expect(nested.length).toBeGreaterThan(3);
    for (const n of nested) expect((n as unknown as Internal)._ctor).toBeNull();
    t.encode({}); // encoding needs none
    expect((t as unknown as Internal)._ctor).toBeNull();

    const decoded = t.decode(t.encode({ f_nested: {}, o_string: 'x', m_nested: { k: {} } } as Record<string, unknown>).finish());
    expect(decoded).toBeInstanceOf(t.ctor);
    expect((decoded as unknown as Record<string, unknown>)['choice']).toBe('o_string');
    expect(Object.keys((decoded as unknown as Record<string, Record<string, unknown>>)['m_nested']!)).toEqual(['k']);
    let types = 0;
    for (const [name, original] of declarations(root)) {
      if (!(original instanceof protobuf.Type)) continue;
      const got = store.messageType(name)!;
      try {
        got.decode(new Uint8Array(0));
      } catch {
        // proto2 types with required fields (descriptor.proto's) reject an empty message, after setting up
      }
      types++;
      const proto = got.ctor.prototype as Record<string, unknown>;
      const want = original.ctor.prototype as Record<string, unknown>;
      // Extension fields' sister copies are not materialized (see above).
      for (const f of original.fieldsArray) if (f.declaringField === null) expect([name, f.name, proto[f.name]]).toEqual([name, f.name, want[f.name]]);
      for (const o of original.oneofsArray) expect(Object.getOwnPropertyDescriptor(proto, o.name)?.get).toBeTypeOf('function');
      expect(proto).toBeInstanceOf(protobuf.Message);
    }
    expect(types).toBeGreaterThan(20);
  });
});

describe('ownString', () => {
  it('is the same text', () => {
    const source = `message ${'x'.repeat(100)} {}`;
    const name = source.slice(8, 108);
    expect(ownString(name)).toBe(name);
    expect(ownString('short')).toBe('short');
  });
});

describe('resolved features', () => {
  it('are one object per distinct content across materialized types, with the same values', () => {
    const root = loadRegistry(['test/fixtures/codec']).root;
    const store = createSchemaStore(root);
    const featuresOf = (o: protobuf.ReflectionObject): Record<string, unknown> => (o as unknown as { _features: Record<string, unknown> })._features;
    const objects = new Set<unknown>();
    const contents = new Set<string>();
    let fields = 0;
    for (const [name, original] of declarations(root)) {
      if (!(original instanceof protobuf.Type)) continue;
      const got = store.messageType(name)!;
      for (const f of got.fieldsArray) {
        fields++;
        objects.add(featuresOf(f));
        contents.add(JSON.stringify(Object.entries(featuresOf(f)).sort()));
        expect(featuresOf(f)).toEqual(featuresOf(original.fields[f.name]!));
      }
    }
    expect(fields).toBeGreaterThan(50);
    expect(objects.size).toBe(contents.size);
  });
});
