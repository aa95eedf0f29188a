#!/usr/bin/env node
// wprof-node: `wprof run` in Node, on the same instrumented artifact, the
// same probe runtime and the same run session (the wasm toolkit), with the
// project's WASI polyfill instead of wasmtime.
//
//   npx wprof-node run app.wasm -- args      → wprof-out/{flamegraph.svg,cpu.pb.gz,…}
//   npx wprof-node instrument app.wasm -o app.wprof.wasm
//   npx wprof-node collect wprof.profile --module app.self.wasm   (see `wprof collect`)
//
// The flags of `run`, their checks, messages, help sections and exit codes
// come from the session (`runFlags`, `runHelp`, `parseRunArgs`), the same
// definitions `wprof run` is built from; Node's `util.parseArgs` only splits
// the command line. stdout belongs to the guest; wprof-node's own messages
// go to stderr.

import { mkdirSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { WASI } from '@wprof/wasi';
import { loadDirectory, saveDirectory } from '@wprof/wasi/node';
import { artifactCache } from '../src/node/cache.js';
import { startSampler } from '../src/node/sampler.js';
import { loadNodeToolkit } from '../src/node/toolkit.js';
import { profile } from '../src/probe/index.js';

/** Exit codes before the toolkit (which has the table) is loaded. */
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;

/** A bad command line: exit 2 with the usage hint. */
class UsageError extends Error {}

/**
 * @typedef {object} Flag
 * @property {string} long
 * @property {string | null} short
 * @property {string | null} value
 * @property {boolean} multiple
 * @property {boolean} hyphen_values
 * @property {string | null} default
 * @property {string} help
 * @property {string | null} native_only
 */

const HELP = `wprof-node: profile WebAssembly modules in Node with wprof's probes.

Usage: wprof-node <COMMAND>

Commands:
  run         run a module and write its profile (see \`wprof-node run --help\`)
  instrument  write an instrumented copy of a module
  collect     write the output set for the profile a self-profiling artifact wrote

Options:
  -h, --help  Print help`;

const INSTRUMENT_HELP = `Write an instrumented copy of a module (the same bytes as \`wprof instrument\`).

Usage: wprof-node instrument [OPTIONS] <MODULE> --output <OUT.wasm>

Options:
  -o, --output <OUT.wasm>  Where to write the instrumented module
      --strip-dwarf        Drop DWARF debug sections instead of rewriting them
      --memory             Also hook allocators and \`memory.grow\`
      --embed              Link the profiler into the artifact (see \`wprof instrument --help\`);
                           with --memory it counts allocations per calling context
      --counts-only        With --embed: per-function counts in globals, for hosts without multi-memory
      --wasi               With --embed: import WASI even where the module imports none
      --dump-every <N>     With --embed: also write the profile every N export calls
      --max-contexts <N>   With --embed: calling contexts kept
  -h, --help               Print help`;

const COLLECT_HELP = `Write the output set for the profile a \`wprof instrument --embed\` artifact wrote
(the same files as \`wprof collect\`).

Usage: wprof-node collect [OPTIONS] --module <ARTIFACT.wasm> <PROFILE>

Options:
  -m, --module <ARTIFACT.wasm>  The artifact that wrote it
  -o, --out <DIR>               Output directory [default: wprof-out]
  -h, --help                    Print help`;

/**
 * `util.parseArgs` errors in clap's words, so both hosts read alike.
 * @param {unknown} e
 * @param {Flag[]} flags
 */
function usageFromParseArgs(e, flags) {
  const err = /** @type {{ code?: string, message: string }} */ (e);
  const flag = /'(-[^' ]*)/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return new UsageError(`unexpected argument '${flag}' found`);
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const f = flags.find((x) => flag === `--${x.long}` || flag === `-${x.short}`);
      return f?.value
        ? new UsageError(`a value is required for '--${f.long} <${f.value}>' but none was supplied`)
        : new UsageError(`unexpected value for '${flag}'`);
    }
    default:
      return new UsageError(err.message);
  }
}

/**
 * Splits `argv` by the session's flag table.
 * @param {string[]} argv
 * @param {Flag[]} flags
 */
