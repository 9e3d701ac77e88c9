// Types of fill.mjs for the TypeScript tests that import it.
import type { DescMessage, Message, ScalarType } from '@bufbuild/protobuf';

export declare const MAX_DEPTH: number;
export declare function scalarValue(type: ScalarType, name: string): unknown;
export declare function fillMessage(desc: DescMessage): Message;
