// Two sspr nodes on one PostgreSQL behind Debian's haproxy, which terminates
// TLS and adds X-Forwarded-For, the way the README says to run it. Chromium
// resets a password through the proxy while requests go to both nodes; one
// node is killed with SIGKILL mid-reset and the reset completes on the other.
// Afterwards every audit record and every mail is there exactly once, and the
// per-IP windows (shared in the store) count the real client, not the proxy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SCREENS, VIEWPORTS, freePort, launchChromium, startSmtpSink } from './harness.mjs';

const PG = process.env.SSPR_TEST_PG_URL;
// The proxy's own address towards the nodes: the only trusted one.
const PROXY_SOURCE = '127.0.0.2';
// A second client machine, for the per-IP windows.
const OTHER_CLIENT = '127.0.0.5';

const env = {};

/** SQL against the test's database, through Debian's psql: rows of fields. */
function sql(query) {
  const out = execFileSync('psql', [env.db, '-At', '-F', '\t', '-c', query], { encoding: 'utf8' });
  return out.split('\n').filter(Boolean).map((l) => l.split('\t'));
}

function startNode(name, port) {
  const dir = join(env.dir, name);
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'sspr.toml');
  writeFileSync(config, [
    '[server]',
    `bind = "127.0.0.1:${port}"`,
    `public_url = "${env.url}"`,
    `assets_dir = ${JSON.stringify(process.env.SSPR_DIST ?? join(ROOT, 'dist'))}`,
    `trusted_proxies = ["${PROXY_SOURCE}/32"]`,
    '[store]',
    `url = "${env.db}"`,
    '[directory]',
    'demo_users = true',
    '[secrets]',
    // One master key for every node: each must open what the other sealed.
    `key_file = ${JSON.stringify(join(env.dir, 'sspr.key'))}`,
    '[reset]',
    'identify_per_ip = 8',
    '[delivery]',
    'mail = "smtp"',
    'smtp_host = "127.0.0.1"',
    `smtp_port = ${env.smtp.port}`,
    'smtp_tls = "none"',
    'from = "IT Helpdesk <no-reply@example.com>"',
    '',
  ].join('\n'));
  const bin = process.env.SSPR_BIN ?? join(ROOT, 'target/debug/sspr');
  const child = spawn(bin, ['--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  return new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`${name} exited with ${code}:\n${log}`)));
    child.stdout.on('data', (d) => {
      if (String(d).includes('sspr listening')) ok({ name, port, child, log: () => log });
    });
  });
}

/** An HTTPS request to the proxy from `localAddress`, trusting only the
 *  test's own certificate: status, JSON body and the node that served it. */
