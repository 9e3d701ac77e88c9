/**
 * `--reflection`: the upstream's descriptors through gRPC server reflection
 * (https://github.com/grpc/grpc/blob/master/doc/server-reflection.md), v1 first and v1alpha when the
 * server does not implement v1 (grpc-go before 1.45 and many other servers have only v1alpha).
 *
 * On one ServerReflectionInfo stream: list_services, then file_containing_symbol for each service, then
 * file_by_filename for every import not received yet, until the import closure is complete. The files are
 * turned back into .proto text (descriptor-text.ts) in a fresh folder, which the caller adds as one more
 * proto root, after the user's own (a local file of the same name wins) and before the bundled Google ones
 * (which are never written: attache ships them).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { BUNDLED_PROTOS_DIR } from '../package-dir.js';
import { protoTextOf, type Desc } from './descriptor-text.js';

/** Reflection could not provide usable descriptors; the message says which target and why. */
export class ReflectionError extends Error {
  readonly code = 'ATTACHE_E_REFLECTION';
}

/** How to reach the upstream. */
export interface ReflectionTarget {
  /** grpc-js target syntax. */
  readonly target: string;
  readonly tls: boolean;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
  /** The whole exchange must finish within this (connecting included: the call waits for the server). */
  readonly timeoutMs: number;
}

/** The reflection messages (identical on the wire in v1 and v1alpha), declared here rather than shipped as protos. */
const MESSAGES = protobuf.Root.fromJSON({
  nested: {
    ServerReflectionRequest: {
      oneofs: { message_request: { oneof: ['file_by_filename', 'file_containing_symbol', 'list_services'] } },
      fields: { host: { type: 'string', id: 1 }, file_by_filename: { type: 'string', id: 3 }, file_containing_symbol: { type: 'string', id: 4 }, list_services: { type: 'string', id: 7 } },
    },
    ServerReflectionResponse: {
      fields: {
        file_descriptor_response: { type: 'FileDescriptorResponse', id: 4 },
        list_services_response: { type: 'ListServiceResponse', id: 6 },
        error_response: { type: 'ErrorResponse', id: 7 },
      },
    },
    FileDescriptorResponse: { fields: { file_descriptor_proto: { rule: 'repeated', type: 'bytes', id: 1 } } },
    ListServiceResponse: { fields: { service: { rule: 'repeated', type: 'ServiceResponse', id: 1 } } },
    ServiceResponse: { fields: { name: { type: 'string', id: 1 } } },
    ErrorResponse: { fields: { error_code: { type: 'int32', id: 1 }, error_message: { type: 'string', id: 2 } } },
  },
});
const Request = MESSAGES.lookupType('ServerReflectionRequest');
const Response = MESSAGES.lookupType('ServerReflectionResponse');

interface ReflectionResponse {
  file_descriptor_response?: { file_descriptor_proto: Uint8Array[] };
  list_services_response?: { service: { name: string }[] };
  error_response?: { error_code: number; error_message: string };
}

const VERSIONS = ['grpc.reflection.v1', 'grpc.reflection.v1alpha'] as const;

/**
 * descriptor.proto with the option extensions attache reads, to decode what the server sends. Built on
 * first use and never changed after: it depends only on the bundled protos, not on any configuration.
 */
let descriptorRoot: protobuf.Root | undefined;
function fileDescriptorType(): protobuf.Type {
  if (descriptorRoot === undefined) {
    // Parsed from the bundled text rather than loaded: protobufjs would substitute its built-in copy of
    // descriptor.proto, whose field names are camelCased whatever keepCase says.
    const root = new protobuf.Root();
    for (const f of ['google/protobuf/descriptor.proto', 'google/api/http.proto', 'google/api/annotations.proto', 'google/api/field_behavior.proto']) {
      protobuf.parse(fs.readFileSync(path.join(BUNDLED_PROTOS_DIR, f), 'utf8'), root, { keepCase: true });
    }
    root.resolveAll();
    descriptorRoot = root;
  }
  return descriptorRoot.lookupType('google.protobuf.FileDescriptorProto');
}

