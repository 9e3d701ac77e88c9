// Types of build-set.mjs for the TypeScript tests that import it.
export declare const PACKAGES: readonly string[];
export declare function closure(n: number): string[];
export declare function buildSet(n: number, dir: string): { packages: number; services: number; files: number; rules: number };
