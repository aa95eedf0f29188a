// The few `node:` APIs src/node uses, declared here so that the type check
// needs no @types/node package.

declare module 'node:fs' {
  interface Stats {
    size: number;
    isFile(): boolean;
    isDirectory(): boolean;
    isSymbolicLink(): boolean;
  }
  interface BigIntStats {
    ino: bigint;
    atimeNs: bigint;
    mtimeNs: bigint;
    ctimeNs: bigint;
    isFile(): boolean;
    isDirectory(): boolean;
    isSymbolicLink(): boolean;
  }
  function lstatSync(path: string, options: { bigint: true }): BigIntStats;
  function lstatSync(path: string): Stats;
  function readdirSync(path: string): string[];
  function readFileSync(path: string | URL): Uint8Array;
  function existsSync(path: string): boolean;
  function renameSync(from: string, to: string): void;
  function copyFileSync(from: string, to: string): void;
  function mkdtempSync(prefix: string): string;
  function readlinkSync(path: string): string;
  function writeFileSync(path: string, data: Uint8Array): void;
  function symlinkSync(target: string, path: string): void;
  function mkdirSync(path: string, options?: { recursive?: boolean }): void;
  function rmSync(path: string, options?: { recursive?: boolean; force?: boolean }): void;
  function utimesSync(path: string, atime: Date | number, mtime: Date | number): void;
  function lutimesSync(path: string, atime: Date | number, mtime: Date | number): void;
}

declare module 'node:path' {
  function join(...parts: string[]): string;
  const sep: string;
}

declare module 'node:url' {
  function fileURLToPath(url: string | URL): string;
}

declare module 'node:worker_threads' {
  class Worker {
    constructor(code: string, options?: { eval?: boolean; workerData?: unknown });
    unref(): void;
  }
}

declare module 'node:os' {
  function homedir(): string;
}

declare const process: { env: Record<string, string | undefined>; pid: number; exit(code?: number): never };
