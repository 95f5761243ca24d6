// Types of scripts/compile-typescript.mjs for its test (test/typescript-loader.test.ts).
export const TYPESCRIPT_DIRS: string[];
export function compiledPath(outDir: string, file: string): string;
export function compileTypescript(root: string, outDir: string): Promise<number>;
