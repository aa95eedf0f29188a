#!/usr/bin/env node
// wprof-node: `wprof run` in Node, on the same instrumented artifact, the
// same probe runtime and the same Rust profile writers (the wasm toolkit),
// with the project's WASI polyfill instead of wasmtime.
//
//   npx wprof-node run app.wasm -- args      → wprof-out/{flamegraph.svg,cpu.pb.gz,…}
//   npx wprof-node instrument app.wasm -o app.wprof.wasm
//
// Exit status mirrors `wprof` (profiler/src/exit.rs): the guest's exit code,
// 134 when it traps, 1 when wprof-node fails, 2 on a bad command line.
// stdout belongs to the guest; wprof-node's own messages go to stderr.

import { mkdirSync, readFileSync, readSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { WASI } from '../src/index.js';
import { loadDirectory, saveDirectory } from '../src/node/host-dir.js';
import { MAX_CONTEXTS, profile } from '../src/probe/index.js';
import { loadNodeToolkit } from './node-toolkit.js';

const EXIT_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_TRAP = 134;

const RUN_HELP = `Run a module in Node (WASI polyfill) and write its profile.

Usage: wprof-node run [OPTIONS] MODULE [-- GUEST_ARGS...]

Arguments:
  MODULE         the module to profile: .wasm, .wat, or an artifact of \`wprof instrument\`
  GUEST_ARGS     arguments for the guest, after \`--\`

Options:
  -o, --out DIR          directory to write the profile into [default: wprof-out]
      --invoke EXPORT    call this export instead of _start (_initialize runs first if present)
      --arg VALUE        argument for the --invoke export, one per parameter (integers, hex, floats)
      --repeat N         call the --invoke export N times; summary.json reports per-call latency [default: 1]
      --env K=V          environment variable for the guest (repeatable); none of the host's otherwise
      --dir HOST[::GUEST]  give the guest a copy of a host directory; its changes are written back after the run
      --max-contexts N   calling contexts kept before new ones are cut at [truncated] [default: 1048576]
      --mode instrument  the only CPU mode in Node
      --no-cache         accepted for compatibility with \`wprof run\` (Node has no compilation cache here)
  -h, --help             print help

Outputs (in --out): flamegraph.svg  cpu.pb.gz  cpu.folded  calls.folded  summary.json

Time: Node has no CPU sampler (running wasm cannot be interrupted to read the
current context), so the profile has exact call counts per function and per
calling context but no per-function time: self_ns/total_ns are 0, cpu.folded is
empty and the flamegraph is drawn by call counts. wall_ns and --invoke latency
are measured. --mode sample, --interval-us and --timeout are not available.

Exit status:
  the guest's exit code when it exits (0 when _start or the export returns;
  codes outside 0-255 become 1), 134 when the guest traps, 1 when wprof-node
  fails (bad module, missing file, unknown export), 2 on a bad command line.
  Every output file is written in all guest cases.`;

const INSTRUMENT_HELP = `Write an instrumented copy of a module (the same bytes as \`wprof instrument\`).

Usage: wprof-node instrument [OPTIONS] MODULE -o OUT.wasm

Options:
  -o, --output OUT.wasm  where to write the instrumented module
      --strip-dwarf      drop DWARF debug sections instead of rewriting them
  -h, --help             print help`;

const HELP = `wprof-node: profile WebAssembly modules in Node with wprof's probes.

Usage: wprof-node <COMMAND>

Commands:
  run         run a module and write its profile (see \`wprof-node run --help\`)
  instrument  write an instrumented copy of a module

Options:
  -h, --help  print help`;

/** A bad command line: exit 2 with the usage hint. */
class UsageError extends Error {}

/**
 * Splits `argv` into options (by the spec) and positionals; `--` ends it.
 * @param {string[]} argv
 * @param {Record<string, { short?: string, value?: boolean, multiple?: boolean }>} spec
 */
function parse(argv, spec) {
  /** @type {Record<string, string | string[] | boolean>} */
  const opts = {};
  /** @type {string[]} */
  const positionals = [];
  /** @type {string[] | null} */
  let rest = null;
  const byShort = Object.fromEntries(
    Object.entries(spec)
      .filter(([, s]) => s.short)
      .map(([k, s]) => [s.short, k]),
  );
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest = argv.slice(i + 1);
      break;
    }
    let name;
    /** @type {string | undefined} */
    let inline;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      inline = eq < 0 ? undefined : a.slice(eq + 1);
    } else if (a.startsWith('-') && a.length > 1) {
      name = byShort[a.slice(1, 2)];
      if (!name) throw new UsageError(`unexpected argument '${a}'`);
      inline = a.length > 2 ? a.slice(2) : undefined;
    } else {
      positionals.push(a);
      continue;
    }
    const s = spec[name];
    if (!s) throw new UsageError(`unexpected argument '--${name}'`);
    if (!s.value) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      opts[name] = true;
      continue;
    }
    // Values may start with '-' (negative --arg numbers), as in wprof's CLI.
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`a value is required for '--${name}'`);
    if (s.multiple) {
      const list = /** @type {string[]} */ (opts[name] ?? []);
      list.push(value);
      opts[name] = list;
    } else {
      if (opts[name] !== undefined) throw new UsageError(`--${name} cannot be used multiple times`);
      opts[name] = value;
    }
  }
  return { opts, positionals, rest };
}

