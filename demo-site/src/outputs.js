// Which of a run's files the page shows where. The names are the run
// session's (the one table every host writes from, toolkit/session
// outputs.rs), so they are not repeated here: the summary is the run's one
// JSON file, the CPU flamegraph the first SVG written, the memory
// flamegraphs (with memory profiling) the SVGs after it — the table's order;
// heap dumps are the `.wheap` files (`heap-NNN.wheap` at dump points, then
// `heap-exit.wheap`).

/**
 * @param {[string, Uint8Array][]} files in the order written
 * @returns {{ summary?: [string, Uint8Array], flamegraph?: [string, Uint8Array], memory: [string, Uint8Array][],
 *   dumps: [string, Uint8Array][] }}
 */
export function outputRoles(files) {
  const svgs = files.filter(([name]) => name.endsWith('.svg'));
  return {
    summary: files.find(([name]) => name.endsWith('.json')),
    flamegraph: svgs[0],
    memory: svgs.slice(1),
    dumps: files.filter(([name]) => name.endsWith('.wheap')),
  };
}