function viaProxy(path, { method = 'GET', body, localAddress = '127.0.0.1', headers = {} } = {}) {
  return new Promise((ok, fail) => {
    const req = request({
      host: 'localhost',
      port: env.proxyPort,
      path,
      method,
      ca: env.cert,
      localAddress,
      headers: body === undefined ? headers : { 'content-type': 'application/json', origin: env.url, ...headers },
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => ok({ status: res.statusCode, node: res.headers['x-served-by'], text }));
    });
    req.once('error', fail);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

before(async () => {
  assert.ok(PG, 'SSPR_TEST_PG_URL names the throwaway PostgreSQL cluster (cargo xtask test sets it)');
  env.dir = mkdtempSync(join(tmpdir(), 'sspr-ha-'));
  // A throwaway certificate for the proxy's TLS.
  const key = join(env.dir, 'key.pem');
  const cert = join(env.dir, 'cert.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost',
  ], { stdio: 'ignore' });
  env.cert = readFileSync(cert);
  writeFileSync(join(env.dir, 'proxy.pem'), Buffer.concat([env.cert, readFileSync(key)]));
  // A database of its own on the test cluster.
  const name = `ha_${process.pid}_${Date.now()}`;
  execFileSync('psql', [PG, '-c', `CREATE DATABASE ${name}`], { stdio: 'ignore' });
  env.db = PG.replace(/\/[^/]*$/, `/${name}`);
  env.smtp = await startSmtpSink();
  env.proxyPort = await freePort();
  env.url = `https://localhost:${env.proxyPort}`;
  const [p1, p2] = [await freePort(), await freePort()];
  // One after the other: the first creates the key and migrates the store.
  env.nodes = [await startNode('n1', p1)];
  env.nodes.push(await startNode('n2', p2));
  const cfg = join(env.dir, 'haproxy.cfg');
  writeFileSync(cfg, `
global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 3
  option redispatch 1
frontend portal
  bind 127.0.0.1:${env.proxyPort} ssl crt ${join(env.dir, 'proxy.pem')}
  option forwardfor
  http-response set-header X-Served-By %s
  default_backend nodes
backend nodes
  balance roundrobin
  source ${PROXY_SOURCE}
  option httpchk GET /api/ready
  http-check expect status 200
  server n1 127.0.0.1:${p1} check inter 500ms fall 1 rise 2
  server n2 127.0.0.1:${p2} check inter 500ms fall 1 rise 2
`);
  execFileSync('haproxy', ['-c', '-q', '-f', cfg]);
  env.proxy = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let proxyLog = '';
  env.proxy.stderr.on('data', (d) => (proxyLog += d));
  env.proxyLog = () => proxyLog;
  // Both nodes up behind the proxy.
  const seen = new Set();
  for (let i = 0; seen.size < 2; i++) {
    assert.ok(i < 100, `the proxy never reached both nodes: ${proxyLog}`);
    const r = await viaProxy('/api/health').catch(() => ({}));
    if (r.status === 200) seen.add(r.node);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  env.browser = await launchChromium();
});

after(async () => {
  await env.browser?.close();
  env.proxy?.kill('SIGTERM');
  for (const n of env.nodes ?? []) if (n.child.exitCode === null) n.child.kill('SIGTERM');
  await env.smtp?.stop();
});

test('a reset through the TLS proxy survives a node killed mid-reset, and loses or repeats nothing', async () => {
  const vp = VIEWPORTS[0];
  // The proxy's certificate is the test's own: this browser takes it.
  const ctx = await env.browser.newContext({ viewport: { width: vp.width, height: vp.height }, ignoreHTTPSErrors: true, locale: 'en-GB' });
  const tab = await ctx.newPage();
  const problems = [];
  tab.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  // Which node answered each API call, in order.
  const served = [];
  tab.on('response', (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith('/api/reset/')) served.push([u.pathname, r.headers()['x-served-by'], r.status()]);
  });
  tab.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

  await tab.goto(env.url + '/reset');
  await tab.getByLabel('User name or email address').fill('alice');
  await tab.getByRole('button', { name: 'Next' }).click();
  await tab.getByRole('heading', { level: 2, name: "How should we check it's you?" }).waitFor();
  await tab.getByRole('radio', { name: /^Email / }).check();
  await tab.getByRole('button', { name: 'Next' }).click();
  await tab.getByRole('heading', { level: 2, name: 'Check your email' }).waitFor();
  const codeMail = await env.smtp.waitFor((m) => m.to.includes('alice@example.com') && /reset code/.test(m.subject));
  const code = codeMail.body.match(/\b(\d{8})\b/)[1];
  // Links in mail use the public URL, the proxy's, never a node's address.
  assert.match(codeMail.body, new RegExp(env.url.replace(/[.:/]/g, '\\$&')));

  // So far the wizard's calls went to both nodes, in turn.
  const before = served.map(([, node]) => node);
  assert.deepEqual(new Set(before), new Set(['n1', 'n2']), JSON.stringify(served));
  assert.ok(before.some((n, i) => i > 0 && n !== before[i - 1]), JSON.stringify(served));

  // The node that took the last step dies without a chance to clean up.
  const victim = env.nodes.find((n) => n.name === before.at(-1));
  victim.child.kill('SIGKILL');
  await new Promise((ok) => victim.child.once('exit', ok));

  await tab.getByRole('textbox', { name: 'Code', exact: true }).fill(code);
  await tab.getByRole('button', { name: 'Verify' }).click();
  await tab.getByRole('heading', { level: 2, name: 'Choose a new password' }).waitFor();
  const pw = tab.getByLabel('New password');
  await pw.fill('Tangerine-Vortex-Quill-HA');
  await tab.getByRole('list', { name: 'Password rules' }).getByRole('listitem').filter({ hasText: 'Met: Hard to guess' }).waitFor();
  await tab.getByRole('button', { name: 'Reset password' }).click();
  await tab.getByRole('heading', { level: 2, name: 'Your password has been reset' }).waitFor();
  await tab.getByText('We emailed you a confirmation.').waitFor();
  await tab.screenshot({ path: join(SCREENS, 'ha-done.png') });
  const survivor = env.nodes.find((n) => n !== victim).name;
  const afterKill = served.slice(before.length);
  assert.ok(afterKill.length >= 2 && afterKill.every(([, node, s]) => node === survivor && s === 200), JSON.stringify(afterKill));

  // The notice comes once; so did the code.
  await env.smtp.waitFor((m) => m.to.includes('alice@example.com') && /password was reset/.test(m.subject));
  for (;;) {
    const [[left]] = sql('SELECT COUNT(*) FROM outbox');
    if (left === '0') break;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  const toAlice = env.smtp.mails().filter((m) => m.to.includes('alice@example.com')).map((m) => m.subject);
  assert.equal(toAlice.length, 2, JSON.stringify(toAlice));
  assert.equal(toAlice.filter((s) => /reset code/.test(s)).length, 1);
  assert.equal(toAlice.filter((s) => /password was reset/.test(s)).length, 1);

  // Every step of the reset is audited, once, with the browser's address.
  const rows = sql("SELECT activity, COALESCE(detail, ''), ip FROM audit_events WHERE actor = 'alice' ORDER BY at, activity");
  const key = ([a, d]) => `${a} / ${d}`;
  const counts = {};
  for (const r of rows) counts[key(r)] = (counts[key(r)] ?? 0) + 1;
  for (const want of [
    'Self-service password reset flow activity progress / identify',
    'Self-service password reset flow activity progress / method chosen',
    'Reset password (self-service) / ',
    'Self-service password reset flow activity progress / completed',
  ]) assert.equal(counts[want], 1, `${want}: ${JSON.stringify(rows)}`);
  assert.ok(Object.values(counts).every((n) => n === 1), JSON.stringify(rows));
  const ips = new Set(rows.map(([, , ip]) => ip));
  assert.deepEqual([...ips], ['127.0.0.1'], 'the client, never the proxy');
  assert.deepEqual(problems, []);
  await ctx.close();
});

test('per-IP windows count each client behind the proxy, across nodes', async () => {
  // The survivor still answers; bring the dead node back, so both count.
  const dead = env.nodes.find((n) => n.child.signalCode === 'SIGKILL');
  const idx = env.nodes.indexOf(dead);
  env.nodes[idx] = await startNode(dead.name, dead.port);
  const nodes = new Set();
  for (let i = 0; nodes.size < 2; i++) {
    assert.ok(i < 100, 'the proxy never took the node back');
    const r = await viaProxy('/api/health', { localAddress: OTHER_CLIENT }).catch(() => ({}));
    if (r.status === 200) nodes.add(r.node);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  // The browser's address spends its budget of 8 challenges in 10 minutes
  // (it spent one on the reset), a client that forges X-Forwarded-For
  // included: the proxy appends the real address, and that one counts.
  const answers = [];
  for (let i = 0; i < 10; i++) {
    const forged = i % 2 ? { 'x-forwarded-for': `198.51.100.${i}` } : {};
    answers.push(await viaProxy('/api/reset/challenge', { method: 'POST', body: {}, headers: forged }));
  }
  const statuses = answers.map((a) => a.status);
  assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 429, 429, 429], JSON.stringify(answers));
  assert.deepEqual(new Set(answers.map((a) => a.node)), new Set(['n1', 'n2']), 'both nodes counted one window');
  // Another client behind the same proxy still has its own.
  const other = await viaProxy('/api/reset/challenge', { method: 'POST', body: {}, localAddress: OTHER_CLIENT });
  assert.equal(other.status, 200, other.text);
  const keys = sql("SELECT key, hits FROM ip_windows WHERE key LIKE 'identify|%' ORDER BY key");
  assert.deepEqual(keys.map(([k]) => k), ['identify|127.0.0.1', `identify|${OTHER_CLIENT}`], JSON.stringify(keys));
});