/**
 * @param {string | undefined} s
 * @param {string} flag
 * @param {number} min
 * @param {number} max
 * @param {number} fallback
 */
function integer(s, flag, min, max, fallback) {
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`invalid value '${s}' for '--${flag}': must be an integer in ${min}..=${max}`);
  }
  return n;
}

/** @param {string[]} argv @returns {Promise<number>} */
/**
 * Reads a module file (binary or text) through the wasm toolkit, which
 * both commands then use.
 * @param {string} modulePath
 */
async function loadModule(modulePath) {
  let bytes;
  try {
    bytes = readFileSync(modulePath);
  } catch (e) {
    throw new Error(`failed to read module \`${modulePath}\``, { cause: e });
  }
  const toolkit = await loadNodeToolkit();
  return { toolkit, wasm: toolkit.readModule(bytes, modulePath) };
}

async function run(argv) {
  const { opts, positionals, rest } = parse(argv, {
    out: { short: 'o', value: true },
    invoke: { value: true },
    arg: { value: true, multiple: true },
    repeat: { value: true },
    env: { value: true, multiple: true },
    dir: { value: true, multiple: true },
    'max-contexts': { value: true },
    mode: { value: true },
    'no-cache': {},
    help: { short: 'h' },
    // Flags of `wprof run` that Node cannot honour: named so the message
    // says why instead of "unexpected argument".
    'interval-us': { value: true },
    timeout: { value: true },
  });
  if (opts.help) {
    console.log(RUN_HELP);
    return 0;
  }
  for (const flag of ['interval-us', 'timeout']) {
    if (opts[flag] !== undefined) {
      throw new UsageError(`--${flag} is not available in Node: wprof-node has no sampler and cannot stop a running guest`);
    }
  }
  if (opts.mode !== undefined && opts.mode !== 'instrument') {
    throw new UsageError(
      opts.mode === 'sample'
        ? '--mode sample is not available in Node (no sampler); use `wprof run --mode sample`'
        : `invalid value '${opts.mode}' for '--mode': possible values: instrument`,
    );
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? 'the following required arguments were not provided: MODULE'
        : `unexpected argument '${positionals[1]}' (guest arguments go after \`--\`)`,
    );
  }
  const modulePath = positionals[0];
  const invokeName = /** @type {string | undefined} */ (opts.invoke);
  const args = /** @type {string[]} */ (opts.arg ?? []);
  if (invokeName === undefined && (opts.repeat !== undefined || args.length > 0)) {
    throw new UsageError('--arg and --repeat require --invoke');
  }
  const repeat = integer(/** @type {string | undefined} */ (opts.repeat), 'repeat', 1, Number.MAX_SAFE_INTEGER, 1);
  const maxContexts = integer(
    /** @type {string | undefined} */ (opts['max-contexts']),
    'max-contexts',
    16,
    MAX_CONTEXTS,
    0,
  );
  /** @type {Record<string, string>} */
  const env = {};
  for (const kv of /** @type {string[]} */ (opts.env ?? [])) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`invalid value '${kv}' for '--env': \`${kv}\` is not K=V`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  /** @type {[string, string][]} */
  const dirs = [];
  for (const d of /** @type {string[]} */ (opts.dir ?? [])) {
    const sep = d.indexOf('::');
    const [host, guest] = sep < 0 ? [d, d] : [d.slice(0, sep), d.slice(sep + 2)];
    if (!host || !guest) throw new UsageError(`invalid value '${d}' for '--dir': \`${d}\` is not HOST or HOST::GUEST`);
    dirs.push([host, guest]);
  }
  const out = /** @type {string | undefined} */ (opts.out) ?? 'wprof-out';

  for (const [host] of dirs) {
    if (!isDirectory(host)) throw new Error(`--dir \`${host}\` is not a directory`);
  }
  const { toolkit, wasm } = await loadModule(modulePath);
  /** @type {Record<string, import('../src/index.js').Directory>} */
  const preopens = {};
  for (const [host, guest] of dirs) preopens[guest] = loadDirectory(host);
  const wasi = new WASI({
    args: [basename(modulePath), ...(rest ?? [])],
    env,
    preopens,
    stdin: readStdin,
    stdout: (b) => writeOut(1, b),
    stderr: (b) => writeOut(2, b),
  });
  let result;
  try {
    result = profile(toolkit, {
      name: modulePath,
      module: wasm,
      wasi,
      invoke: invokeName === undefined ? undefined : { export: invokeName, args, repeat },
      maxContexts: maxContexts || undefined,
      peakRssBytes: () => process.resourceUsage().maxRSS * 1024,
    });
  } catch (e) {
    throw new Error(`cannot profile \`${modulePath}\``, { cause: e });
  } finally {
    for (const [host, guest] of dirs) saveDirectory(preopens[guest], host);
  }

  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new Error(`failed to create output directory \`${out}\``, { cause: e });
  }
  for (const [name, content] of result.files) {
    const path = join(out, name);
    try {
      writeFileSync(path, content);
    } catch (e) {
      throw new Error(`failed to create \`${path}\``, { cause: e });
    }
  }
  const { exit } = result;
  if (exit.kind === 'trap') console.error(`wprof-node: guest trapped: ${exit.message ?? ''}`);
  if (result.truncatedCalls > 0n) {
    console.error(
      `wprof-node: warning: ${result.truncatedCalls} calls did not fit in the calling-context tree ` +
        `(--max-contexts ${maxContexts || 'default'}); their stacks are cut at [truncated], per-function counts stay exact`,
    );
  }
  console.error(`wprof-node: profile written to ${out}/ (${[...result.files.keys()].join(', ')})`);
  if (exit.kind === 'trap') return EXIT_TRAP;
  const code = exit.code ?? EXIT_ERROR;
  return code >= 0 && code <= 255 ? code : EXIT_ERROR;
}

