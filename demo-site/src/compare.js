// "Compare with the server": the page's profile beside one written by
// `wprof run` (or any wprof host) for the same module — its summary.json, or
// its cpu.pb.gz summarised by the toolkit's pprof reader — and what differs —
// which functions gained or lost calls, and how each one's share of the
// sampled time moved. Calls are exact on every host, so any call
// difference is real; time shares differ by engine and machine.

/**
 * @typedef {{ name: string, calls: number | null, self_ns: number, total_ns: number }} Fn
 * @typedef {{ module?: string, functions: Fn[], cpu?: { sampled_ns?: number } }} Summary
 * @typedef {{ name: string, here: Fn | undefined, there: Fn | undefined, dCalls: number | null,
 *   shareHere: number | null, shareThere: number | null }} Row
 */

/**
 * Reads a summary file's text, or throws with what is wrong with it.
 * @param {string} text
 * @param {string} fileName
 * @returns {Summary}
 */
export function readSummary(text, fileName) {
  let data;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${fileName} is not JSON or pprof: load the summary.json or cpu.pb.gz a wprof run wrote`);
  }
  if (!data || !Array.isArray(data.functions) || data.functions.some((/** @type {any} */ f) => typeof f?.name !== 'string')) {
    throw new Error(`${fileName} is not a wprof summary (it has no \`functions\` list)`);
  }
  return data;
}

/** @param {Summary} s @param {Fn | undefined} f */
function share(s, f) {
  const total = s.cpu?.sampled_ns ?? 0;
  return f && total > 0 ? f.self_ns / total : null;
}

/**
 * The rows of the differential view, most different first.
 * @param {Summary} here the page's run
 * @param {Summary} there the loaded one
 * @returns {Row[]}
 */
export function compare(here, there) {
  const a = new Map(here.functions.map((f) => [f.name, f]));
  const b = new Map(there.functions.map((f) => [f.name, f]));
  /** @type {Row[]} */
  const rows = [...new Set([...a.keys(), ...b.keys()])].map((name) => {
    const h = a.get(name);
    const t = b.get(name);
    const dCalls = h?.calls == null && t?.calls == null ? null : (h?.calls ?? 0) - (t?.calls ?? 0);
    return { name, here: h, there: t, dCalls, shareHere: share(here, h), shareThere: share(there, t) };
  });
  const dShare = (/** @type {Row} */ r) => Math.abs((r.shareHere ?? 0) - (r.shareThere ?? 0));
  return rows.sort((x, y) => Math.abs(y.dCalls ?? 0) - Math.abs(x.dCalls ?? 0) || dShare(y) - dShare(x) || x.name.localeCompare(y.name));
}

/**
 * One line on how the two profiles relate.
 * @param {Row[]} rows
 * @param {Summary} here
 * @param {Summary} there
 */
export function verdict(rows, here, there) {
  const both = rows.filter((r) => r.here && r.there).length;
  const differ = rows.filter((r) => r.dCalls !== null && r.dCalls !== 0).length;
  // Counted functions only: a time-only frame (a host call such as
  // fd_write) is in a profile only when a sample happened to land in it.
  const onlyHere = rows.filter((r) => !r.there && r.here?.calls != null).length;
  const onlyThere = rows.filter((r) => !r.here && r.there?.calls != null).length;
  const base = (/** @type {string | undefined} */ m) => (m ?? '').split(/[\\/]/).pop();
  const other = base(there.module) && base(there.module) !== base(here.module) ? ` Note: it profiles ${base(there.module)}, this run ${base(here.module)}.` : '';
  return `${both} functions in both, ${differ} with different call counts, ${onlyHere} only here, ${onlyThere} only in the loaded profile.${other}`;
}
