// The heap-dump diff in the memory view: which allocation sites grew
// between `.wheap` dumps — this run's (`heap-exit.wheap`, and
// `heap-NNN.wheap` at dump points) and any the user loads (a previous run's
// downloads, or `wprof run --memory`'s). The diff is the toolkit's
// `heapDiff`, the code behind `wprof heap diff`, asked of the run worker; this
// module only keeps the list of dumps and renders the answer, in the CLI's
// ranking.

import { bytes, count, factNodes, signedBytes } from './format.js';

/**
 * `wprof heap diff --json`'s output (toolkit/profile heap/report.rs `Diff`).
 * @typedef {{ stack: string, layer: string, new_live_bytes: number, new_live: number, live_delta_bytes: number,
 *   allocs: number, frees: number, live_bytes: number[], monotonic: boolean, suspect: boolean }} SiteDiff
 * @typedef {{ memory_bytes: number[], live_bytes: number[], gc_heap_bytes: number[], sites: SiteDiff[],
 *   alarm: string | null }} Diff
 * @typedef {{ dumps: { name: string, reason: string, seq: number, module: string }[], diff: Diff, text: string }} Answer
 * @typedef {{ name: string, bytes: Uint8Array, run: boolean, on: boolean }} Dump
 */

/** @type {import('./protocol.js').Ask} */
let ask = () => Promise.reject(new Error('the heap diff is not set up'));
/** This run's dumps, then the loaded ones. @type {Dump[]} */
let dumps = [];
/** Answers to older questions are dropped. */
let generation = 0;

/** @param {string} id */
function el(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e;
}

/**
 * Wires the dump file input; `ask` reaches the run worker.
 * @param {import('./protocol.js').Ask} askWorker
 */
export function setupHeapDiff(askWorker) {
  ask = askWorker;
  const input = /** @type {HTMLInputElement} */ (el('heap-files'));
  input.addEventListener('change', async () => {
    const files = [...(input.files ?? [])];
    // Loading the same file again must fire again.
    input.value = '';
    for (const file of files) dumps.push({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()), run: false, on: true });
    update();
  });
  el('heap-clear').addEventListener('click', () => {
    dumps = dumps.filter((d) => d.run);
    update();
  });
}

/**
 * Takes the shown run's dumps (replacing the last run's; loaded ones stay).
 * @param {[string, Uint8Array][]} files
 */
export function showRunDumps(files) {
  dumps = [...files.map(([name, data]) => ({ name: `this run's ${name}`, bytes: data, run: true, on: true })), ...dumps.filter((d) => !d.run)];
  update();
}

function update() {
  const list = el('heap-dumps');
  list.replaceChildren(
    ...dumps.map((d) => {
      const li = document.createElement('li');
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = d.on;
      box.addEventListener('change', () => {
        d.on = box.checked;
        update();
      });
      label.append(box, ` ${d.name} (${bytes(d.bytes.byteLength)})`);
      li.append(label);
      return li;
    }),
  );
  const chosen = dumps.filter((d) => d.on);
  const question = ++generation;
  if (chosen.length < 2) {
    render(null, dumps.length === 0 ? '' : 'Load another dump (.wheap) of the same module, or tick two: the diff needs two or more.');
    return;
  }
  el('heap-diff-status').textContent = 'Comparing…';
  // Copies: the page keeps its dumps for the downloads and later diffs.
  const copies = chosen.map((d) => ({ name: d.name, bytes: d.bytes.slice() }));
  ask((id) => ({ type: 'heap-diff', id, dumps: copies }), copies.map((c) => c.bytes.buffer)).then(
    (json) => question === generation && render(/** @type {Answer} */ (JSON.parse(json)), null),
    (/** @type {Error} */ e) => question === generation && render(null, `error: ${e.message}`),
  );
}

/**
 * @param {Answer | null} answer
 * @param {string | null} message shown instead of a diff
 */
function render(answer, message) {
  const status = el('heap-diff-status');
  const table = el('heap-diff');
  const details = el('heap-diff-details');
  const alarm = el('heap-diff-alarm');
  status.className = message?.startsWith('error:') ? 'error' : '';
  table.hidden = details.hidden = !answer;
  alarm.hidden = !answer?.diff.alarm;
  if (!answer) {
    status.textContent = message ?? '';
    el('heap-diff-facts').replaceChildren();
    return;
  }
  const { diff } = answer;
  status.textContent = `Oldest first: ${answer.dumps.map((d) => `${d.name} (${d.reason}, event ${count(d.seq)})`).join(' → ')}.`;
  alarm.textContent = diff.alarm ? `Untracked growth: ${diff.alarm}` : '';
  /** @param {number[]} v */
  const row = (v) => `${v.map(bytes).join(' → ')} (${signedBytes(v[v.length - 1] - v[0])})`;
  /** @type {[string, string][]} */
  const facts = [
    ['linear memory', row(diff.memory_bytes)],
    ['tracked live', row(diff.live_bytes)],
  ];
  if (diff.gc_heap_bytes.some((b) => b > 0)) facts.push(['gc heap', row(diff.gc_heap_bytes)]);
  el('heap-diff-facts').replaceChildren(...factNodes(/** @type {[string, string][]} */ (facts)));
  const body = /** @type {HTMLElement} */ (table.querySelector('tbody'));
  body.replaceChildren(
    ...diff.sites.slice(0, 200).map((s, i) => {
      const tr = document.createElement('tr');
      const freed = s.allocs === 0 ? '—' : `${Math.round((100 * s.frees) / s.allocs)}%`;
      const note = [s.suspect ? 'suspect' : '', s.monotonic ? 'grew at every dump' : ''].filter(Boolean).join(', ');
      for (const text of [String(i + 1), s.stack, s.layer, bytes(s.new_live_bytes), count(s.new_live), signedBytes(s.live_delta_bytes),
        count(s.allocs), freed, note]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      if (s.suspect) tr.className = 'suspect';
      return tr;
    }),
  );
  el('heap-diff-text').textContent = answer.text;
}