function splitRunArgs(argv, flags) {
  /** @type {Record<string, { type: 'string' | 'boolean', short?: string, multiple?: boolean }>} */
  const options = { help: { type: 'boolean', short: 'h' } };
  for (const f of flags) {
    options[f.long] = { type: f.value ? 'string' : 'boolean', multiple: f.multiple };
    if (f.short) options[f.long].short = f.short;
  }
  // parseArgs refuses `--arg -5` as ambiguous; clap takes it for flags that
  // allow hyphen values, so join those pairs first.
  const hyphen = new Set(flags.filter((f) => f.hyphen_values).map((f) => `--${f.long}`));
  /** @type {string[]} */
  const args = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') {
      args.push(...argv.slice(i));
      break;
    }
    if (hyphen.has(argv[i]) && i + 1 < argv.length) {
      args.push(`${argv[i]}=${argv[++i]}`);
    } else {
      args.push(argv[i]);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (e) {
    throw usageFromParseArgs(e, flags);
  }
  const terminator = parsed.tokens?.find((t) => t.kind === 'option-terminator')?.index ?? Infinity;
  const before = (parsed.tokens ?? []).filter((t) => t.kind === 'positional' && t.index < terminator);
  const after = (parsed.tokens ?? []).filter((t) => t.kind === 'positional' && t.index > terminator);
  /** @type {Record<string, string[]>} */
  const values = {};
  for (const [k, v] of Object.entries(parsed.values)) {
    if (k === 'help' || v === undefined || v === false) continue;
    values[k] = (Array.isArray(v) ? v : [v]).map((x) => (x === true ? '' : String(x)));
  }
  return {
    help: parsed.values.help === true,
    positionals: before.map((t) => /** @type {{ value: string }} */ (t).value),
    guestArgs: after.map((t) => /** @type {{ value: string }} */ (t).value),
    values,
  };
}

/** @param {string[]} argv @returns {Promise<number>} */
async function run(argv) {
  const toolkit = await loadNodeToolkit();
  const split = splitRunArgs(argv, JSON.parse(toolkit.runFlags()));
  if (split.help) {
    console.log(toolkit.runHelp('wprof-node'));
    return 0;
  }
  if (split.positionals.length !== 1) {
    throw new UsageError(
      split.positionals.length === 0
        ? 'the following required arguments were not provided:\n  <MODULE>'
        : `unexpected argument '${split.positionals[1]}' found`,
    );
  }
  const modulePath = split.positionals[0];
  const parsed = JSON.parse(
    toolkit.parseRunArgs(JSON.stringify({ module: modulePath, guest_args: split.guestArgs, values: split.values })),
  );
  if (parsed.usage !== undefined) throw new UsageError(parsed.usage);
  /** @type {{ out: string, env: [string, string][], dirs: [string, string][], guest_args: string[] }} */
  const options = parsed.options;

  for (const [host] of options.dirs) {
    if (!isDirectory(host)) throw new Error(`--dir \`${host}\` is not a directory`);
  }
  let bytes;
  try {
    bytes = readFileSync(modulePath);
  } catch (e) {
    throw new Error(`failed to read module \`${modulePath}\``, { cause: e });
  }
  const debugFile = /** @type {{ debug_file: string | null }} */ (options).debug_file;
  let debug;
  if (debugFile) {
    try {
      debug = readFileSync(debugFile);
    } catch (e) {
      throw new Error(`failed to read --debug-file \`${debugFile}\``, { cause: e });
    }
  } else {
    // A module without DWARF may name where it is, relative to itself; one
    // that cannot be read costs the source locations, not the run.
    const named = toolkit.externalDebugInfo(bytes);
    if (named?.includes('://')) {
      process.stderr.write(`wprof-node: warning: the module's DWARF is at \`${named}\`; download it and pass --debug-file\n`);
    } else if (named) {
      const path = join(dirname(modulePath), named);
      try {
        debug = readFileSync(path);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        process.stderr.write(`wprof-node: warning: failed to read the module's external_debug_info \`${path}\`: ${why}; profiling without source locations\n`);
      }
    }
  }
  // Before any work: a run must never be lost to an unusable --out.
  const out = options.out;
  if (exists(out) && !isDirectory(out)) throw new Error(`--out \`${out}\` exists and is not a directory`);
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw new Error(`failed to create output directory \`${out}\``, { cause: e });
  }
  /** @type {Record<string, import('@wprof/wasi').Directory>} */
  const preopens = {};
  for (const [host, guest] of options.dirs) preopens[guest] = loadDirectory(host);
  const wasi = new WASI({
    args: [basename(modulePath), ...options.guest_args],
    env: Object.fromEntries(options.env),
    preopens,
    stdin: readStdin,
    stdout: (b) => writeOut(1, b),
    stderr: (b) => writeOut(2, b),
  });
  let result;
  try {
    result = profile(toolkit, {
      bytes,
      options,
      wasi,
      location: `${out}/`,
      sampler: startSampler,
      cache: /** @type {{ cache: boolean }} */ (options).cache ? artifactCache() : undefined,
      debug,
      // A reused directory never mixes runs: what an earlier run wrote goes.
      beforeRun: () => clearStale(out, toolkit.isOutputName),
      write: (name, content) => writeComplete(out, name, content),
      peakRssBytes: () => process.resourceUsage().maxRSS * 1024,
    });
  } catch (e) {
    throw new Error(`cannot profile \`${modulePath}\``, { cause: e });
  } finally {
    for (const [host, guest] of options.dirs) saveDirectory(preopens[guest], host);
  }
  writeOut(1, result.stdout);
  for (const line of result.messages) console.error(`wprof-node: ${line}`);
  return result.exitCode;
}

/**
 * Removes the outputs (and unfinished temporary files) of an earlier run.
 * @param {string} dir
 * @param {(name: string) => boolean} isOutput
 */
