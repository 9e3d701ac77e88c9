// Types of bench/large/messages.mjs, for the tests that use its messages (test/e2e/large-messages.test.ts).
import type { MethodDefinition } from '@grpc/grpc-js';
import type protobuf from 'protobufjs';

export declare const LARGE_PROTOS: string;
export declare const SIZES: readonly string[];
export declare function loadLarge(): { root: protobuf.Root; ItemList: protobuf.Type; IngestSummary: protobuf.Type };
export declare function listOf(size: string): Record<string, unknown>;
export declare function buildMessages(sizes?: readonly string[]): Record<string, { bytes: Buffer; json: string }>;
/** The proto3 JSON of a decoded ItemList, as buildMessages writes it (protobufjs toObject + RFC 3339 timestamps). */
export declare function itemListJson(list: protobuf.Message): string;
/** A unary method of large.v1.LargeService with bytes in and out unchanged. */
export declare function largeMethod(name: string): MethodDefinition<Buffer, Buffer>;