/** Decodes a serialized FileDescriptorProto into plain objects (proto field names, enum names). */
export function decodeFileDescriptor(bytes: Uint8Array): Desc {
  const type = fileDescriptorType();
  return type.toObject(type.decode(bytes), { enums: String, longs: String, bytes: String, defaults: false }) as Desc;
}

function credentialsOf(t: ReflectionTarget): grpc.ChannelCredentials {
  if (!t.tls) return grpc.credentials.createInsecure();
  const read = (p: string | undefined): Buffer | null => (p === undefined ? null : fs.readFileSync(p));
  return grpc.credentials.createSsl(read(t.ca), read(t.key), read(t.cert));
}

/** One reflection stream: sequential request → response exchanges. */
class Exchange {
  private readonly queue: ReflectionResponse[] = [];
  private waiting: ((r: ReflectionResponse | Error) => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly call: grpc.ClientDuplexStream<Record<string, unknown>, ReflectionResponse>) {
    call.on('data', (r: ReflectionResponse) => this.deliver(r));
    call.on('error', (err: Error) => this.fail(err));
    call.on('end', () => this.fail(new Error('the server ended the reflection stream')));
  }

  private deliver(r: ReflectionResponse | Error): void {
    if (this.waiting !== undefined) {
      const w = this.waiting;
      this.waiting = undefined;
      w(r);
    } else if (!(r instanceof Error)) {
      this.queue.push(r);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.deliver(err);
  }

  async ask(request: Record<string, unknown>): Promise<ReflectionResponse> {
    if (this.failure !== undefined) throw this.failure;
    this.call.write(request);
    const next = this.queue.shift() ?? (await new Promise<ReflectionResponse | Error>((resolve) => (this.waiting = resolve)));
    if (next instanceof Error) throw next;
    return next;
  }

  close(): void {
    this.call.end();
    this.call.cancel();
  }
}

/** Every file the services of the upstream are defined in, with their imports: name → serialized descriptor. */
async function fetchWith(client: grpc.Client, version: string, deadline: Date): Promise<Map<string, Uint8Array>> {
  const call = client.makeBidiStreamRequest(
    `/${version}.ServerReflection/ServerReflectionInfo`,
    (m: Record<string, unknown>) => Buffer.from(Request.encode(Request.fromObject(m)).finish()),
    (b: Buffer) => Response.toObject(Response.decode(b), { defaults: false, arrays: true }) as ReflectionResponse,
    new grpc.Metadata(),
    { deadline, waitForReady: true } as grpc.CallOptions,
  );
  const ex = new Exchange(call);
  try {
    const listed = await ex.ask({ list_services: '' });
    if (listed.error_response !== undefined) throw new Error(`list_services: ${listed.error_response.error_message}`);
    const services = (listed.list_services_response?.service ?? []).map((s) => s.name).filter((n) => !n.startsWith('grpc.reflection.'));
    const files = new Map<string, Uint8Array>();
    const pending: string[] = [];
    const take = (r: ReflectionResponse, what: string): void => {
      if (r.error_response !== undefined) throw new Error(`${what}: ${r.error_response.error_message} (code ${r.error_response.error_code})`);
      for (const bytes of r.file_descriptor_response?.file_descriptor_proto ?? []) {
        const name = decodeFileDescriptor(bytes)['name'] as string;
        if (files.has(name)) continue;
        files.set(name, bytes);
        for (const dep of (decodeFileDescriptor(bytes)['dependency'] as string[] | undefined) ?? []) pending.push(dep);
      }
    };
    for (const s of services) take(await ex.ask({ file_containing_symbol: s }), `file_containing_symbol ${s}`);
    while (pending.length > 0) {
      const dep = pending.pop()!;
      if (files.has(dep) || fs.existsSync(path.join(BUNDLED_PROTOS_DIR, dep))) continue;
      take(await ex.ask({ file_by_filename: dep }), `file_by_filename ${dep}`);
    }
    return files;
  } finally {
    ex.close();
  }
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The bundled families a reflected file may redeclare under another file name. */
const BUNDLED_FAMILIES = ['google.protobuf', 'google.api', 'google.rpc', 'google.type', 'google.longrunning'];

function bundledFamilyOf(pkg: unknown): string | undefined {
  return typeof pkg === 'string' && BUNDLED_FAMILIES.includes(pkg) ? pkg : undefined;
}

/**
 * A file of a bundled package under another name (@grpc/reflection serves protobufjs-made descriptors named
 * after their package, e.g. `google_protobuf.proto`): it stands for the bundled files that declare the
 * same types and extensions, which it imports publicly, so that files importing it still see them and
 * nothing is declared twice. Types the bundled files lack are dropped.
 */
function familyStub(name: string, family: string, descriptor: Desc): string {
  const dir = path.join(BUNDLED_PROTOS_DIR, ...family.split('.'));
  const rel = family.split('.').join('/');
  const imports = new Set<string>();
  const names = (key: string): string[] => (Array.isArray(descriptor[key]) ? (descriptor[key] as Desc[]).map((d) => String(d['name'])) : []);
  const types = [...names('message_type'), ...names('enum_type')];
  const extensions = Array.isArray(descriptor['extension']) ? (descriptor['extension'] as Desc[]) : [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.proto')).sort()) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    const declares =
      types.some((t) => new RegExp(`^(?:message|enum)\\s+${escapeRe(t)}\\s*\\{`, 'm').test(text)) ||
      extensions.some((x) => new RegExp(`\\b${escapeRe(String(x['name']))}\\s*=\\s*${Number(x['number'])}\\s*[;\\[]`).test(text));
    if (declares) imports.add(`${rel}/${f}`);
  }
  return [
    `// Generated by attache from gRPC server reflection: ${name} declares package ${family}, which attache bundles.`,
    'syntax = "proto3";',
    ...[...imports].map((f) => `import public "${f}";`),
    '',
  ].join('\n');
}

/**
 * Fetches the upstream's descriptors and writes them as .proto files under a new temporary folder.
 * @returns the folder (the caller removes it once the protos are loaded) and the file names written.
 * @throws ReflectionError naming the target and the reason (unreachable, no reflection service, a
 *         server error, a descriptor that cannot be written as proto text).
 */
export async function reflectInto(t: ReflectionTarget): Promise<{ dir: string; files: string[] }> {
  const client = new grpc.Client(t.target, credentialsOf(t), t.serverName !== undefined ? { 'grpc.ssl_target_name_override': t.serverName } : {});
  const deadline = new Date(Date.now() + t.timeoutMs);
  let files: Map<string, Uint8Array> | undefined;
  const reasons: string[] = [];
  try {
    for (const version of VERSIONS) {
      try {
        files = await fetchWith(client, version, deadline);
        break;
      } catch (err) {
        const e = err as Error & { code?: number };
        reasons.push(`${version}: ${e.message}`);
        // Only "not implemented" is a reason to try the older protocol; anything else fails the same way.
        if (e.code !== grpc.status.UNIMPLEMENTED) break;
      }
    }
  } finally {
    client.close();
  }
  if (files === undefined) throw new ReflectionError(`gRPC server reflection from ${t.target} failed: ${reasons.join('; ')}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attache-reflection-'));
  const written: string[] = [];
  try {
    for (const [name, bytes] of files) {
      // attache ships the common Google families; a reflected copy would only duplicate their types.
      if (fs.existsSync(path.join(BUNDLED_PROTOS_DIR, name))) continue;
      const descriptor = decodeFileDescriptor(bytes);
      const family = bundledFamilyOf(descriptor['package']);
      const text = family !== undefined ? familyStub(name, family, descriptor) : protoTextOf(descriptor);
      const file = path.join(dir, name);
      if (!file.startsWith(dir + path.sep)) throw new ReflectionError(`${t.target} sent a file named ${JSON.stringify(name)}, which leaves the proto root`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
      written.push(name);
    }
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    if (err instanceof ReflectionError) throw err;
    throw new ReflectionError(`gRPC server reflection from ${t.target}: ${(err as Error).message}`);
  }
  return { dir, files: written.sort() };
}
