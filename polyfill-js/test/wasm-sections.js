// Test helper: a module's sections as bytes, for tests that strip a
// module of its DWARF the way a release build ships it.

/** @param {Uint8Array} bytes @param {number} at @returns {[number, number]} value and bytes read */
function leb(bytes, at) {
  let value = 0;
  let shift = 0;
  let n = 0;
  for (;;) {
    const b = bytes[at + n++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [value, n];
  }
}

/** `bytes` without its `.debug_*` custom sections. @param {Uint8Array} bytes */
export function strip(bytes) {
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const [size, n] = leb(bytes, at + 1);
    const end = at + 1 + n + size;
    let debug = false;
    if (bytes[at] === 0) {
      const [len, m] = leb(bytes, at + 1 + n);
      const start = at + 1 + n + m;
      debug = new TextDecoder().decode(bytes.subarray(start, start + len)).startsWith('.debug_');
    }
    if (!debug) parts.push(bytes.subarray(at, end));
    at = end;
  }
  return Buffer.concat(parts);
}
