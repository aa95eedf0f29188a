// The code blocks of a README marked `<!-- snippet: NAME -->`, so tests run
// exactly what the README shows (test/packages.test.js in Node,
// demo-site/test in Chromium).

import { readFileSync } from 'node:fs';

/**
 * @param {string | URL} readme
 * @returns {Map<string, string>} snippet name → code
 */
export function snippets(readme) {
  const text = readFileSync(readme, 'utf8');
  /** @type {Map<string, string>} */
  const found = new Map();
  for (const m of text.matchAll(/<!-- snippet: ([\w-]+) -->\n```\w*\n([\s\S]*?)\n```/g)) found.set(m[1], `${m[2]}\n`);
  return found;
}
