// A valid WASI command over 8 MB (the size above which a page's main thread
// refuses to compile synchronously): a 9 MiB data segment beside a
// `_start` that prints `big\n`. Built in bytes so the test needs no
// toolchain and no large file in the repository.

/** @param {number} n unsigned LEB128 */
function leb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** @param {string} s */
const name = (s) => [...leb(s.length), ...new TextEncoder().encode(s)];
/** @param {number} id @param {number[] | Uint8Array} body */
const section = (id, body) => [id, ...leb(body.length), ...body];

/** @param {number} payloadBytes */
export function bigModule(payloadBytes = 9 << 20) {
  const i32 = 0x7f;
  const types = section(1, [2, 0x60, 4, i32, i32, i32, i32, 1, i32, 0x60, 0, 0]);
  const imports = section(2, [1, ...name('wasi_snapshot_preview1'), ...name('fd_write'), 0x00, 0]);
  const funcs = section(3, [1, 1]);
  const pages = Math.ceil((payloadBytes + (1 << 20)) / 65536);
  const memory = section(5, [1, 0, ...leb(pages)]);
  const exports = section(7, [2, ...name('memory'), 0x02, 0, ...name('_start'), 0x00, 1]);
  // fd_write(1, iovs=0, 1, nwritten=8); drop
  const body = [0, 0x41, 1, 0x41, 0, 0x41, 1, 0x41, 8, 0x10, 0, 0x1a, 0x0b];
  const code = section(10, [1, ...leb(body.length), ...body]);
  const header = [16, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode('big\n')];
  const payload = new Uint8Array(payloadBytes);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
  const seg0 = [0, 0x41, 0, 0x0b, ...leb(header.length), ...header];
  const seg1Head = [0, 0x41, ...sleb(1 << 20), 0x0b, ...leb(payload.length)];
  const dataBody = [2, ...seg0, ...seg1Head];
  const dataHead = [11, ...leb(dataBody.length + payload.length)];
  const parts = [[0, 0x61, 0x73, 0x6d, 1, 0, 0, 0], types, imports, funcs, memory, exports, code, dataHead, dataBody];
  const size = parts.reduce((n, p) => n + p.length, 0) + payload.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  out.set(payload, at);
  return out;
}

/** @param {number} n signed LEB128 (non-negative here) */
function sleb(n) {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
