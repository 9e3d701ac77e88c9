// One real-world proto set (bench/realworld/build-set.mjs) as descriptors: its services, their methods and
// their google.api.http rules, and the registry that encodes, decodes and prints their messages.
//
// The descriptors come from `buf build` (the @bufbuild/buf devDependency: the reference compiler's rules,
// json_name and all), read with @bufbuild/protobuf, which passes the protobuf conformance suite. So the
// backend's messages and the test's expected JSON do not depend on protobufjs, which attache itself uses to
// load protos: an oracle independent of the code under test.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createFileRegistry, fromBinary, getExtension } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

const require = createRequire(import.meta.url);

/** The buf binary of the @bufbuild/buf devDependency. */
function bufBin() {
  return path.join(path.dirname(require.resolve('@bufbuild/buf/package.json')), 'bin', 'buf');
}

/**
 * Compiles every .proto under `setDir` with `buf build` into `${setDir}.binpb` (a FileDescriptorSet with
 * imports, no source info), unless that file is newer than the set; returns its path. Throws buf's errors.
 */
export function compileSet(setDir) {
  const out = `${path.resolve(setDir)}.binpb`;
  const newest = (dir) => Math.max(...fs.readdirSync(dir, { recursive: true }).map((f) => fs.statSync(path.join(dir, f)).mtimeMs));
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs > newest(setDir)) return out;
  execFileSync(process.execPath, [bufBin(), 'build', path.resolve(setDir), '--exclude-source-info', '--as-file-descriptor-set', '-o', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 120_000,
  });
  return out;
}

/** google.api.HttpRule's pattern as [HTTP method, template]. */
function patternOf(rule) {
  const { case: kind, value } = rule.pattern;
  if (kind === undefined) return undefined;
  if (kind === 'custom') return [value.kind.toUpperCase(), value.path];
  return [kind.toUpperCase(), value];
}

/**
 * The set at `setDir`: `{ registry, methods }`, `methods` being every method of every service, each
 * `{ selector, service, name, kind, input, output, desc, rules }` (kind: unary, server-stream,
 * client-stream or bidi, as attache's --check prints it; input/output: DescMessage; rules: every binding of
 * its google.api.http annotation, additional bindings included, as `{ method, template, body }`).
 */
export function loadSet(setDir) {
  const fds = fromBinary(FileDescriptorSetSchema, fs.readFileSync(compileSet(setDir)));
  const registry = createFileRegistry(fds);
  const httpExt = registry.getExtension('google.api.http');
  const kinds = { unary: 'unary', server_streaming: 'server-stream', client_streaming: 'client-stream', bidi_streaming: 'bidi' };
  const methods = [];
  for (const file of registry.files) {
    for (const service of file.services) {
      for (const m of service.methods) {
        const rules = [];
        if (httpExt && m.proto.options) {
          const top = getExtension(m.proto.options, httpExt);
          for (const r of [top, ...top.additionalBindings]) {
            const p = patternOf(r);
            if (p) rules.push({ method: p[0], template: p[1], body: r.body });
          }
        }
        methods.push({ selector: `${service.typeName}.${m.name}`, service: service.typeName, name: m.name, kind: kinds[m.methodKind], input: m.input, output: m.output, desc: m, rules });
      }
    }
  }
  return { registry, methods };
}
