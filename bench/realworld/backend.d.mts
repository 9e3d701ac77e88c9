// Types of backend.mjs for the TypeScript tests that import it.
import type { JsonValue } from '@bufbuild/protobuf';
import type { ProtoSet, SetMethod } from './set.mjs';

export interface FilledResponse { readonly method: SetMethod; readonly bytes: Buffer; readonly json: JsonValue }
export declare function responsesOf(set: ProtoSet): Map<string, FilledResponse>;
export declare function startBackend(set: ProtoSet, options?: { port?: number }): Promise<{
  port: number;
  target: string;
  responses: Map<string, FilledResponse>;
  /** selector → the bytes of the last request each unary method received. */
  received: Map<string, Buffer>;
  close(): Promise<void>;
}>;
