// The policy issue's budgets, measured and printed (never asserted in tests):
//   - first load of the reset page (wasm + js + css, brotli) from dist/
//   - the strength engine (the Web Worker, brotli)
//   - the strength call in Chromium at 8 to 100 characters, median round trip
//     to the worker, beside JS zxcvbn 4.4.2 (npm) in a worker of its own on
//     the same passwords in the same browser run, and the ratio.
// Run: `cargo xtask bench-web` (builds dist/ first). BENCH_N sets the passwords
// per length (default 41); BENCH_VERBOSE=1 echoes the page console.
import { createServer } from 'node:http';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve, extname } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = process.env.SSPR_DIST ?? join(ROOT, 'dist');
const ZXCVBN = join(ROOT, 'node_modules/zxcvbn/dist/zxcvbn.js');
const BUDGET = { resetKB: 100, engineKB: 357, median64ms: 4 };
const LENGTHS = [8, 16, 32, 64, 100];
const PER_LENGTH = Number(process.env.BENCH_N ?? 41);

// Binary kilobytes (KiB, 1,024 bytes); `cargo xtask build-web` prints bytes.
const kb = (n) => (n / 1024).toFixed(1);
const br = (name) => {
  const p = join(DIST, `${name}.br`);
  return existsSync(p) ? readFileSync(p).length : readFileSync(join(DIST, name)).length;
};

// --- sizes, from what the pages name ---------------------------------------
const files = readdirSync(DIST);
const html = readFileSync(join(DIST, 'index.html'), 'utf8');
const firstLoad = ['index.html', ...files.filter((f) => /\.(js|wasm|css)$/.test(f) && !f.startsWith('sspr-strength-'))
  .filter((f) => html.includes(f) || files.some((g) => g.endsWith('.js') && html.includes(g) && readFileSync(join(DIST, g), 'utf8').includes(f)))];
const resetBytes = firstLoad.reduce((n, f) => n + br(f), 0);
const engine = files.filter((f) => f.startsWith('sspr-strength-') && /\.(js|wasm)$/.test(f));
const engineBytes = engine.reduce((n, f) => n + br(f), 0);
const loader = engine.find((f) => f.endsWith('_loader.js'));
const zxcvbnJsBytes = (await import('node:zlib')).brotliCompressSync(readFileSync(ZXCVBN)).length;

// --- passwords: deterministic, word-and-symbol mixes of each length ---------
const WORDS = ['tangerine', 'vortex', 'quill', 'harbour', 'Northgate', 'summer', 'P@ssw0rd', 'dragon', 'kayak',
  'correct', 'horse', 'battery', 'staple', 'qwerty', 'alice', '2026', 'monkey', 'zebra', 'lantern', 'orbit'];
let seed = 20261122;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const passwords = Object.fromEntries(LENGTHS.map((len) => [len, Array.from({ length: PER_LENGTH }, () => {
  let s = '';
  while (s.length < len) s += WORDS[rand(WORDS.length)] + '-!7#'[rand(4)] + (rand(3) === 0 ? String(rand(100)) : '');
  return s.slice(0, len);
})]));

