// Numbers as the page shows them, and lists of facts.

/** `[name, value]` pairs as the `<dt>`/`<dd>` children of a `<dl>`. @param {[string, string][]} facts */
export const factNodes = (facts) =>
  facts.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = v;
    return [dt, dd];
  });

/** @param {number} n */
export const count = (n) => n.toLocaleString('en-US');

/** A duration in the unit that keeps it readable (GC pauses are ns, runs seconds). @param {number} ns */
export const ms = (ns) =>
  ns < 1e3 ? `${Math.round(ns)} ns` : ns < 1e6 ? `${(ns / 1e3).toFixed(1)} µs` : `${(ns / 1e6).toFixed(ns < 1e7 ? 3 : 1)} ms`;

/** @param {number} b */
export const bytes = (b) => (b < 1024 ? `${b} B` : b < 1 << 20 ? `${(b / 1024).toFixed(1)} KiB` : `${(b / (1 << 20)).toFixed(1)} MiB`);

/** A change in bytes, always signed. @param {number} b */
export const signedBytes = (b) => (b < 0 ? `−${bytes(-b)}` : `+${bytes(b)}`);
