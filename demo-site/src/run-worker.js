// The demo's run worker: loads the wasm toolkit once, then profiles each
// module the page sends (check + instrument, compile, run, write the files)
// with @wprof/profiler and @wprof/wasi. Everything that takes time or can
// take long happens here, so the page never freezes and modules of any size
// compile (a page's main thread refuses synchronous compiles over 8 MB).
// The page stops a run by terminating this worker: running wasm cannot be
// interrupted from inside.

import { WASI } from './vendor/wasi/src/index.js';
import { loadToolkit, profile } from './vendor/profiler/src/index.js';
import { createSampler, samplingUnavailable } from './vendor/profiler/src/browser/sampler.js';
import { outputRoles } from './outputs.js';

/** @typedef {import('./protocol.js').WorkerMessage} WorkerMessage */

/** The worker's global scope, typed without the webworker lib (which clashes with dom). */
const scope = /** @type {{ onmessage: ((e: MessageEvent) => void) | null, postMessage(m: unknown, transfer?: Transferable[]): void }} */ (
  /** @type {unknown} */ (globalThis)
);

/** @param {WorkerMessage} message @param {Transferable[]} [transfer] */
const post = (message, transfer) => scope.postMessage(message, transfer);

post({ type: 'progress', stage: 'loading the wasm toolkit' });
const toolkit = loadToolkit();
toolkit.then(
  () => post({ type: 'ready' }),
  (/** @type {unknown} */ e) => post({ type: 'error', message: `could not load the wasm toolkit: ${e instanceof Error ? e.message : e}` }),
);

scope.onmessage = async (/** @type {MessageEvent} */ e) => {
  /** @type {import('./protocol.js').PageMessage} */
  const request = e.data;
  if (request.type !== 'run' && request.type !== 'collect') return answer(await toolkit, request);
  try {
    if (request.type === 'collect') collect(await toolkit, request);
    else await run(await toolkit, request);
  } catch (err) {
    // wprof's errors (not wasm, an unsupported import, a bad flag) are a
    // ProbeError with the message `wprof run` prints; anything else is ours.
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};

/**
 * Answers a question with the toolkit's JSON, or the message of what it threw.
 * @param {import('./vendor/profiler/src/probe/toolkit.js').Toolkit} toolkit
 * @param {import('./protocol.js').Question} q
 */
function answer(toolkit, q) {
  try {
    const json =
      q.type === 'heap-diff'
        ? toolkit.heapDiff(q.dumps.map((d) => d.bytes), q.dumps.map((d) => d.name))
        : toolkit.pprofSummary(q.bytes, q.name);
    post({ type: 'answer', id: q.id, json });
  } catch (err) {
    post({ type: 'answer', id: q.id, error: err instanceof Error ? err.message : String(err) });
  }
}

/**
 * @param {import('./vendor/profiler/src/probe/toolkit.js').Toolkit} toolkit
 * @param {import('./protocol.js').RunRequest} request
 */
async function run(toolkit, request) {
  // The same checks and messages as `wprof run --env K=V --memory m.wasm -- args`.
  /** @type {Record<string, string[]>} */
  const values = { env: request.env };
  if (request.memory) values.memory = [''];
  const parsed = JSON.parse(toolkit.parseRunArgs(JSON.stringify({ module: request.name, guest_args: request.args, values })));
  if (parsed.usage) throw new Error(parsed.usage);
  /** @type {{ guest_args: string[], env: [string, string][] }} */
  const options = parsed.options;

  const noSampling = samplingUnavailable();
  const sampler = noSampling ? undefined : await createSampler();

  const wasi = new WASI({
    args: [request.name, ...options.guest_args],
    env: Object.fromEntries(options.env),
    stdin: request.stdin,
    // Copied: the polyfill may reuse its buffer once the callback returns.
    stdout: (bytes) => post({ type: 'output', stream: 'stdout', bytes: bytes.slice() }),
    stderr: (bytes) => post({ type: 'output', stream: 'stderr', bytes: bytes.slice() }),
  });
  /** @type {[string, Uint8Array][]} */
  const files = [];
  post({ type: 'progress', stage: request.memory ? 'checking and instrumenting (with memory probes)' : 'checking and instrumenting' });
  const started = performance.now();
  let result;
  try {
    result = profile(toolkit, {
      bytes: request.bytes,
      debug: request.debug,
      options,
      wasi,
      sampler,
      location: './',
      beforeRun: () => post({ type: 'progress', stage: 'compiling and running' }),
      write: (name, bytes) => {
        if (files.length === 0) post({ type: 'progress', stage: 'writing the profile' });
        files.push([name, bytes]);
      },
    });
  } finally {
    // A module that failed its checks never started the sampler's run.
    sampler?.close();
  }
  const ms = performance.now() - started;
  // An invoked export's results follow the guest's output, as in the CLIs.
  if (result.stdout.length > 0) post({ type: 'output', stream: 'stdout', bytes: result.stdout });
  post(
    {
      type: 'done',
      result: { exit: result.exit, exitCode: result.exitCode, files, messages: result.messages, noSampling, ms },
    },
    [...new Set(files.map(([, bytes]) => /** @type {ArrayBuffer} */ (bytes.buffer)))],
  );
}

/**
 * `wprof collect` in the page: the same session code reads the profile.
 * @param {import('./vendor/profiler/src/probe/toolkit.js').Toolkit} toolkit
 * @param {import('./protocol.js').CollectRequest} request
 */
function collect(toolkit, request) {
  post({ type: 'progress', stage: 'reading the profile' });
  const started = performance.now();
  /** @type {[string, Uint8Array][]} */
  const files = [];
  const messages = toolkit.collect(request.bytes, request.profile, request.profileName, request.name, (name, bytes) => {
    files.push([name, bytes]);
  }, './');
  const { summary } = outputRoles(files);
  const exit = summary ? JSON.parse(new TextDecoder().decode(summary[1])).exit : { kind: 'exit', code: null, message: null };
  post(
    {
      type: 'done',
      result: {
        exit,
        exitCode: 0,
        files,
        messages,
        noSampling: 'the profile was written by a self-profiling artifact, which counts calls and times its exports but measures no CPU time',
        ms: performance.now() - started,
      },
    },
    [...new Set(files.map(([, bytes]) => /** @type {ArrayBuffer} */ (bytes.buffer)))],
  );
}