// --- a static server for dist/ and the JS comparison ------------------------
const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const server = createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/bench.html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title>');
  if (path === '/zxcvbn.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(ZXCVBN));
  if (path === '/zxcvbn-worker.js') {
    return res.writeHead(200, { 'content-type': 'text/javascript' }).end(
      "importScripts('/zxcvbn.js'); onmessage = (e) => { const r = zxcvbn(e.data.password, e.data.inputs); postMessage({ id: e.data.id, score: r.score }); }; postMessage('ready');");
  }
  const file = join(DIST, path.slice(1));
  if (!file.startsWith(DIST) || !existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage();
page.on('crash', () => console.error('bench: the page crashed'));
page.on('pageerror', (e) => console.error(`bench: page error: ${e.message}`));
page.on('console', (m) => { if (process.env.BENCH_VERBOSE) console.error(`bench: ${m.text()}`); });
await page.goto(`${base}/bench.html`);
const results = await page.evaluate(async ({ loader, passwords, lengths }) => {
  const context = {
    rules: { min_length: 8, max_length: 256, min_score: 3, complexity: false },
    username: 'alice', display_name: 'Alice Andersen', email: 'alice@example.com',
    banned: { organisation: 'Northgate', custom: [] }, year: 2026,
  };
  const inputs = ['alice', 'Alice', 'Andersen', 'Alice Andersen', 'alice@example.com', 'Northgate'];
  const start = (url, ready) => new Promise((res) => {
    const w = new Worker(url);
    w.onmessage = (e) => { if (ready(e.data)) { w.onmessage = null; res(w); } };
  });
  const rust = await start(`/${loader}`, (d) => d === '"ready"');
  rust.postMessage(JSON.stringify({ setup: context }));
  const js = await start('/zxcvbn-worker.js', (d) => d === 'ready');
  const call = (w, msg, parse) => new Promise((res, rej) => {
    const t0 = performance.now();
    w.onmessage = (e) => {
      const ms = performance.now() - t0;
      try { res({ ms, score: parse(e.data) }); } catch (err) { rej(new Error(`unexpected reply ${e.data}: ${err}`)); }
    };
    w.onerror = (e) => rej(new Error(`worker error: ${e.message}`));
    w.postMessage(msg);
  });
  const rustCall = (pw, id) => call(rust, JSON.stringify({ check: { id, password: pw } }),
    (d) => JSON.parse(d).report.report.strength.score);
  const jsCall = (pw, id) => call(js, { id, password: pw, inputs }, (d) => d.score);
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
  // Warm both engines (lazy dictionaries, JIT) before timing.
  for (let i = 0; i < 5; i++) { await rustCall('warm-up-Password-1', 1); await jsCall('warm-up-Password-1', 1); }
  const out = [];
  let id = 2;
  for (const len of lengths) {
    const r = [], j = [];
    let agree = 0;
    const differ = [];
    for (const pw of passwords[len]) {
      const a = await rustCall(pw, id++);
      const b = await jsCall(pw, id++);
      r.push(a.ms); j.push(b.ms);
      if (a.score === b.score) agree++;
      else differ.push(`${pw} (sspr ${a.score}, JS ${b.score})`);
    }
    console.log(`length ${len} done`);
    out.push({ len, rust: median(r), js: median(j), agree, n: passwords[len].length, differ });
  }
  return out;
}, { loader, passwords, lengths: LENGTHS });
await browser.close();
server.close();

const flag = (ok) => (ok ? 'within budget' : 'OVER BUDGET');
console.log('\nsspr strength benchmark (Chromium %s, median round trip to a Web Worker, %d passwords per length)\n',
  browser.version?.() ?? '', PER_LENGTH);
console.log('length   sspr worker (ms)   JS zxcvbn 4.4.2 (ms)   JS / sspr   same score');
for (const r of results) {
  console.log(`${String(r.len).padStart(6)}   ${r.rust.toFixed(2).padStart(16)}   ${r.js.toFixed(2).padStart(20)}   ${(r.js / r.rust).toFixed(1).padStart(9)}x   ${r.agree}/${r.n}`);
}
for (const r of results.filter((r) => r.differ.length)) {
  console.log(`  scores differ at ${r.len}: ${r.differ.slice(0, 3).join('; ')}${r.differ.length > 3 ? '; ...' : ''}`);
}
const at64 = results.find((r) => r.len === 64);
console.log('\nbudgets');
console.log(`  first load of the reset page      ${kb(resetBytes).padStart(7)} KiB brotli   (budget ${BUDGET.resetKB} KiB: ${flag(resetBytes <= BUDGET.resetKB * 1024)})`);
console.log(`  strength engine (worker)          ${kb(engineBytes).padStart(7)} KiB brotli   (budget ${BUDGET.engineKB} KiB: ${flag(engineBytes <= BUDGET.engineKB * 1024)}; JS zxcvbn bundle ${kb(zxcvbnJsBytes)} KiB)`);
console.log(`  strength call at 64 characters    ${at64.rust.toFixed(2).padStart(7)} ms median  (budget ${BUDGET.median64ms} ms: ${flag(at64.rust <= BUDGET.median64ms)})`);
console.log('\nThe sspr worker runs the whole policy (length, names, banned list, zxcvbn) and JSON both ways;');
console.log('the JS worker runs zxcvbn alone.');
