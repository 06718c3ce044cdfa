// Shared e2e plumbing: a real sspr on a free loopback port with its own store
// and theme, and Debian's Chromium driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, cpSync, writeFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
export { startVoiceSink } from './voice_sink.mjs';

export const ROOT = resolve(import.meta.dirname, '../..');
export const SCREENS = join(ROOT, 'target/e2e');
mkdirSync(SCREENS, { recursive: true });

export const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 375, height: 667 },
];

const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Starts sspr with `config` (TOML, without [server]) and a copy of one of the
 *  example themes in `themes/`, plus `themeFiles` ({name: source path}) in its
 *  branding folder (`branding/` beside the theme, served under /branding/).
 *  With `smtpPort`, mail goes over real SMTP to that port. `restart(offset)`
 *  runs the same server (same store and port) again with its clock moved by
 *  faketime's `offset` (e.g. '+181d'). With `metricsPort`, the server also
 *  answers GET /metrics there (`server.metrics_bind`), at `metricsUrl`. */
export async function startSspr({ theme, themeFiles = {}, config = '', server = '', smtpPort, metricsPort, host = '127.0.0.1' }) {
  const dir = mkdtempSync(join(tmpdir(), 'sspr-e2e-'));
  const themeDir = join(dir, 'theme');
  cpSync(join(ROOT, 'themes', theme), themeDir, { recursive: true });
  for (const [name, source] of Object.entries(themeFiles)) cpSync(source, join(themeDir, 'branding', name));
  const port = await freePort();
  const bin = process.env.SSPR_BIN ?? join(ROOT, 'target/debug/sspr');
  const configFile = join(dir, 'sspr.toml');
  // `host: 'localhost'` for passkeys: an IP address cannot be a WebAuthn relying party.
  const url = `http://${host}:${port}`;
  const dist = process.env.SSPR_DIST ?? join(ROOT, 'dist');
  writeFileSync(
    join(dir, 'sspr.toml'),
    `[server]\nbind = "127.0.0.1:${port}"\npublic_url = "${url}"\nassets_dir = ${JSON.stringify(dist)}\n${server}\n` +
      (metricsPort ? `metrics_bind = "127.0.0.1:${metricsPort}"\n` : '') +
      `[store]\nurl = "sqlite://sspr.db?mode=rwc"\n[directory]\ndemo_users = true\n` +
      `[theme]\nfile = "theme/theme.json"\n` +
      (smtpPort ? `[delivery]\nmail = "smtp"\nsmtp_host = "127.0.0.1"\nsmtp_port = ${smtpPort}\nsmtp_tls = "none"\nfrom = "IT Helpdesk <no-reply@northwind.test>"\n` : '') +
      config,
  );
  let log = '';
  const run = async (offset) => {
    // libfaketime (Debian's faketime) is preloaded straight into sspr, not run
    // through the `faketime` wrapper, so stopping the child stops the server.
    // Only wall-clock time moves; tokio's timers keep the real monotonic clock.
    const env = offset
      ? { ...process.env, LD_PRELOAD: FAKETIME_LIB, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' }
      : process.env;
    const child = spawn(bin, ['--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env });
    child.stderr.on('data', (d) => (log += d));
    await new Promise((ok, fail) => {
      child.once('exit', (code) => fail(new Error(`sspr exited with ${code}:\n${log}`)));
      child.stdout.on('data', (d) => {
        if (String(d).includes('sspr listening')) ok();
      });
    });
    return child;
  };
  let child = await run();
  const stop = () => new Promise((ok) => {
    if (child.exitCode !== null) return ok();
    child.once('exit', ok);
    child.kill('SIGTERM');
  });
  return {
    url,
    metricsUrl: metricsPort ? `http://127.0.0.1:${metricsPort}/metrics` : undefined,
    dir,
    themeFile: join(themeDir, 'theme.json'),
    log: () => log,
    stop,
    async restart(offset) {
      await stop();
      child = await run(offset);
    },
    /** `sspr <args>` against this server's config (e.g. `tap issue`). */
    cli: (args) => execFileSync(bin, ['--config', configFile, ...args], { encoding: 'utf8' }).trim(),
    /** Texts the dev outbox received. */
    texts: () => {
      const f = join(dir, 'outbox', 'sms.jsonl');
      return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
    },
  };
}

export async function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/**
 * A page that records console errors, page errors and CSP violations, so a
 * test can assert that none happened.
 */
export async function watchedPage(browser, viewport, { phone = false, colorScheme = 'light', locale = 'en-GB' } = {}) {
  // `phone` emulates a touch phone (coarse pointer, mobile viewport rules).
  const context = await browser.newContext({
    viewport: { width: viewport.width, height: viewport.height },
    colorScheme,
    locale,
    ...(phone ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`); });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { page, context, problems };
}

/** One portal for a test file: a real SMTP server, sspr started with `opts`
 *  (see startSspr) and sending mail to it, and Chromium, started before the
 *  file's tests and stopped after them. The fields fill in before the tests run. */
export function portalPerFile(opts) {
  const env = {};
  before(async () => {
    env.smtp = await startSmtpSink();
    env.server = await startSspr({ ...opts, smtpPort: env.smtp.port });
    env.browser = await launchChromium();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
    await env.smtp?.stop();
  });
  return env;
}

/** A real SMTP server (aiosmtpd) on a free port; `mails()` reads what it received. */
export async function startSmtpSink() {
  const port = await freePort();
  const file = join(mkdtempSync(join(tmpdir(), 'sspr-smtp-')), 'mail.jsonl');
  const child = spawn('python3', [join(import.meta.dirname, 'smtp_sink.py'), String(port), file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`smtp sink exited with ${code}`)));
    child.stdout.on('data', (d) => { if (String(d).includes('ready')) ok(); });
  });
  const mails = () =>
    existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  return {
    port,
    mails,
    /** Waits (polling the sink's file) for a mail matching `pred` that is not among the first `skip`. */
    async waitFor(pred, skip = 0, timeoutMs = 10000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = mails().slice(skip).find(pred);
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no matching mail; received: ${JSON.stringify(mails())}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => new Promise((ok) => { child.once('exit', ok); child.kill('SIGTERM'); }),
  };
}

/** The current TOTP code, from Debian's oathtool: an implementation independent of sspr's. */
export function oathtool(base32Secret) {
  return execFileSync('oathtool', ['--totp', '-b', base32Secret], { encoding: 'utf8' }).trim();
}

/** Decodes the QR code in a PNG with Debian's zbarimg. */
export function zbarimg(pngPath) {
  return execFileSync('zbarimg', ['--raw', '-q', pngPath], { encoding: 'utf8' }).trim();
}

/** Polls `fn` until it returns something truthy. */
export async function eventually(fn, what, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs axe (WCAG 2.2 A and AA, and best practices) and fails with what it found. */
export async function assertAccessible(page, where) {
  const { violations } = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'])
    .analyze();
  const found = violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(found, [], `axe at ${where}`);
}


/** Identify over the API, as the page does: the proof of work solved here,
 *  then the flow's view (for choosing a decoy to drive in the page). */
export async function identifyByApi(url, identifier) {
  const post = (path, body) => fetch(url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: url },
    body: JSON.stringify(body),
  }).then((r) => r.json());
  const ch = await post('/api/reset/challenge', {});
  const prefix = Buffer.from(ch.prefix, 'hex');
  const zeros = (d) => {
    let n = 0;
    for (const b of d) {
      if (b === 0) { n += 8; continue; }
      return n + Math.clz32(b) - 24;
    }
    return n;
  };
  const buf = Buffer.alloc(prefix.length + 8);
  prefix.copy(buf);
  for (let nonce = 0n; ; nonce++) {
    buf.writeBigUInt64LE(nonce, prefix.length);
    if (zeros(createHash('sha256').update(buf).digest()) >= ch.difficulty) {
      return post('/api/reset/start', { identifier, pow: { id: ch.id, nonce: Number(nonce) } });
    }
  }
}

/** A platform authenticator that verifies its user (CTAP2, internal
 *  transport, resident keys), on `page`, through DevTools' WebAuthn domain.
 *  `credentials()` lists what it holds; `rewind(credential, signCount)` puts
 *  one back with its signature counter set, as a copy made earlier would. */
export async function virtualAuthenticator(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
    rewind: async (credential, signCount) => {
      await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credential.credentialId });
      await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential, signCount } });
    },
  };
}
