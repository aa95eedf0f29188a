// The demo page's main thread: the form, the run worker's lifecycle
// (Run, Stop = terminate and start a fresh worker) and the progress and
// output it reports. Profiling itself happens in run-worker.js; rendering
// results in results.js.

import { setupHeapDiff } from './heap-diff.js';
import { compareWith, showResult, sortTop } from './results.js';

/** @param {string} id */
function el(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e;
}

const form = /** @type {HTMLFormElement} */ (el('run-form'));
const fileInput = /** @type {HTMLInputElement} */ (el('file'));
const exampleSelect = /** @type {HTMLSelectElement} */ (el('example'));
const runButton = /** @type {HTMLButtonElement} */ (el('run'));
const stopButton = /** @type {HTMLButtonElement} */ (el('stop'));
const collectButton = /** @type {HTMLButtonElement} */ (el('collect'));
const collectInput = /** @type {HTMLInputElement} */ (el('collect-file'));
const memoryBox = /** @type {HTMLInputElement} */ (el('memory'));
const status = el('status');
const errorBox = el('error');

if (!globalThis.crossOriginIsolated) {
  const notice = el('isolation');
  notice.hidden = false;
  notice.textContent =
    'This page is not cross-origin isolated (it was served without the COOP/COEP headers), so it has no shared ' +
    'memory for the CPU sampler: runs report exact call counts, and the flamegraph is drawn by calls. ' +
    '`npm run demo` serves it with the headers.';
}

/** The module to run. @type {{ name: string, bytes: Uint8Array } | null} */
let chosen = null;
/** @type {{ file: string, title: string, about: string, args?: string[], memory?: boolean }[]} */
let examples = [];
/** @type {Worker} */
let worker;
let ready = false;
let running = false;
let startedAt = 0;
/** @type {Record<'stdout' | 'stderr', TextDecoder>} */
let decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };

/** @param {string} text */
function setStatus(text) {
  status.textContent = text;
}

/** @param {string | null} message */
function showError(message) {
  errorBox.hidden = message === null;
  errorBox.textContent = message ? `error: ${message}` : '';
}

function updateButtons() {
  runButton.disabled = !ready || running || chosen === null;
  stopButton.disabled = !running;
  collectButton.disabled = !ready || running || chosen === null || !collectInput.files?.length;
}

/** Questions awaiting the worker's answer, by id. @type {Map<number, { resolve(json: string): void, reject(e: Error): void }>} */
const pending = new Map();
let lastQuestion = 0;

/** @type {import('./protocol.js').Ask} */
function ask(question, transfer = []) {
  const id = ++lastQuestion;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage(question(id), transfer);
  });
}

function startWorker() {
  for (const { reject } of pending.values()) reject(new Error('the worker was restarted: try again'));
  pending.clear();
  ready = false;
  worker = new Worker('run-worker.js', { type: 'module', name: 'wprof-run' });
  worker.onmessage = (e) => onWorkerMessage(/** @type {import('./protocol.js').WorkerMessage} */ (e.data));
  worker.onerror = (e) => {
    e.preventDefault();
    finish(`the run worker failed: ${e.message || 'unknown error (see the console)'}`);
  };
  updateButtons();
}

/** @param {string | null} error */
function finish(error) {
  running = false;
  if (error !== null) {
    showError(error);
    setStatus('Failed.');
  }
  updateButtons();
}

/** @param {import('./protocol.js').WorkerMessage} m */
function onWorkerMessage(m) {
  switch (m.type) {
    case 'ready':
      ready = true;
      if (!running) setStatus(chosen ? 'Ready.' : 'Ready: pick an example or choose a module.');
      break;
    case 'progress':
      setStatus(`${m.stage[0].toUpperCase()}${m.stage.slice(1)}…${running ? ` (${((performance.now() - startedAt) / 1000).toFixed(1)} s)` : ''}`);
      break;
    case 'output':
      el(m.stream).textContent += decoders[m.stream].decode(m.bytes, { stream: true });
      break;
    case 'done':
      showResult(m.result);
      setStatus(`Done in ${((performance.now() - startedAt) / 1000).toFixed(2)} s.`);
      finish(null);
      break;
    case 'error':
      finish(m.message);
      break;
    case 'answer': {
      const waiting = pending.get(m.id);
      pending.delete(m.id);
      if (m.error !== undefined) waiting?.reject(new Error(m.error));
      else waiting?.resolve(m.json ?? '');
      return;
    }
  }
  updateButtons();
}

