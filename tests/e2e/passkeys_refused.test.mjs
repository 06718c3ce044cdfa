// Passkeys that must be refused, in Chromium with the DevTools virtual
// authenticator: an assertion the browser made for another origin (another
// portal on the same host, so the same relying-party id), and one whose
// signature counter went back (a copied credential). Both are made by the
// real browser; the portal must say no and sign nobody in. At both
// viewports, axe on the refusal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSspr, startSmtpSink, launchChromium, watchedPage, assertAccessible, virtualAuthenticator, VIEWPORTS,
} from './harness.mjs';

const DAVE = { name: 'dave', password: 'Dave-demo-2026!' };
const CONFIG = '[policy]\npasskeys = true\nmethods_required = 1\n';

let smtp;
let browser;

before(async () => {
  smtp = await startSmtpSink();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await smtp?.stop();
});

async function signInWithPassword(page, url) {
  await page.goto(url + '/signin');
  await page.getByLabel('User name or email address').fill(DAVE.name);
  await page.getByLabel('Password').fill(DAVE.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

for (const vp of VIEWPORTS) {
  test(`a passkey from another origin, or with a counter that went back, is refused at ${vp.name}`, async () => {
    const portal = await startSspr({ theme: 'northwind', host: 'localhost', smtpPort: smtp.port, config: CONFIG });
    const other = await startSspr({ theme: 'northwind', host: 'localhost', smtpPort: smtp.port, config: CONFIG });
    const { page, context, problems } = await watchedPage(browser, vp, { phone: vp.name === 'phone' });
    try {
      const authenticator = await virtualAuthenticator(page);

      // Dave's passkey, registered at the portal's interrupt.
      await signInWithPassword(page, portal.url);
      await page.getByRole('radio', { name: 'Passkey' }).check();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByLabel('Name this passkey').fill('Phone');
      await page.getByRole('button', { name: 'Create passkey' }).click();
      await page.locator('.methods').getByText('Phone').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      const [made] = await authenticator.credentials();
      assert.equal(made.rpId, 'localhost');

      // Another origin: the portal's own challenge, but the browser asked
      // for it on another portal's page (same host, so the same rp id and
      // the same credential; another port, so another origin). The same
      // steps on the portal's own page are the control.
      const assertOn = async (pageUrl) => {
        const begun = await fetch(portal.url + '/api/session/passkey/begin', {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: portal.url },
          body: '{}',
        });
        assert.equal(begun.status, 200);
        const cookie = begun.headers.get('set-cookie').split(';')[0];
        const challenge = await begun.json();
        await page.goto(pageUrl + '/signin');
        const credential = await page.evaluate(async (options) => {
          const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(options).publicKey);
          return JSON.stringify(await navigator.credentials.get({ publicKey }));
        }, challenge.options);
        return fetch(portal.url + '/api/session/passkey', {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin: portal.url, cookie },
          body: JSON.stringify({ ceremony: challenge.ceremony, credential }),
        });
      };
      const control = await assertOn(portal.url);
      assert.equal(control.status, 200, 'made on the portal\'s own page');
      const crossed = await assertOn(other.url);
      const refusal = await crossed.json();
      assert.equal(refusal.error?.id, 'passkey.refused', JSON.stringify(refusal));
      assert.equal(crossed.status, 422, 'an assertion made for another origin');
      assert.equal(crossed.headers.get('set-cookie')?.includes('session') ?? false, false, 'no session');

      // The passkey still works where it belongs.
      await page.goto(portal.url + '/signin');
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByRole('heading', { level: 1, name: 'Security info' }).waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();

      // A counter that went back: the authenticator answers as a copy made
      // before its last use would.
      const [used] = await authenticator.credentials();
      assert.ok(used.signCount >= 2, `counter ${used.signCount}`);
      await authenticator.rewind(used, used.signCount - 1);
      await page.goto(portal.url + '/signin');
      const refusedOnce = page.waitForResponse((r) => r.url() === `${portal.url}/api/session/passkey`);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      assert.equal((await refusedOnce).status(), 403);
      await page.getByRole('alert').filter({ hasText: 'may have been copied' }).waitFor();
      await assertAccessible(page, 'A passkey refused as copied');
      assert.equal(await page.getByRole('heading', { level: 1, name: 'Security info' }).count(), 0);

      // Flagged: even a counter that moves on again is refused from now on.
      const refusedAgain = page.waitForResponse((r) => r.url() === `${portal.url}/api/session/passkey`);
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      const again = await refusedAgain;
      assert.equal(again.status(), 403);
      assert.equal((await again.json()).error.id, 'passkey.cloned');
      await page.getByRole('alert').filter({ hasText: 'may have been copied' }).waitFor();
      const me = await page.evaluate(async () => (await fetch('/api/session')).json());
      assert.equal(me, null, 'nobody is signed in');
      // The two refusals, and nothing else went wrong on the page.
      const refusals = problems.filter((p) => p === `HTTP 403 ${portal.url}/api/session/passkey`);
      assert.equal(refusals.length, 2, problems.join('\n'));
      assert.deepEqual(
        problems.filter((p) => !refusals.includes(p) && !/^console: Failed to load resource: .* 403 /.test(p)),
        [],
      );
    } finally {
      await context.close();
      await other.stop();
      await portal.stop();
    }
  });
}
