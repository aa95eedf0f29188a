// The npm packages as a user gets them: `npm pack` of @wprof/wasi and
// @wprof/profiler, installed offline from the tarballs into a scratch
// project, imported through their `exports` maps, type-checked through
// their generated `.d.ts`, and the Node snippets of both READMEs run there.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, test } from 'node:test';
import { toolkitBuilt } from '../src/node/toolkit.js';
import { NOT_BUILT } from '../src/probe/index.js';
import { packAndInstall, run } from './pack.js';
import { snippets } from './readme-snippets.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
/** The scratch project, filled by `before`. */
let project = '';

before(async () => {
  assert.ok(toolkitBuilt(), NOT_BUILT);
  ({ project } = await packAndInstall('packages'));
});

test('the tarballs hold the sources, types and toolkit, not the tests', () => {
  const root = (/** @type {string} */ name) => join(project, 'node_modules', name);
  for (const f of ['src/index.js', 'src/node/host-dir.js', 'types/index.d.ts', 'types/node/host-dir.d.ts', 'README.md']) {
    assert.ok(existsSync(join(root('@wprof/wasi'), f)), `@wprof/wasi lacks ${f}`);
  }
  for (const f of ['src/index.js', 'src/browser/sampler-worker.js', 'types/index.d.ts', 'wasm/wprof_browser_bg.wasm', 'wasm/wprof_browser.js', 'bin/wprof-node.js', 'README.md']) {
    assert.ok(existsSync(join(root('@wprof/profiler'), f)), `@wprof/profiler lacks ${f}`);
  }
  assert.ok(!existsSync(join(root('@wprof/profiler'), 'test')), 'the tests are not shipped');
  assert.ok(!existsSync(join(root('@wprof/profiler'), 'wasi')), 'the polyfill is its own package, not a copy inside the profiler');
  for (const name of ['@wprof/wasi', '@wprof/profiler']) {
    const pkg = JSON.parse(readFileSync(join(root(name), 'package.json'), 'utf8'));
    assert.notEqual(pkg.private, true, `${name} is publishable`);
  }
  // Only what the browser loads: no `node:` import outside src/node.
  const browserFiles = readdirSync(join(root('@wprof/wasi'), 'src')).filter((f) => f.endsWith('.js'));
  for (const f of browserFiles) {
    assert.doesNotMatch(readFileSync(join(root('@wprof/wasi'), 'src', f), 'utf8'), /from 'node:/, `@wprof/wasi/src/${f} imports node:`);
  }
});

test('every documented import resolves in Node through the exports maps', () => {
  const probe = `
    import * as wasi from '@wprof/wasi';
    import * as hostDir from '@wprof/wasi/node';
    import * as profiler from '@wprof/profiler';
    import * as sampler from '@wprof/profiler/sampler';
    import * as node from '@wprof/profiler/node';
    const wasmUrl = import.meta.resolve('@wprof/profiler/wasm/wprof_browser_bg.wasm');
    console.log(JSON.stringify({
      wasi: typeof wasi.WASI, exit: typeof wasi.WASIExit, load: typeof hostDir.loadDirectory,
      profile: typeof profiler.profile, loadToolkit: typeof profiler.loadToolkit,
      createSampler: typeof sampler.createSampler, nodeSampler: 'startSampler' in sampler,
      loadNodeToolkit: typeof node.loadNodeToolkit, cache: typeof node.artifactCache,
      wasm: wasmUrl.endsWith('/wprof_browser_bg.wasm'),
    }));`;
  writeFileSync(join(project, 'imports.mjs'), probe);
  const got = JSON.parse(run(process.execPath, ['imports.mjs'], project));
  assert.deepEqual(got, {
    wasi: 'function', exit: 'function', load: 'function',
    profile: 'function', loadToolkit: 'function',
    createSampler: 'function', nodeSampler: true,
    loadNodeToolkit: 'function', cache: 'function',
    wasm: true,
  });
  // A browser-only subpath must not leak into Node, and Node-only ones not into browsers.
  const browser = spawnSync(process.execPath, ['--conditions=browser', '-e', "import('@wprof/profiler/sampler').then(m => console.log('startSampler' in m))"], { cwd: project, encoding: 'utf8' });
  assert.equal(browser.stdout.trim(), 'true', 'node condition wins over browser in Node');
});

test('the generated types check a consumer that uses them (tsc --checkJs)', () => {
  writeFileSync(
    join(project, 'typed.js'),
    `// @ts-check
import { WASI, Directory, File } from '@wprof/wasi';
import { profile, ProbeError } from '@wprof/profiler';
import { createSampler } from '@wprof/profiler/sampler';
import { loadNodeToolkit } from '@wprof/profiler/node';
const toolkit = await loadNodeToolkit();
const wasi = new WASI({ args: ['a'], preopens: { '/d': new Directory({ f: new File('x') }) } });
/** @type {number} */
const n = profile(toolkit, { bytes: new Uint8Array(), options: {}, wasi, sampler: await createSampler() }).exitCode;
/** @type {string} */
const bad = profile(toolkit, { bytes: new Uint8Array(), options: {}, wasi }).exit.kind;
export { n, bad, ProbeError };
`,
  );
  const tsc = join(repo, 'node_modules/typescript/bin/tsc');
  const compilerOptions = {
    noEmit: true, allowJs: true, checkJs: true, strict: true, skipLibCheck: true, types: [],
    target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', lib: ['es2022', 'dom'],
  };
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['typed.js'] }));
  const args = ['-p', 'tsconfig.json'];
  const r = spawnSync(process.execPath, [tsc, ...args], { cwd: project, encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc found errors:\n${r.stdout}`);
  // And it must fail on a wrong type, or the check proves nothing.
  writeFileSync(join(project, 'typed.js'), `// @ts-check\nimport { WASI } from '@wprof/wasi';\n/** @type {string} */\nexport const x = new WASI({ args: ['a'] }).start;\n`);
  const wrong = spawnSync(process.execPath, [tsc, ...args], { cwd: project, encoding: 'utf8' });
  assert.notEqual(wrong.status, 0, 'tsc accepted a wrong type: the declarations are not being read');
});

test("the polyfill README's Node snippet runs", () => {
  const code = snippets(new URL('../wasi/README.md', import.meta.url)).get('wasi-node');
  assert.ok(code, 'wasi/README.md has the wasi-node snippet');
  mkdirSync(join(project, 'data'), { recursive: true });
  writeFileSync(join(project, 'wasi-node.mjs'), code);
  const r = spawnSync(process.execPath, ['wasi-node.mjs'], { cwd: project, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'fib(27) = 196418\nexit 0\n');
});

test("the profiler README's Node snippet runs and writes every file `wprof run` writes", () => {
  const code = snippets(new URL('../README.md', import.meta.url)).get('profile-node');
  assert.ok(code, 'README.md has the profile-node snippet');
  writeFileSync(join(project, 'profile-node.mjs'), code);
  const r = spawnSync(process.execPath, ['profile-node.mjs'], { cwd: project, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'fib(27) = 196418\n');
  assert.match(r.stderr, /^exit 0 /);
  const out = join(project, 'wprof-out');
  assert.deepEqual(readdirSync(out).sort(), ['calls.folded', 'cpu.folded', 'cpu.pb.gz', 'flamegraph.svg', 'summary.json']);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const fib = summary.functions.find((/** @type {{ name: string }} */ f) => f.name === 'fib');
  assert.equal(fib?.calls, 635621, 'fib(27) is 635,621 calls of fib');
  assert.ok(summary.cpu.samples > 0, 'the Node sampler took samples');
});
