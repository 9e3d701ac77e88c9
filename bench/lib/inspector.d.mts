// Types of inspector.mjs for the TypeScript tests that import it (test/support/inspector.ts).
export interface Inspector {
  call(method: string, params?: Record<string, unknown>, onEvent?: (message: { method: string; params: unknown }) => void): Promise<Record<string, unknown>>;
  evaluate<T = unknown>(expression: string): Promise<T>;
  close(): void;
}
export declare function inspectorUrl(stderr: string): string | undefined;
export declare function inspector(url: string, options?: { timeoutMs?: number }): Promise<Inspector>;
export declare function collectedMemory(insp: Inspector): Promise<NodeJS.MemoryUsage>;