/** @param {string} name @param {Uint8Array} bytes */
function choose(name, bytes) {
  chosen = { name, bytes };
  el('module-name').textContent = `${name} (${bytes.byteLength.toLocaleString('en-US')} bytes)`;
  showError(null);
  if (ready && !running) setStatus('Ready.');
  updateButtons();
}

fileInput.addEventListener('change', async () => {
  const file = fileInput.files?.[0];
  if (!file) return;
  exampleSelect.value = '';
  el('example-about').textContent = '';
  if (file.size === 0) {
    chosen = null;
    updateButtons();
    return showError(`${file.name} is empty: choose a WebAssembly module (.wasm) or its text (.wat)`);
  }
  choose(file.name, new Uint8Array(await file.arrayBuffer()));
});

const drop = el('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (!e.dataTransfer?.files.length) return;
  // The one file input takes dropped files too, so both paths are the same.
  fileInput.files = e.dataTransfer.files;
  fileInput.dispatchEvent(new Event('change'));
});

exampleSelect.addEventListener('change', async () => {
  const example = examples.find((x) => x.file === exampleSelect.value);
  if (!example) return;
  el('example-about').textContent = example.about;
  fileInput.value = '';
  memoryBox.checked = example.memory ?? false;
  /** @type {HTMLTextAreaElement} */ (el('args')).value = (example.args ?? []).join('\n');
  try {
    const response = await fetch(`examples/${example.file}`);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    choose(example.file, new Uint8Array(await response.arrayBuffer()));
  } catch (e) {
    showError(`could not load example ${example.file}: ${e instanceof Error ? e.message : e}`);
  }
});

/** Non-empty lines of a text field. @param {string} id */
const lines = (id) =>
  /** @type {HTMLTextAreaElement} */ (el(id)).value.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  if (!chosen || !ready || running) return;
  running = true;
  startedAt = performance.now();
  showError(null);
  el('stdout').textContent = '';
  el('stderr').textContent = '';
  decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  /** @type {import('./protocol.js').RunRequest} */
  const request = {
    type: 'run',
    name: chosen.name,
    bytes: chosen.bytes.slice(),
    args: lines('args'),
    env: lines('env'),
    stdin: /** @type {HTMLTextAreaElement} */ (el('stdin')).value,
    memory: memoryBox.checked,
  };
  const debugFile = /** @type {HTMLInputElement} */ (el('debug-file')).files?.[0];
  if (debugFile) request.debug = new Uint8Array(await debugFile.arrayBuffer());
  worker.postMessage(request, [request.bytes.buffer, ...(request.debug ? [request.debug.buffer] : [])]);
  setStatus('Starting…');
  updateButtons();
});

collectInput.addEventListener('change', updateButtons);
collectButton.addEventListener('click', async () => {
  const file = collectInput.files?.[0];
  if (!chosen || !file || !ready || running) return;
  running = true;
  startedAt = performance.now();
  showError(null);
  el('stdout').textContent = '';
  el('stderr').textContent = '';
  /** @type {import('./protocol.js').CollectRequest} */
  const request = {
    type: 'collect',
    name: chosen.name,
    bytes: chosen.bytes.slice(),
    profileName: file.name,
    profile: new Uint8Array(await file.arrayBuffer()),
  };
  worker.postMessage(request, [request.bytes.buffer, request.profile.buffer]);
  setStatus('Starting…');
  updateButtons();
});

stopButton.addEventListener('click', () => {
  // Running wasm cannot be interrupted from inside its thread.
  worker.terminate();
  running = false;
  setStatus('Stopped: the run was cancelled and its profile discarded.');
  startWorker();
});

for (const button of document.querySelectorAll('#top th button')) {
  button.addEventListener('click', () => sortTop(/** @type {'calls' | 'self' | 'total'} */ (/** @type {HTMLElement} */ (button).dataset.sort)));
}

const compareInput = /** @type {HTMLInputElement} */ (el('compare-file'));
compareInput.addEventListener('change', () => {
  const file = compareInput.files?.[0];
  if (file) compareWith(file, ask);
  // Loading the same file again (after another run) must fire again.
  compareInput.value = '';
});

setupHeapDiff(ask);
startWorker();
fetch('examples/index.json')
  .then((r) => (r.ok ? r.json() : []))
  .then((list) => {
    examples = list;
    for (const x of examples) exampleSelect.append(new Option(x.title, x.file));
  })
  .catch(() => showError('could not load the list of examples'));
