// Types of set.mjs for the TypeScript tests that import it.
import type { DescMessage, DescMethod, FileRegistry } from '@bufbuild/protobuf';

export type MethodKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';
export interface HttpBinding { readonly method: string; readonly template: string; readonly body: string }
export interface SetMethod {
  readonly selector: string;
  readonly service: string;
  readonly name: string;
  readonly kind: MethodKind;
  readonly input: DescMessage;
  readonly output: DescMessage;
  readonly desc: DescMethod;
  readonly rules: readonly HttpBinding[];
}
export interface ProtoSet { readonly registry: FileRegistry; readonly methods: readonly SetMethod[] }
export declare function compileSet(setDir: string): string;
export declare function loadSet(setDir: string): ProtoSet;
