// Renders one run's result into the page: exit, the flamegraph (inferno's
// own SVG in an iframe, so its search and zoom script runs), the top table
// sortable by self time, total time and calls (from the summary), the
// memory view with memory profiling, and a download link per output file
// under the name `wprof run` gives it.

import { compare, readSummary, verdict } from './compare.js';
import { bytes, count, factNodes, ms } from './format.js';
import { showRunDumps } from './heap-diff.js';
import { outputRoles } from './outputs.js';

/**
 * The summary fields the page reads (documented in the README's `summary.json` table).
 * @typedef {{ name: string, calls: number | null, self_ns: number, total_ns: number, self_samples: number, file?: string, line?: number }} FunctionRow
 * @typedef {{ functions: FunctionRow[], cpu: { samples: number, sampled_ns: number }, wall_ns: number,
 *   memory?: MemorySummary }} Summary
 * @typedef {{ allocations: number, frees: number, allocated_bytes: number, live_bytes: number, peak_live_bytes: number,
 *   linear_memory_bytes: number, peak_memory_bytes: number, grows: number, untracked_growth_bytes: number,
 *   alarm?: string | null, gc?: { cycles: number, pauses: number, total_ns: number, max_pause_ns: number,
 *   p50_pause_ns: number, p99_pause_ns: number } | null,
 *   top_sites: { stack: string, layer: string, allocs: number, frees: number, live: number, live_bytes: number }[] }} MemorySummary
 */

/** Blob URLs of the shown run, released when the next one is shown. @type {string[]} */
let urls = [];

/** @param {Uint8Array} bytes @param {string} type */
function blobUrl(bytes, type) {
  const url = URL.createObjectURL(new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)], { type }));
  urls.push(url);
  return url;
}

/** @param {string} id */
function el(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`the page has no #${id}`);
  return e;
}


/** The sort of the top table, kept across runs. @type {'calls' | 'self' | 'total' | null} */
let sortBy = null;
/** @type {Summary | null} */
let shown = null;

/**
 * @param {import('./protocol.js').RunResult} result
 */
export function showResult(result) {
  for (const url of urls) URL.revokeObjectURL(url);
  urls = [];
  const { summary: summaryFile, flamegraph, memory, dumps } = outputRoles(result.files);
  /** @type {Summary | null} */
  const summary = summaryFile ? JSON.parse(new TextDecoder().decode(summaryFile[1])) : null;
  shown = summary;

  const { exit } = result;
  el('exit').textContent =
    exit.kind !== 'exit'
      ? `The guest ended with a ${exit.kind}: ${exit.message ?? ''}`
      : exit.code === null
        ? `Profile ${exit.message ?? ''}.` // collected: how the guest ended is not known here
        : `The guest exited with code ${exit.code} (profiled in ${result.ms.toFixed(0)} ms).`;
  el('exit').dataset.kind = exit.kind;

  const note = el('time-note');
  const sampled = (summary?.cpu.samples ?? 0) > 0;
  note.hidden = sampled;
  note.textContent = result.noSampling
    ? `CPU time was not measured: ${result.noSampling}. The flamegraph and the table are by exact call counts.`
    : 'The run was too short for a single CPU sample: the flamegraph and the table are by exact call counts.';

  const frame = /** @type {HTMLIFrameElement} */ (el('flamegraph'));
  frame.src = flamegraph ? blobUrl(flamegraph[1], 'image/svg+xml') : 'about:blank';

  sortBy = sortBy ?? (sampled ? 'self' : 'calls');
  renderTop();
  renderMemory(summary?.memory, memory);
  showRunDumps(dumps);

  const list = el('downloads');
  list.replaceChildren(
    ...result.files.map(([name, data]) => {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.download = name;
      a.href = blobUrl(data, 'application/octet-stream');
      a.textContent = name;
      li.append(a, ` (${bytes(data.byteLength)})`);
      return li;
    }),
  );
  el('messages').textContent = result.messages.join('\n');
  el('compare-status').textContent = '';
  el('compare').hidden = true;
  el('results').hidden = false;
}

/** Sorts the top table by `key` (the column buttons). @param {'calls' | 'self' | 'total'} key */
export function sortTop(key) {
  sortBy = key;
  renderTop();
}

