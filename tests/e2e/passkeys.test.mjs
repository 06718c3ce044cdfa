// Passkeys end to end in Chromium, with the DevTools virtual authenticator
// (CTAP2, internal transport, resident keys, user verification on): dave
// registers a passkey at the sign-in interrupt and names it, adds an email,
// renames it, signs in to security info with the passkey alone, then resets his
// password with the passkey as one gate and an emailed code as the other.
// At both viewports, axe at every step. The portal runs on `localhost`: an
// IP address cannot be a relying party.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  startSspr, startSmtpSink, launchChromium, watchedPage, assertAccessible, virtualAuthenticator, VIEWPORTS, SCREENS,
} from './harness.mjs';

const DAVE = { name: 'dave', password: 'Dave-demo-2026!', email: 'dave@example.com' };
const codeIn = (text) => text.match(/\b(\d{8})\b/)[1];

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

for (const vp of VIEWPORTS) {
  test(`dave registers a passkey, signs in with it alone and resets with it at ${vp.name}`, async () => {
    const server = await startSspr({
      theme: 'northwind',
      host: 'localhost',
      smtpPort: smtp.port,
      config: '[policy]\npasskeys = true\nmethods_required = 2\n',
    });
    const { page, context, problems } = await watchedPage(browser, vp, { phone: vp.name === 'phone' });
    const shot = (step) => page.screenshot({ path: join(SCREENS, `passkey-${step}-${vp.name}.png`), fullPage: true });
    try {
      const authenticator = await virtualAuthenticator(page);

      // The interrupt: a passkey first, named by dave.
      await page.goto(server.url + '/signin');
      await page.getByLabel('User name or email address').fill(DAVE.name);
      await page.getByLabel('Password').fill(DAVE.password);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('heading', { level: 2, name: 'Keep your account secure' }).waitFor();
      await page.getByRole('radio', { name: 'Passkey' }).check();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { level: 2, name: 'Add a passkey' }).waitFor();
      await assertAccessible(page, 'Add a passkey');
      await shot('add');
      await page.getByLabel('Name this passkey').fill('Work laptop');
      await page.getByRole('button', { name: 'Create passkey' }).click();
      await page.getByText(/set up one more way to prove who you are/).waitFor();
      const made = await authenticator.credentials();
      assert.equal(made.length, 1);
      assert.equal(made[0].isResidentCredential, true, 'a discoverable credential');
      assert.equal(made[0].rpId, 'localhost');

      // Then an email, over real SMTP.
      const sent = smtp.mails().length;
      await page.getByRole('radio', { name: 'Email' }).check();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByLabel('Email address').fill(DAVE.email);
      await page.getByRole('button', { name: 'Send code' }).click();
      const mail = await smtp.waitFor((m) => m.to.includes(DAVE.email) && /verification code/.test(m.subject), sent);
      await page.getByRole('textbox', { name: 'Code' }).fill(codeIn(mail.body));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { level: 2, name: 'Your methods' }).waitFor();
      await page.locator('.methods').getByText('Work laptop').waitFor();
      await assertAccessible(page, 'Your methods');
      await shot('methods');

      // Renamed in place.
      await page.getByRole('button', { name: 'Rename the passkey Work laptop' }).click();
      const rename = page.locator('.methods').getByLabel('Name this passkey');
      assert.equal(await rename.inputValue(), 'Work laptop');
      await assertAccessible(page, 'Renaming a passkey');
      await rename.fill('Laptop at work');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByText('Passkey renamed.').waitFor();
      await page.locator('.methods').getByText('Laptop at work').waitFor();
      assert.equal(await page.locator('.methods').getByText('Work laptop').count(), 0);

      // Signed out, back in with the passkey alone.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.goto(server.url + '/signin');
      await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
      await assertAccessible(page, 'Sign in, with a passkey offered');
      await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      await page.getByRole('heading', { level: 1, name: 'Security info' }).waitFor();
      await page.locator('.methods').getByText('Laptop at work').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();

      // A reset: the passkey, then an emailed code.
      await page.goto(server.url + '/reset');
      await page.getByLabel('User name or email address').fill(DAVE.name);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('radio', { name: 'Use a passkey' }).check();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { level: 2, name: 'Use your passkey' }).waitFor();
      await assertAccessible(page, 'Use your passkey');
      await shot('reset-gate');
      await page.getByRole('button', { name: 'Use a passkey' }).click();
      await page.getByRole('heading', { level: 2, name: 'Now choose a second, different method' }).waitFor();
      assert.equal(await page.getByRole('radio', { name: 'Use a passkey' }).count(), 0);
      const before = smtp.mails().length;
      await page.getByRole('radio', { name: /^Email / }).check();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { level: 2, name: 'Check your email' }).waitFor();
      const resetMail = await smtp.waitFor((m) => m.to.includes(DAVE.email) && /reset code/.test(m.subject), before);
      await page.getByRole('textbox', { name: 'Code', exact: true }).fill(codeIn(resetMail.body));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('heading', { level: 2, name: 'Choose a new password' }).waitFor();
      await assertAccessible(page, 'Choose a new password, after a passkey');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await server.stop();
    }
  });
}
