// Voice calls end to end in headless Chromium, against a real sspr whose
// `delivery.voice = "http"` posts each call to a local sink (voice_sink.mjs):
// dave registers an office phone (the code is read from the call the sink
// received), then resets his password with "Call my office phone"; bob's
// mobile is offered both "Text" and "Call", and a call resets it too. At a
// desktop and a phone viewport, with axe at every step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  startSspr, startSmtpSink, startVoiceSink, launchChromium, watchedPage, assertAccessible, VIEWPORTS, SCREENS,
} from './harness.mjs';

const OFFICE = '+442079460018';
const BOB_MOBILE = '+15550100002';

let smtp;
let voice;
let browser;

before(async () => {
  smtp = await startSmtpSink();
  voice = await startVoiceSink();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await voice?.stop();
  await smtp?.stop();
});

/** The code a call read aloud: its digits, spaced so each is said alone. */
function codeIn(call) {
  const m = call.text.match(/(\d(?:, \d){7})/);
  assert.ok(m, `a spaced 8-digit code in ${JSON.stringify(call.text)}`);
  return m[1].replace(/, /g, '');
}

function assertCallShape(call) {
  assert.match(call.locale, /^en/);
  assert.ok(call.idempotency_key && call.idempotency_key === call.idempotencyHeader, 'an idempotency key, in body and header');
  assert.ok(!call.text.includes(codeIn(call)), 'the code is never read as one number');
}

async function startPortal() {
  // Appended inside [delivery] (the harness opens it for SMTP).
  const config = `voice = "http"\nvoice_http_url = "${voice.url}"\nvoice_http_token = "${voice.token}"\n` +
    '[policy]\nmethods_available = ["authenticator", "email", "sms", "office_phone"]\n';
  return startSspr({ theme: 'northwind', smtpPort: smtp.port, config });
}

async function reset(page, url, name, option, pick, newPassword, where) {
  await page.goto(url + '/reset');
  await page.getByLabel('User name or email address').fill(name);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: option }).waitFor();
  await assertAccessible(page, `${where}: choose`);
  await pick(page);
  const skip = voice.calls().length;
  await page.getByRole('radio', { name: option }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { level: 2, name: 'Answer your phone' }).waitFor();
  await assertAccessible(page, `${where}: answer your phone`);
  const to = name === 'dave' ? OFFICE : BOB_MOBILE;
  const call = await voice.waitFor(to, skip);
  assertCallShape(call);
  assert.match(call.text, /password reset code/);
  await page.getByRole('textbox', { name: 'Code' }).fill(codeIn(call));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByRole('heading', { level: 2, name: 'Choose a new password' }).waitFor();
  await page.getByLabel('New password').fill(newPassword);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await page.getByRole('heading', { level: 2, name: 'Your password has been reset' }).waitFor();
  await assertAccessible(page, `${where}: done`);
}

for (const viewport of VIEWPORTS) {
  test(`${viewport.name}: dave registers an office phone by a call and resets with it; bob's mobile takes a call`, async () => {
    const server = await startPortal();
    const { page, context, problems } = await watchedPage(browser, viewport, { phone: viewport.name === 'phone' });
    try {
      await page.goto(server.url + '/signin');
      await page.getByLabel('User name or email address').fill('dave');
      await page.getByLabel('Password').fill('Dave-demo-2026!');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { level: 2, name: 'Keep your account secure' }).waitFor();
      await page.getByRole('radio', { name: 'Office phone' }).check();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { level: 2, name: 'Add an office phone' }).waitFor();
      await assertAccessible(page, `${viewport.name}: add an office phone`);
      await page.getByLabel('Phone number').fill(OFFICE);
      const skip = voice.calls().length;
      await page.getByRole('button', { name: 'Send code' }).click();
      await page.getByRole('heading', { level: 2, name: 'Answer your phone' }).waitFor();
      await page.getByText(`We're calling ${OFFICE} to read you a code.`).waitFor();
      await assertAccessible(page, `${viewport.name}: enrol by a call`);
      const call = await voice.waitFor(OFFICE, skip);
      assertCallShape(call);
      assert.match(call.text, /add this phone to your security info/);
      await page.getByRole('textbox', { name: 'Code' }).fill(codeIn(call));
      await page.getByRole('button', { name: 'Verify' }).click();
      await page.getByRole('status').getByText("You're all set: your security info is complete.").waitFor();
      await page.locator('.methods').getByText(OFFICE).waitFor();
      await assertAccessible(page, `${viewport.name}: your methods`);
      await page.screenshot({ path: join(SCREENS, `voice-methods-${viewport.name}.png`), fullPage: true });
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByText("You're signed out.").waitFor();

      // The office phone is a reset gate of its own: called, never texted.
      const textsBefore = server.texts().length;
      await reset(page, server.url, 'dave', 'Call my office phone +*** *** **18', async (p) => {
        assert.equal(await p.getByRole('radio', { name: /Text \+\*\*\* \*\*\* \*\*18/ }).count(), 0);
      }, 'Tangerine-Harbour-Quill-4', `${viewport.name} dave`);
      assert.equal(server.texts().slice(textsBefore).filter((t) => t.to === OFFICE).length, 0);

      // A mobile offers a text and a call; the call resets.
      await reset(page, server.url, 'bob', 'Call +*** *** **02', async (p) => {
        await p.getByRole('radio', { name: 'Text +*** *** **02' }).waitFor();
        await page.screenshot({ path: join(SCREENS, `voice-choose-${viewport.name}.png`), fullPage: true });
      }, 'Juniper-Compass-Walrus-9', `${viewport.name} bob`);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
      await server.stop();
    }
  });
}
