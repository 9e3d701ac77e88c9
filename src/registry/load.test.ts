import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import protobuf from 'protobufjs';
import { isTwoByte } from '../../test/support/strings.js';
import { loadRegistry, ProtoLoadError } from './load.js';

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-load-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

/** A folder holding `files` (name → text), as a --protos root. */
function protoRoot(name: string, files: Record<string, string>): string {
  const dir = path.join(temp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

// Enum-valued options are what protobufjs first tries to read as numbers, building an Error each time: the
// parse runs with stack traces off (load.ts), which must not leak into the rest of the process.
const WITH_ENUM_OPTIONS = `syntax = "proto3";
package t.v1;
import "google/api/field_behavior.proto";
message Thing {
  string name = 1 [(google.api.field_behavior) = REQUIRED, (google.api.field_behavior) = IMMUTABLE];
  int32 size = 2 [deprecated = true];
}
`;

describe('loadRegistry', () => {
  it('reads enum-valued options and leaves Error.stackTraceLimit as it found it', () => {
    const before = Error.stackTraceLimit;
    const { root } = loadRegistry([protoRoot('good', { 'thing.proto': WITH_ENUM_OPTIONS })]);
    const field = root.lookupType('t.v1.Thing').fields['name']!;
    expect(field.parsedOptions).toEqual([{ '(google.api.field_behavior)': 'REQUIRED' }, { '(google.api.field_behavior)': 'IMMUTABLE' }]);
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('x').stack?.split('\n').length).toBeGreaterThan(1);
  });

  it('a syntax error still names file and line, and Error.stackTraceLimit is restored after it', () => {
    const before = Error.stackTraceLimit;
    const dir = protoRoot('broken', { 'a.proto': WITH_ENUM_OPTIONS.replace('package t.v1;', 'package t.v1;\nmessage Broken { int32 x = ; }') });
    let thrown: unknown;
    try {
      loadRegistry([dir]);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProtoLoadError);
    expect((thrown as ProtoLoadError).problems.map((p) => [path.basename(p.file), p.line])).toEqual([['a.proto', 3]]);
    expect(Error.stackTraceLimit).toBe(before);
  });

  // An em dash or a curly quote in a comment makes V8 hold a file's whole text two bytes per character, and
  // with it every name and path taken from it (registry/proto-text.ts).
  const WIDE_COMMENTS = `syntax = "proto3";
package w.v1;
import "google/api/annotations.proto";
// The parent’s things — all of them.
service Things {
  /* Lists them “as they are”. */
  rpc ListThings(ListThingsRequest) returns (ListThingsResponse) { option (google.api.http) = { get: "/v1/{parent=shelves/*}/things" }; }
}
message ListThingsRequest { string parent = 1; }
message ListThingsResponse { repeated string names = 1 [json_name = "allNames"]; }
`;

  it('takes one-byte names and paths from a file whose comments have characters beyond Latin-1', () => {
    const protobufFs = protobuf.util.fs;
    const { root } = loadRegistry([protoRoot('wide', { 'things.proto': WIDE_COMMENTS })]);
    expect(protobuf.util.fs).toBe(protobufFs); // protobufjs's own file reading, as it was
    const method = root.lookupService('w.v1.Things').methods['ListThings']!;
    const http = (method.parsedOptions as Record<string, { get: string }>[])[0]!['(google.api.http)'];
    expect(http.get).toBe('/v1/{parent=shelves/*}/things');
    const names = [method.name, method.requestType, http.get, ...root.lookupType('w.v1.ListThingsResponse').fieldsArray.map((f) => f.name)];
    expect(names.filter(isTwoByte)).toEqual([]);
    expect(root.lookupType('w.v1.ListThingsResponse').fields['names']!.options?.['json_name']).toBe('allNames');
  });

  it('keeps those characters where comments are read (the OpenAPI document\'s load)', () => {
    const { root } = loadRegistry([protoRoot('wide-comments', { 'things.proto': WIDE_COMMENTS })], { comments: true });
    expect(root.lookupService('w.v1.Things').comment).toBe('The parent’s things — all of them.');
    expect(root.lookupService('w.v1.Things').methods['ListThings']!.comment).toBe('Lists them “as they are”.');
  });
});
