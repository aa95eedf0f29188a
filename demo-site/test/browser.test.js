// The demo page in real headless Chromium (Debian's, driven by
// playwright-core): bundled examples and modules given through the file
// input and by drag and drop run in the page's worker; stdout, the
// flamegraph, the top table, the memory view and the downloads are checked
// in the DOM and in the downloaded files, and the page's call profile must
// equal wprof-node's for the same module. Runs against both a
// cross-origin-isolated server (CPU time from the sampler worker) and one
// without COOP/COEP (call counts, said on the page). Screenshots go to
// demo-site/test-output/ for a reviewer.
//
// Skipped without /usr/bin/chromium unless WPROF_REQUIRE_BROWSER is set
// (tests/run-all.sh installs it and sets it).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { serve } from '../serve.js';
import { bigModule } from './big-module.js';
import { launch, missing } from './chromium.js';
import { strip } from '../../polyfill-js/test/wasm-sections.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const examples = fileURLToPath(new URL('../dist/examples/', import.meta.url));
const shots = fileURLToPath(new URL('../test-output/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'wprof-browser-'));
const wprofNode = join(repo, 'polyfill-js/bin/wprof-node.js');
const skip = missing();

/** @type {import('playwright-core').Browser} */
let browser;
/** @type {{ url: string, close(): Promise<void> }} */
let isolated;
/** @type {{ url: string, close(): Promise<void> }} */
let plain;

before(async () => {
  if (skip) return;
  mkdirSync(shots, { recursive: true });
  [isolated, plain] = await Promise.all([serve({ port: 0 }), serve({ port: 0, isolated: false })]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
});

/**
 * A fresh page on `site`, with its errors collected, once the toolkit is loaded.
 * @param {{ url: string }} site
 */
async function open(site) {
  const page = await browser.newPage({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(site.url);
  await page.waitForFunction(() => document.querySelectorAll('#example option').length > 1);
  await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Ready'), null, { timeout: 60_000 });
  return { page, errors };
}

/** Clicks Run and waits for the end of the run. @param {import('playwright-core').Page} page */
async function runAndWait(page) {
  await page.waitForFunction(() => !(/** @type {HTMLButtonElement} */ (document.getElementById('run'))).disabled);
  await page.click('#run');
  await page.waitForFunction(() => /^(Done|Failed)/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 120_000 });
  return page.textContent('#status');
}

/** Selects a bundled example and runs it. @param {import('playwright-core').Page} page @param {string} file */
async function runExample(page, file) {
  await page.selectOption('#example', file);
  await page.waitForFunction((f) => document.getElementById('module-name')?.textContent?.startsWith(f), file);
  const status = await runAndWait(page);
  assert.match(status ?? '', /^Done/, `run of ${file}: ${status} ${await page.textContent('#error')}`);
}

/**
 * Downloads output `name` through its link, as a user would.
 * @param {import('playwright-core').Page} page @param {string} name
 */
async function download(page, name) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(`#downloads a[download="${name}"]`)]);
  assert.equal(file.suggestedFilename(), name);
  const path = await file.path();
  return readFileSync(/** @type {string} */ (path));
}

/** @param {import('playwright-core').Page} page */
async function summaryOf(page) {
  return JSON.parse((await download(page, 'summary.json')).toString());
}

/** Per-function exact calls, the deterministic part of a profile. @param {any} summary */
function calls(summary) {
  return Object.fromEntries(
    summary.functions.filter((/** @type {any} */ f) => f.calls !== null).map((/** @type {any} */ f) => [f.name, f.calls]).sort(),
  );
}

/**
 * `wprof-node run` of `module`: its summary and stdout.
 * @param {string} module @param {string[]} [flags] @param {string[]} [args] the guest's
 */
function nodeRun(module, flags = [], args = []) {
  const out = join(scratch, `node-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync(process.execPath, [wprofNode, 'run', '--out', out, ...flags, module, ...(args.length ? ['--', ...args] : [])], { encoding: 'utf8' });
  assert.ok(existsSync(join(out, 'summary.json')), `wprof-node wrote no summary:\n${r.stderr}`);
  return { status: r.status, stdout: r.stdout, summary: JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) };
}

/** The flamegraph iframe's frames (inferno's `<g>` per frame, titled `name (… )`). @param {import('playwright-core').Page} page */
async function flamegraphFrames(page, selector = '#flamegraph') {
  const handle = await page.$(selector);
  const frame = await handle?.contentFrame();
  assert.ok(frame, `${selector} has no document`);
  await frame.waitForSelector('#frames > g', { state: 'attached' });
  return frame.$$eval('#frames > g > title', (ts) => ts.map((t) => t.textContent ?? ''));
}

describe('the demo page in Chromium', { skip }, () => {
  test('a bundled Rust example: stdout, flamegraph, top table, downloads, CPU time from the sampler', async () => {
    const { page, errors } = await open(isolated);
    assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the dev server makes the page cross-origin isolated');
    assert.equal(await page.isHidden('#isolation'), true, 'no isolation warning on an isolated page');
    await runExample(page, 'callheavy.wasm');
    assert.equal(await page.textContent('#stdout'), 'fib(32) = 2178309\n');
    assert.match(await page.textContent('#exit') ?? '', /exited with code 0/);

    const frames = await flamegraphFrames(page);
    assert.ok(frames.length > 10, `the flamegraph has ${frames.length} frames`);
    assert.ok(frames.some((t) => t.startsWith('callheavy::fib ')), 'the hot function is a frame');

    const names = await page.$$eval('#downloads a', (as) => as.map((a) => /** @type {HTMLAnchorElement} */ (a).download));
    assert.deepEqual(names, ['flamegraph.svg', 'cpu.pb.gz', 'cpu.folded', 'calls.folded', 'summary.json']);
    const svg = (await download(page, 'flamegraph.svg')).toString();
    assert.match(svg, /^<\?xml|^<svg/);
    assert.ok((await download(page, 'cpu.pb.gz'))[0] === 0x1f, 'cpu.pb.gz is gzip');

    const summary = await summaryOf(page);
    const fib = summary.functions.find((/** @type {any} */ f) => f.name === 'callheavy::fib');
    assert.equal(fib.calls, 7049155, 'fib(32) is 7,049,155 calls');
    assert.ok(summary.cpu.samples > 0, 'the sampler worker took samples');
    assert.ok(fib.self_ns > 0 && fib.self_samples > 0, 'the hot function has self time');
    const hottest = [...summary.functions].sort((a, b) => b.self_ns - a.self_ns)[0];
    assert.equal(hottest.name, 'callheavy::fib', 'the hot function has the most self time');
    assert.equal(await page.isHidden('#time-note'), true, 'no "by calls" note when time was sampled');

    // The top table sorts by each column.
    const first = () => page.$eval('#top tbody tr td', (td) => td.textContent);
    assert.equal(await first(), 'callheavy::fib', 'sorted by self time first');
    await page.click('#top th button[data-sort="total"]');
    const maxTotal = Math.max(...summary.functions.map((/** @type {any} */ f) => f.total_ns));
    const byTotal = await first();
    const top = summary.functions.find((/** @type {any} */ f) => f.name === byTotal);
    assert.equal(top.total_ns, maxTotal, 'by total time: a function on every sampled stack');
    assert.notEqual(top.name, 'callheavy::fib');
    await page.click('#top th button[data-sort="calls"]');
    assert.equal(await first(), 'callheavy::fib', 'by calls');
    assert.equal(await page.getAttribute('#top th button[data-sort="calls"]', 'aria-sort'), 'descending');

    await page.screenshot({ path: join(shots, 'results-isolated.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  for (const [example, guest, expected] of [
    ['calls.wasm', join(examples, 'calls.wasm'), 'tests/guests/rust/expected/calls.json'],
    ['fib.wat', join(examples, 'fib.wat'), null],
  ]) {
    test(`${example}: the page's call profile equals wprof-node's`, async () => {
      const { page, errors } = await open(isolated);
      await runExample(page, /** @type {string} */ (example));
      const summary = await summaryOf(page);
      const node = nodeRun(/** @type {string} */ (guest));
      assert.deepEqual(calls(summary), calls(node.summary), 'per-function calls');
      assert.deepEqual(summary.exit, node.summary.exit, 'how the guest ended');
      assert.equal(await page.textContent('#stdout'), node.stdout, 'stdout');
      if (expected) {
        const want = JSON.parse(readFileSync(join(repo, expected), 'utf8'));
        for (const [name, n] of Object.entries(want.calls)) assert.equal(calls(summary)[name], n, name);
        assert.equal(node.stdout, want.stdout);
      }
      assert.deepEqual(errors, []);
      await page.close();
    });
  }

  test('compare with the server: a native summary of the same module differs in no call count', async (t) => {
    const wprof = join(repo, 'target/release/wprof');
    if (!existsSync(wprof)) {
      assert.ok(!process.env.WPROF_REQUIRE_BROWSER, `${wprof} is missing: cargo build --release -p wprof`);
      return t.skip(`${wprof} is missing`);
    }
    /** `wprof run` of `module`: its summary.json and cpu.pb.gz. @param {string} module */
    const native = (module) => {
      const out = join(scratch, `native-${Math.random().toString(36).slice(2)}`);
      const r = spawnSync(wprof, ['run', '--out', out, module], { encoding: 'utf8' });
      assert.ok(existsSync(join(out, 'summary.json')), `wprof run wrote no summary:\n${r.stderr}`);
      return { summary: join(out, 'summary.json'), pprof: join(out, 'cpu.pb.gz') };
    };
    /** Loads `file` into the compare view; its verdict or error. @param {import('playwright-core').Page} page @param {string} file */
    const compareWith = async (page, file) => {
      // The page says it is reading as the file input fires, and replaces that with the outcome.
      await page.setInputFiles('#compare-file', file);
      await page.waitForFunction(() => !/^Reading /.test(document.getElementById('compare-status')?.textContent ?? 'Reading '));
      return page.textContent('#compare-status');
    };
    const { page, errors } = await open(isolated);
    await runExample(page, 'calls.wasm');
    const server = native(join(examples, 'calls.wasm'));
    const same = /^\d+ functions in both, 0 with different call counts, 0 only here, 0 only in the loaded profile\.$/;
    assert.match(await compareWith(page, server.summary) ?? '', same);
    assert.equal(await page.isVisible('#compare'), true);
    assert.equal(await page.$$eval('#compare tr.changed', (rows) => rows.length), 0);

    // The run's cpu.pb.gz (pprof) instead, read by the toolkit: the same verdict and the same rows' calls.
    const rows = () => page.$$eval('#compare tbody tr', (trs) => trs.map((tr) => [...tr.children].slice(0, 4).map((td) => td.textContent)));
    const bySummary = await rows();
    assert.match(await compareWith(page, server.pprof) ?? '', same);
    assert.equal(await page.$$eval('#compare tr.changed', (rows) => rows.length), 0);
    assert.deepEqual((await rows()).sort(), bySummary.sort(), 'the same functions and calls from summary.json and cpu.pb.gz');
    await page.screenshot({ path: join(shots, 'compare-pprof.png'), fullPage: true });

    // Another module: differences, most different first, and the page says it is another module.
    await compareWith(page, native(join(examples, 'callheavy.wasm')).summary);
    assert.match(await page.textContent('#compare-status') ?? '', /[1-9]\d* with different call counts.*Note: it profiles callheavy\.wasm, this run calls\.wasm/);
    const top = await page.$eval('#compare tbody tr', (tr) => [...tr.children].map((td) => td.textContent));
    assert.deepEqual(top.slice(0, 4), ['callheavy::fib', '—', '7,049,155', '−7,049,155']);

    // Not a summary: a clear error, not a console exception.
    const bogus = join(scratch, 'bogus.json');
    writeFileSync(bogus, '{"hello": 1}');
    assert.match(await compareWith(page, bogus) ?? '', /^error: bogus\.json is not a wprof summary/);
    // Gzip that is not a profile: the toolkit's reader says so.
    const junk = join(scratch, 'junk.pb.gz');
    writeFileSync(junk, gzipSync('not a profile'));
    assert.match(await compareWith(page, junk) ?? '', /^error: `junk\.pb\.gz` is not a pprof profile/);
    assert.equal(await page.isHidden('#compare'), true);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('collect: the profile a self-profiling artifact wrote under node:wasi, shown as wprof collect writes it', async (t) => {
    const wprof = join(repo, 'target/release/wprof');
    if (!existsSync(wprof)) {
      assert.ok(!process.env.WPROF_REQUIRE_BROWSER, `${wprof} is missing: cargo build --release -p wprof`);
      return t.skip(`${wprof} is missing`);
    }
    // The artifact runs on a host wprof does not control (Node's own WASI)
    // and writes its profile there; the page reads it with the artifact.
    const artifact = join(scratch, 'calls.counts.wasm');
    const made = spawnSync(wprof, ['instrument', '--embed', '--counts-only', join(examples, 'calls.wasm'), '-o', artifact], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const files = join(scratch, 'collect-files');
    mkdirSync(files);
    const { WASI: NodeWASI } = await import('node:wasi');
    const wasi = new NodeWASI({ version: 'preview1', args: ['calls.wasm'], preopens: { '/out': files }, returnOnExit: true });
    const { instance } = await WebAssembly.instantiate(readFileSync(artifact), /** @type {any} */ (wasi.getImportObject()));
    assert.equal(wasi.start(instance), 0);
    const profile = join(files, 'wprof.profile');
    const native = join(scratch, 'collect-native');
    const r = spawnSync(wprof, ['collect', profile, '--module', artifact, '-o', native], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);

    const { page, errors } = await open(isolated);
    await page.setInputFiles('#file', artifact);
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('calls.counts.wasm'));
    await page.setInputFiles('#collect-file', profile);
    await page.waitForFunction(() => !(/** @type {HTMLButtonElement} */ (document.getElementById('collect'))).disabled);
    await page.click('#collect');
    await page.waitForFunction(() => /^(Done|Failed)/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 60_000 });
    assert.match(await page.textContent('#status') ?? '', /^Done/, await page.textContent('#error') ?? '');
    assert.match(await page.textContent('#exit') ?? '', /written by the module itself/);
    assert.match(await page.textContent('#time-note') ?? '', /self-profiling artifact/);
    const summary = await summaryOf(page);
    assert.deepEqual(calls(summary), calls(JSON.parse(readFileSync(join(native, 'summary.json'), 'utf8'))));
    assert.equal((await download(page, 'calls.folded')).toString(), readFileSync(join(native, 'calls.folded'), 'utf8'));
    assert.ok((await flamegraphFrames(page)).some((f) => f.startsWith('calls::')), 'the flamegraph shows the functions');
    await page.screenshot({ path: join(shots, 'collect.png'), fullPage: true });
    // A profile with the wrong module: the session's message on the page.
    await page.setInputFiles('#file', join(examples, 'calls.wasm'));
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('calls.wasm'));
    await page.click('#collect');
    await page.waitForFunction(() => /^(Done|Failed)/.test(document.getElementById('status')?.textContent ?? ''), null, { timeout: 60_000 });
    assert.match(await page.textContent('#error') ?? '', /is not a self-profiling artifact/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("every guest of the native parity tests: the page's calls, exit and stdout", async () => {
    const { page, errors } = await open(isolated);
    const dir = join(repo, 'tests/guests/rust/expected');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
      const want = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      // Reactors are called through --invoke, which the page does not offer.
      if (want.invocations) continue;
      const module = join(repo, 'target/guests/wasm32-wasip1/release', want.module);
      await page.fill('#args', want.args.join('\n'));
      await page.setInputFiles('#file', module);
      await page.waitForFunction((m) => document.getElementById('module-name')?.textContent?.startsWith(m), want.module);
      assert.match(await runAndWait(page) ?? '', /^Done/, `${want.module}: ${await page.textContent('#error')}`);
      const summary = await summaryOf(page);
      const got = calls(summary);
      for (const [name, n] of Object.entries(want.calls)) assert.equal(got[name], n, `${want.module}: calls of ${name}`);
      assert.equal(summary.exit.kind, want.exit_kind, `${want.module}: how it ended`);
      if (want.exit_kind === 'exit') assert.equal(summary.exit.code, want.exit_code, `${want.module}: exit code`);
      assert.equal(await page.textContent('#stdout'), want.stdout, `${want.module}: stdout`);
      for (const text of want.stderr_contains ?? []) assert.ok((await page.textContent('#stderr'))?.includes(text), `${want.module}: stderr has ${text}`);
      assert.deepEqual(got, calls(nodeRun(module, [], want.args).summary), `${want.module}: calls as in wprof-node`);
    }
    await page.fill('#args', '');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('without cross-origin isolation: exact calls, no CPU time, and the page says so', async () => {
    const { page, errors } = await open(plain);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    assert.match(await page.textContent('#isolation') ?? '', /not cross-origin isolated/);
    assert.equal(await page.isVisible('#isolation'), true);
    await runExample(page, 'callheavy.wasm');
    assert.match(await page.textContent('#time-note') ?? '', /CPU time was not measured: .*cross-origin isolated.*by exact call counts/);
    assert.equal(await page.isVisible('#time-note'), true);
    const summary = await summaryOf(page);
    assert.equal(summary.cpu.samples, 0);
    assert.equal(summary.functions.find((/** @type {any} */ f) => f.name === 'callheavy::fib').calls, 7049155);
    assert.ok((await flamegraphFrames(page)).some((t) => t.startsWith('callheavy::fib ')), 'a flamegraph by calls');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a module chosen with the file input, with arguments and an exit code', async () => {
    const { page, errors } = await open(isolated);
    const exitWasm = join(repo, 'target/guests/wasm32-wasip1/release/exit.wasm');
    assert.ok(existsSync(exitWasm), `${exitWasm} is built by the guests' cargo build (demo-site/build.js)`);
    await page.setInputFiles('#file', exitWasm);
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('exit.wasm'));
    await runAndWait(page);
    assert.equal(await page.textContent('#stdout'), 'acc = 60\nquitting\n');
    assert.match(await page.textContent('#exit') ?? '', /exited with code 3/);
    const summary = await summaryOf(page);
    assert.deepEqual(summary.exit, { kind: 'exit', code: 3, message: null });
    assert.deepEqual(calls(summary), calls(nodeRun(exitWasm).summary));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a stripped module with its debug file: the top table and summary name source files', async () => {
    const { page, errors } = await open(isolated);
    // The Rust guest built with DWARF (tests/guests/rust/debuginfo), as a
    // release build ships it: stripped, DWARF alongside.
    const guest = join(repo, 'target/guests/wasm32-wasip1/release/inlined.wasm');
    const bare = join(scratch, 'inlined.wasm');
    writeFileSync(bare, strip(readFileSync(guest)));
    await page.setInputFiles('#file', bare);
    await page.setInputFiles('#debug-file', guest);
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('inlined.wasm'));
    assert.match(await runAndWait(page) ?? '', /^Done/, await page.textContent('#error') ?? '');
    const summary = await summaryOf(page);
    const churn = summary.functions.find((/** @type {any} */ f) => f.name === 'inlined::churn');
    const source = readFileSync(join(repo, 'tests/guests/rust/debuginfo/src/main.rs'), 'utf8').split('\n');
    const line = source.findIndex((l) => l.includes('fn churn(')) + 1;
    assert.ok(churn.file.endsWith('debuginfo/src/main.rs') && churn.line === line, JSON.stringify(churn));
    const cells = await page.$$eval('#top tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
    assert.ok(cells.some((c) => c[0] === 'inlined::churn' && c[1] === `main.rs:${line}`), JSON.stringify(cells.slice(0, 5)));
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a module dropped on the page, with args, env and stdin reaching the guest', async () => {
    const { page, errors } = await open(isolated);
    // A WASI command that echoes argv[1], the environment and stdin.
    const echo = readFileSync(new URL('./echo.wat', import.meta.url), 'utf8');
    await page.fill('#args', 'first-arg');
    await page.fill('#env', 'GREETING=hello');
    await page.fill('#stdin', 'from stdin');
    await page.evaluate((text) => {
      const data = new DataTransfer();
      data.items.add(new File([text], 'echo.wat'));
      document.getElementById('drop')?.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, echo);
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('echo.wat'));
    await runAndWait(page);
    assert.equal(await page.textContent('#stdout'), 'first-arg\nGREETING=hello\nfrom stdin');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a module over 8 MB is instrumented, compiled and run in the worker', async () => {
    const { page, errors } = await open(isolated);
    const bytes = bigModule();
    assert.ok(bytes.length > 8 << 20);
    // Above the main thread's synchronous-compile limit: proof the limit is real here.
    const mainThread = await page.evaluate((n) => {
      try {
        new WebAssembly.Module(new Uint8Array(n));
        return 'compiled';
      } catch (e) {
        return e instanceof RangeError ? 'RangeError' : String(e);
      }
    }, bytes.length);
    assert.equal(mainThread, 'RangeError', 'the main thread refuses a synchronous compile this large');
    await page.setInputFiles('#file', { name: 'big.wasm', mimeType: 'application/wasm', buffer: Buffer.from(bytes) });
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('big.wasm'));
    assert.match(await runAndWait(page) ?? '', /^Done/, await page.textContent('#error') ?? '');
    assert.equal(await page.textContent('#stdout'), 'big\n');
    const summary = await summaryOf(page);
    assert.equal(summary.functions.find((/** @type {any} */ f) => f.name === '_start')?.calls, 1);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('bad input shows a clear error on the page', async () => {
    const { page } = await open(isolated);
    const bad = join(scratch, 'notes.wasm');
    writeFileSync(bad, 'these are not the bytes you are looking for');
    await page.setInputFiles('#file', bad);
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('notes.wasm'));
    assert.match(await runAndWait(page) ?? '', /^Failed/);
    assert.equal(await page.isVisible('#error'), true);
    assert.match(await page.textContent('#error') ?? '', /^error: `notes\.wasm` is not a WebAssembly module/);

    const foreign = join(scratch, 'foreign.wat');
    writeFileSync(foreign, '(module (import "env" "now" (func)) (memory (export "memory") 1) (func (export "_start")))');
    await page.setInputFiles('#file', foreign);
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('foreign.wat'));
    assert.match(await runAndWait(page) ?? '', /^Failed/);
    assert.match(await page.textContent('#error') ?? '', /unsupported import: .* env::now/);

    const empty = join(scratch, 'empty.wasm');
    writeFileSync(empty, '');
    await page.setInputFiles('#file', empty);
    await page.waitForFunction(() => !document.getElementById('error')?.hidden);
    assert.match(await page.textContent('#error') ?? '', /empty\.wasm is empty/);
    await page.screenshot({ path: join(shots, 'bad-input.png') });
    await page.close();
  });

  test('memory profiling: the AssemblyScript leak, its alarm, sites and memory flamegraph', async (t) => {
    const { page, errors } = await open(isolated);
    const has = await page.$$eval('#example option', (os) => os.some((o) => /** @type {HTMLOptionElement} */ (o).value === 'leak.wasm'));
    if (!has) return t.skip('the AssemblyScript example was not built (no assemblyscript in node_modules)');
    await runExample(page, 'leak.wasm');
    assert.equal(await page.isChecked('#memory'), true, 'the example turns memory profiling on');
    assert.equal(await page.isVisible('#memory-view'), true);
    assert.match(await page.textContent('#alarm') ?? '', /rememberRequest/);
    const sites = await page.$$eval('#sites tbody tr td:first-child', (tds) => tds.map((td) => td.textContent));
    assert.ok(sites.some((s) => s?.endsWith('rememberRequest')), `sites: ${sites}`);
    const names = await page.$$eval('#downloads a', (as) => as.map((a) => /** @type {HTMLAnchorElement} */ (a).download));
    for (const n of ['heap.pb.gz', 'memory.svg', 'memory-peak.svg', 'heap-exit.wheap']) assert.ok(names.includes(n), `${n} is offered`);
    assert.ok((await flamegraphFrames(page, '#memory-flamegraph')).length > 1, 'the memory flamegraph has frames');
    const summary = await summaryOf(page);
    const node = nodeRun(join(examples, 'leak.wasm'), ['--memory']);
    assert.equal(summary.memory.live_bytes, node.summary.memory.live_bytes, 'live bytes as in Node');
    assert.equal(summary.memory.allocations, node.summary.memory.allocations, 'allocations as in Node');
    await page.screenshot({ path: join(shots, 'results-memory.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("heap-dump diff: the leak against an earlier run's dump names the leaking site first, as `wprof heap diff`", async (t) => {
    const { page, errors } = await open(isolated);
    const has = await page.$$eval('#example option', (os) => os.some((o) => /** @type {HTMLOptionElement} */ (o).value === 'leak.wasm'));
    if (!has) return t.skip('the AssemblyScript example was not built (no assemblyscript in node_modules)');
    // leak.wasm takes no input. A copy with REQUESTS = 10000 instead of
    // 20000 (both `i32.const 20000`s patched, same length) does what the full
    // run does up to halfway, so its exit dump is an earlier dump of the full
    // run: blocks match by event number, and the allocator is deterministic.
    const full = readFileSync(join(examples, 'leak.wasm'));
    const from = Buffer.from([0x41, 0xa0, 0x9c, 0x01]);
    const to = Buffer.from([0x41, 0x90, 0xce, 0x00]);
    const half = Buffer.from(full);
    let at = -1;
    let patched = 0;
    while ((at = half.indexOf(from, at + 1)) >= 0) to.copy(half, at), patched++;
    assert.equal(patched, 2, 'leak.wasm has the loop bound and the printed count as i32.const 20000');
    const halfPath = join(scratch, 'leak-10000.wasm');
    writeFileSync(halfPath, half);

    await page.setInputFiles('#file', halfPath);
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('leak-10000.wasm'));
    await page.check('#memory');
    assert.match(await runAndWait(page) ?? '', /^Done/, await page.textContent('#error') ?? '');
    assert.equal(await page.textContent('#stdout'), 'handled 10000 requests, checksum -1089887296\n');
    // Its own dump is listed; one dump is not a diff.
    assert.deepEqual(await page.$$eval('#heap-dumps li', (lis) => lis.map((li) => li.textContent?.replace(/ \(.*/, ''))), [" this run's heap-exit.wheap"]);
    assert.match(await page.textContent('#heap-diff-status') ?? '', /^Load another dump/);
    const earlierDir = join(scratch, 'earlier');
    mkdirSync(earlierDir, { recursive: true });
    const earlier = join(earlierDir, 'heap-exit.wheap');
    writeFileSync(earlier, await download(page, 'heap-exit.wheap'));

    await runExample(page, 'leak.wasm');
    await page.setInputFiles('#heap-files', earlier);
    await page.waitForFunction(() => !document.getElementById('heap-diff')?.hidden);
    assert.match(await page.textContent('#heap-diff-status') ?? '',
      /^Oldest first: heap-exit\.wheap \(exit, event [\d,]+\) → this run's heap-exit\.wheap \(exit, event [\d,]+\)\.$/);
    const rows = await page.$$eval('#heap-diff tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    assert.deepEqual(rows[0].slice(0, 3), ['1', '~start;tests/guests/as/leak/rememberRequest', 'as-unmanaged']);
    assert.equal(rows[0][4], '10,001', 'the 10,000 requests of the second half, and the closing rememberRequest(-1)');
    assert.equal(rows[0][8], 'suspect');
    assert.match(await page.textContent('#heap-diff-alarm') ?? '', /rememberRequest/);
    const text = await page.textContent('#heap-diff-text');
    assert.match(text ?? '', /\n {2}1 .*leak\/rememberRequest \[as-unmanaged\] {2}SUSPECT\n/);
    const wprof = join(repo, 'target/release/wprof');
    if (existsSync(wprof)) {
      const latest = join(scratch, 'latest.wheap');
      writeFileSync(latest, await download(page, 'heap-exit.wheap'));
      const r = spawnSync(wprof, ['heap', 'diff', earlier, latest], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(text, r.stdout, 'the page shows what `wprof heap diff` prints for the same dumps');
    }
    await page.screenshot({ path: join(shots, 'heap-diff.png'), fullPage: true });

    // Not a dump: the toolkit's reader names it; forgetting loaded dumps clears the diff.
    const bogus = join(scratch, 'bogus.wheap');
    writeFileSync(bogus, '{"format": "nope"}');
    await page.setInputFiles('#heap-files', bogus);
    await page.waitForFunction(() => /^error:/.test(document.getElementById('heap-diff-status')?.textContent ?? ''));
    assert.match(await page.textContent('#heap-diff-status') ?? '', /^error: cannot read heap dump `bogus\.wheap`: .*not a wprof heap dump/);
    assert.equal(await page.isHidden('#heap-diff'), true);
    await page.click('#heap-clear');
    assert.match(await page.textContent('#heap-diff-status') ?? '', /^Load another dump/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('Stop ends a guest that never returns, and the next run works', async () => {
    const { page } = await open(isolated);
    const spin = join(scratch, 'spin.wat');
    writeFileSync(spin, '(module (memory (export "memory") 1) (func $spin (loop $l (br $l))) (func (export "_start") (call $spin)))');
    await page.setInputFiles('#file', spin);
    await page.waitForFunction(() => document.getElementById('module-name')?.textContent?.startsWith('spin.wat'));
    await page.click('#run');
    await page.waitForFunction(() => /Compiling and running/.test(document.getElementById('status')?.textContent ?? ''));
    assert.equal(await page.isEnabled('#stop'), true);
    await page.click('#stop');
    assert.match(await page.textContent('#status') ?? '', /^Stopped/);
    await page.waitForFunction(() => document.getElementById('status')?.textContent?.startsWith('Ready'), null, { timeout: 60_000 });
    await runExample(page, 'fib.wat');
    assert.equal(await page.textContent('#stdout'), 'fib(27) = 196418\n');
    await page.close();
  });
});
