// Types of scripts/compile-typescript.mjs for its test (test/typescript-loader.test.ts).
export const TYPESCRIPT_DIRS: string[];
export function cacheDir(): string;
export function compileTypescript(root?: string, dir?: string): Promise<{ files: number; compiled: number }>;
export function ensureCacheDir(dir: string): void;