/** @param {string[]} argv @returns {Promise<number>} */
async function instrument(argv) {
  const { opts, positionals, rest } = parse(argv, {
    output: { short: 'o', value: true },
    'strip-dwarf': {},
    help: { short: 'h' },
  });
  if (opts.help) {
    console.log(INSTRUMENT_HELP);
    return 0;
  }
  if (rest !== null || positionals.length !== 1) {
    throw new UsageError('expected exactly one MODULE');
  }
  const output = /** @type {string | undefined} */ (opts.output);
  if (output === undefined) throw new UsageError('the following required arguments were not provided: --output <OUT.wasm>');
  const modulePath = positionals[0];
  const { toolkit, wasm } = await loadModule(modulePath);
  let artifact;
  try {
    artifact = toolkit.instrument(wasm, opts['strip-dwarf'] === true);
  } catch (e) {
    throw new Error(`cannot instrument \`${modulePath}\``, { cause: e });
  }
  try {
    writeFileSync(output, artifact);
  } catch (e) {
    throw new Error(`failed to write \`${output}\``, { cause: e });
  }
  console.error(`wprof-node: instrumented ${output} (${artifact.length} bytes, was ${wasm.length})`);
  return 0;
}

/** @param {string} path */
function isDirectory(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The guest's stdin: read from ours when it asks, a chunk at a time. */
function readStdin() {
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    try {
      const n = readSync(0, buf);
      return n === 0 ? null : buf.subarray(0, n);
    } catch (e) {
      const code = /** @type {NodeJS.ErrnoException} */ (e).code;
      // A non-blocking stdin (a TTY or pipe Node opened so) has nothing yet.
      if (code === 'EAGAIN') continue;
      if (code === 'EOF') return null;
      throw e;
    }
  }
}

/**
 * Writes the guest's output synchronously so it interleaves with ours as
 * natively; a closed pipe ends the output quietly.
 * @param {number} fd
 * @param {Uint8Array} bytes
 */
function writeOut(fd, bytes) {
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(fd, bytes, off);
    } catch (e) {
      const code = /** @type {NodeJS.ErrnoException} */ (e).code;
      if (code === 'EAGAIN') continue;
      if (code === 'EPIPE') return;
      throw e;
    }
  }
}

/** Prints `error: …` and the cause chain, like wprof. @param {unknown} e */
function printError(e) {
  /** @type {string[]} */
  const chain = [];
  for (let c = e; c !== undefined && c !== null; c = c instanceof Error ? c.cause : undefined) {
    chain.push(c instanceof Error ? c.message : String(c));
  }
  console.error(`error: ${chain[0]}`);
  if (chain.length > 1) {
    console.error('\nCaused by:');
    for (const c of chain.slice(1)) console.error(`    ${c}`);
  }
}

async function main() {
  const [command, ...argv] = process.argv.slice(2);
  try {
    switch (command) {
      case 'run':
        return await run(argv);
      case 'instrument':
        return await instrument(argv);
      case '-h':
      case '--help':
      case 'help':
        console.log(HELP);
        return 0;
      case undefined:
        throw new UsageError('a command is required: run or instrument');
      default:
        throw new UsageError(`unrecognized command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\n\nFor more information, try '--help'.`);
      return EXIT_USAGE;
    }
    printError(e);
    // Stacks are for reports of wprof-node bugs, never shown by default.
    if (process.env.WPROF_NODE_DEBUG && e instanceof Error) console.error(e.stack);
    return EXIT_ERROR;
  }
}

process.exitCode = await main();