function renderTop() {
  for (const b of document.querySelectorAll('#top th button')) {
    if (/** @type {HTMLElement} */ (b).dataset.sort === sortBy) b.setAttribute('aria-sort', 'descending');
    else b.removeAttribute('aria-sort');
  }
  const body = /** @type {HTMLElement} */ (document.querySelector('#top tbody'));
  if (!shown) return void body.replaceChildren();
  const timed = shown.cpu.samples > 0;
  /** @type {(f: FunctionRow) => number} */
  const key = sortBy === 'calls' ? (f) => f.calls ?? -1 : sortBy === 'total' ? (f) => f.total_ns : (f) => f.self_ns;
  const rows = [...shown.functions].sort((a, b) => key(b) - key(a) || a.name.localeCompare(b.name)).slice(0, 200);
  const wall = shown.cpu.sampled_ns || 1;
  body.replaceChildren(
    ...rows.map((f) => {
      const tr = document.createElement('tr');
      const cells = [
        f.name,
        // Where DWARF says the function is declared: the file's last part.
        f.file ? `${f.file.split('/').pop()}:${f.line}` : '',
        f.calls === null ? '—' : count(f.calls),
        timed ? `${ms(f.self_ns)} (${((100 * f.self_ns) / wall).toFixed(1)}%)` : '—',
        timed ? `${ms(f.total_ns)} (${((100 * f.total_ns) / wall).toFixed(1)}%)` : '—',
      ];
      for (const text of cells) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

/**
 * @param {MemorySummary | undefined} m
 * @param {[string, Uint8Array][]} svgs live bytes at exit, at the peak
 */
function renderMemory(m, svgs) {
  const view = el('memory-view');
  view.hidden = !m;
  if (!m) return;
  const alarm = el('alarm');
  alarm.hidden = !m.alarm;
  alarm.textContent = m.alarm ? `Untracked growth: ${m.alarm}` : '';
  /** @type {[string, string][]} */
  const facts = [
    ['allocations', `${count(m.allocations)} (${bytes(m.allocated_bytes)})`],
    ['frees', count(m.frees)],
    ['live at exit', bytes(m.live_bytes)],
    ['peak live', bytes(m.peak_live_bytes)],
    ['linear memory', `${bytes(m.linear_memory_bytes)} (peak ${bytes(m.peak_memory_bytes)}, ${count(m.grows)} grows)`],
    ['untracked growth', bytes(m.untracked_growth_bytes)],
  ];
  if (m.gc) {
    facts.push(['GC', `${count(m.gc.cycles)} cycles, ${count(m.gc.pauses)} pauses, ${ms(m.gc.total_ns)} in total`]);
    facts.push(['GC pauses', `p50 ${ms(m.gc.p50_pause_ns)}, p99 ${ms(m.gc.p99_pause_ns)}, max ${ms(m.gc.max_pause_ns)}`]);
  }
  el('memory-facts').replaceChildren(...factNodes(/** @type {[string, string][]} */ (facts)));
  const body = /** @type {HTMLElement} */ (document.querySelector('#sites tbody'));
  body.replaceChildren(
    ...m.top_sites.map((s) => {
      const tr = document.createElement('tr');
      for (const text of [s.stack, s.layer, count(s.allocs), count(s.frees), count(s.live), bytes(s.live_bytes)]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
  const frame = /** @type {HTMLIFrameElement} */ (el('memory-flamegraph'));
  frame.src = svgs[0] ? blobUrl(svgs[0][1], 'image/svg+xml') : 'about:blank';
}

/**
 * Shows the differential view against a loaded `summary.json`, or a
 * `cpu.pb.gz` (pprof, gzipped or not) whose summary the toolkit makes.
 * @param {File} file
 * @param {import('./protocol.js').Ask} ask
 */
export async function compareWith(file, ask) {
  const status = el('compare-status');
  const table = el('compare');
  if (!shown) return;
  status.className = '';
  status.textContent = `Reading ${file.name}…`;
  let there;
  try {
    const data = new Uint8Array(await file.arrayBuffer());
    const pprof = (data[0] === 0x1f && data[1] === 0x8b) || /\.(pb|pprof)$/.test(file.name);
    const text = pprof
      ? await ask((id) => ({ type: 'pprof-summary', id, name: file.name, bytes: data }), [data.buffer])
      : new TextDecoder().decode(data);
    there = readSummary(text, file.name);
  } catch (e) {
    table.hidden = true;
    status.className = 'error';
    status.textContent = `error: ${e instanceof Error ? e.message : e}`;
    return;
  }
  const rows = compare(shown, there);
  status.className = '';
  status.textContent = verdict(rows, shown, there);
  const pct = (/** @type {number | null} */ x) => (x === null ? '—' : `${(100 * x).toFixed(1)}%`);
  const num = (/** @type {number | null | undefined} */ x) => (x == null ? '—' : count(x));
  const body = /** @type {HTMLElement} */ (table.querySelector('tbody'));
  body.replaceChildren(
    ...rows.slice(0, 200).map((r) => {
      const tr = document.createElement('tr');
      const delta = r.dCalls === null ? '—' : r.dCalls > 0 ? `+${count(r.dCalls)}` : r.dCalls < 0 ? `−${count(-r.dCalls)}` : '0';
      for (const text of [r.name, num(r.here?.calls), num(r.there?.calls), delta, pct(r.shareHere), pct(r.shareThere)]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      if (r.dCalls) tr.className = 'changed';
      return tr;
    }),
  );
  table.hidden = false;
}
