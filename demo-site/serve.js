#!/usr/bin/env node
// The demo site's static server (`npm run demo`, and the browser tests):
// node:http over demo-site/dist with the headers cross-origin isolation
// needs (COOP same-origin + COEP require-corp), so the page gets shared
// memory and the CPU sampler works. `--no-isolation` leaves them out, to see
// (and test) the page's fallback to call counts.
//
//   node demo-site/serve.js [--port N] [--no-isolation] [--root DIR]   (PORT env too; default 8080)

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.wat': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The built site. */
export const DIST = fileURLToPath(new URL('./dist/', import.meta.url));

/**
 * Serves `root` on 127.0.0.1:`port` (0 = any free port).
 * @param {{ root?: string, port?: number, isolated?: boolean }} [options]
 * @returns {Promise<{ url: string, close(): Promise<void> }>}
 */
export function serve({ root = DIST, port = 8080, isolated = true } = {}) {
  const base = resolve(root);
  const server = createServer((req, res) => {
    const headers = {
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      // Same-origin resources only, so require-corp costs nothing here.
      ...(isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
    };
    const fail = (/** @type {number} */ status, /** @type {string} */ text) => {
      res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return fail(400, 'bad path');
    }
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) return fail(403, 'outside the site');
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      const type = TYPES[/** @type {keyof typeof TYPES} */ (extname(file))] ?? 'application/octet-stream';
      res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': size });
      if (req.method === 'HEAD') return res.end();
      createReadStream(file).pipe(res);
    } catch {
      fail(404, 'not found');
    }
  });
  return new Promise((done, failed) => {
    server.once('error', failed);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const actual = typeof address === 'object' && address ? address.port : port;
      done({
        url: `http://127.0.0.1:${actual}/`,
        close: () => new Promise((closed) => server.close(() => closed(undefined))),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, 'no-isolation': { type: 'boolean' }, root: { type: 'string' } },
  });
  const port = Number(values.port ?? process.env.PORT ?? 8080);
  const site = await serve({ root: values.root, port, isolated: !values['no-isolation'] });
  console.error(`wprof demo: ${site.url}${values['no-isolation'] ? ' (not cross-origin isolated: no CPU time)' : ''}`);
}