function clearStale(dir, isOutput) {
  for (const name of readdirSync(dir)) {
    const partial = /^\.(.*)\.partial$/.exec(name)?.[1];
    if (!isOutput(name) && !(partial && isOutput(partial))) continue;
    const path = join(dir, name);
    if (statSync(path).isFile()) rmSync(path);
  }
}

/** @param {string} path */
function exists(path) {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** @param {string[]} argv @returns {Promise<number>} */
async function instrument(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        output: { type: 'string', short: 'o' },
        'strip-dwarf': { type: 'boolean' },
        memory: { type: 'boolean' },
        embed: { type: 'boolean' },
        'counts-only': { type: 'boolean' },
        wasi: { type: 'boolean' },
        'dump-every': { type: 'string' },
        'max-contexts': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(/** @type {Error} */ (e).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(INSTRUMENT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one <MODULE>');
  if (values.output === undefined) {
    throw new UsageError('the following required arguments were not provided:\n  --output <OUT.wasm>');
  }
  const modulePath = positionals[0];
  const embedOnly = ['counts-only', 'wasi', 'dump-every', 'max-contexts'].find((f) => values[f] !== undefined);
  if (embedOnly && !values.embed) throw new UsageError(`the argument '--${embedOnly}' requires '--embed'`);
  if (values['counts-only'] && values.memory) throw new UsageError("the argument '--counts-only' cannot be used with '--memory'");
  /** @param {string} flag */
  const count = (flag) => {
    const v = values[flag];
    if (v === undefined) return null;
    if (!/^[1-9][0-9]*$/.test(String(v))) throw new UsageError(`invalid value '${v}' for '--${flag} <N>': a positive integer`);
    return Number(v);
  };
  const embed = values.embed
    ? JSON.stringify({ counts_only: values['counts-only'] === true, wasi: values.wasi === true, dump_every: count('dump-every'), max_contexts: count('max-contexts') })
    : undefined;
  const toolkit = await loadNodeToolkit();
  let bytes;
  try {
    bytes = readFileSync(modulePath);
  } catch (e) {
    throw new Error(`failed to read module \`${modulePath}\``, { cause: e });
  }
  let wasm;
  let artifact;
  try {
    wasm = toolkit.readModule(bytes, modulePath);
    artifact = toolkit.instrument(wasm, values['strip-dwarf'] === true, values.memory === true, embed);
  } catch (e) {
    throw new Error(`cannot instrument \`${modulePath}\``, { cause: e });
  }
  try {
    writeFileSync(values.output, artifact);
  } catch (e) {
    throw new Error(`failed to write \`${values.output}\``, { cause: e });
  }
  console.error(`wprof-node: instrumented ${values.output} (${artifact.length} bytes, was ${wasm.length})`);
  return 0;
}

/** @param {string[]} argv @returns {Promise<number>} */
async function collect(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        module: { type: 'string', short: 'm' },
        out: { type: 'string', short: 'o', default: 'wprof-out' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError(/** @type {Error} */ (e).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(COLLECT_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('expected exactly one <PROFILE>');
  if (values.module === undefined) {
    throw new UsageError('the following required arguments were not provided:\n  --module <ARTIFACT.wasm>');
  }
  const [profilePath] = positionals;
  const read = (/** @type {string} */ path, /** @type {string} */ what) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new Error(`failed to read ${what} \`${path}\``, { cause: e });
    }
  };
  const artifact = read(values.module, 'module');
  const profileBytes = read(profilePath, 'profile');
  const out = /** @type {string} */ (values.out);
  if (exists(out) && !isDirectory(out)) throw new Error(`--out \`${out}\` exists and is not a directory`);
  mkdirSync(out, { recursive: true });
  const toolkit = await loadNodeToolkit();
  clearStale(out, toolkit.isOutputName);
  let messages;
  try {
    messages = toolkit.collect(artifact, profileBytes, profilePath, values.module, (/** @type {string} */ name, /** @type {Uint8Array} */ content) => writeComplete(out, name, content), `${out}/`);
  } catch (e) {
    throw new Error(`cannot collect \`${profilePath}\``, { cause: e });
  }
  for (const line of messages) console.error(`wprof-node: ${line}`);
  return 0;
}

/**
 * A complete file under its real name: written, then renamed.
 * @param {string} dir @param {string} name @param {Uint8Array} content
 */
function writeComplete(dir, name, content) {
  const partial = join(dir, `.${name}.partial`);
  try {
    writeFileSync(partial, content);
    renameSync(partial, join(dir, name));
  } catch (e) {
    rmSync(partial, { force: true });
    throw e;
  }
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
      case 'collect':
        return await collect(argv);
      case '-h':
      case '--help':
      case 'help':
        console.log(HELP);
        return 0;
      case undefined:
        throw new UsageError('a command is required: run, instrument or collect');
      default:
        throw new UsageError(`unrecognized subcommand '${command}'`);
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
