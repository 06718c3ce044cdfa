// Combined security-info registration end to end in headless Chromium, against
// a real sspr: the sign-in interrupt, an authenticator enrolled from the QR
// code as rendered (decoded by zbarimg, codes from oathtool), a phone through
// the SMS dev outbox, an email over real SMTP, recovery codes, a Temporary
// Access Pass, reconfirmation after time passes (faketime), and a reset with
// the newly registered methods.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  startSspr, startSmtpSink, launchChromium, watchedPage, oathtool, zbarimg, eventually, assertAccessible, VIEWPORTS, SCREENS,
} from './harness.mjs';

const [DESKTOP, PHONE] = VIEWPORTS;
const DAVE = { name: 'dave', password: 'Dave-demo-2026!', email: 'dave@example.com' };

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

const codeIn = (text) => text.match(/\b(\d{8})\b/)[1];

async function signIn(page, url, name, password) {
  await page.goto(url + '/signin');
  await page.getByLabel('User name or email address').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Security info' }).waitFor();
}

/** Adds the authenticator from the QR code as drawn; returns the decoded URI. */
async function enrollAuthenticator(page, shotName, { appLink }) {
  await page.getByRole('radio', { name: 'Authenticator app' }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { level: 2, name: 'Set up your authenticator app' }).waitFor();
  await assertAccessible(page, 'Set up your authenticator app');
  // A phone cannot scan its own screen: only there is the app link shown.
  assert.equal(await page.getByRole('link', { name: 'Open in authenticator app' }).isVisible(), appLink);
  const qr = page.getByRole('img', { name: 'QR code for your authenticator app' });
  const png = join(SCREENS, `qr-${shotName}.png`);
  await qr.screenshot({ path: png });
  const uri = zbarimg(png);
  assert.match(uri, /^otpauth:\/\/totp\/Northwind%20Test%20Traders:dave\?secret=[A-Z2-7]{32}&/);
  const secret = new URL(uri).searchParams.get('secret');
  // The code comes from oathtool, given only what the QR code carried.
  await page.getByRole('textbox', { name: 'Code' }).fill(oathtool(secret));
  await page.getByRole('button', { name: 'Verify' }).click();
  return uri;
}

/** Adds a phone; the code comes from the SMS dev outbox. */
async function enrollPhone(page, server) {
  await page.getByRole('radio', { name: 'Phone' }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { level: 2, name: 'Add a phone' }).waitFor();
  await assertAccessible(page, 'Add a phone');
  const number = page.getByLabel('Phone number');
  await number.fill('07700 900123');
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByText('Start with + and the country code, for example +44 7700 900123.').waitFor();
  assert.equal(await number.getAttribute('aria-invalid'), 'true');
  await number.fill('+44 7700 900123');
  const before = server.texts().length;
  await page.getByRole('button', { name: 'Send code' }).click();
  await page.getByRole('heading', { level: 2, name: 'Check your phone' }).waitFor();
  await assertAccessible(page, 'Check your phone');
  await page.getByText('We texted a code to +447700900123.').waitFor();
  const text = await eventually(() => server.texts().slice(before).find((t) => t.to === '+447700900123'), 'the text');
  await page.getByRole('textbox', { name: 'Code' }).fill(codeIn(text.body));
  await page.getByRole('button', { name: 'Verify' }).click();
}

/** The reset wizard through to the new password, with the given gates. */
async function resetWith(page, url, name, gates, newPassword) {
  await page.goto(url + '/reset');
  await page.getByLabel('User name or email address').fill(name);
  await page.getByRole('button', { name: 'Next' }).click();
  for (const gate of gates) {
    await page.getByRole('radio', { name: gate.option }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { level: 2, name: gate.heading }).waitFor();
    await page.getByRole('textbox', { name: 'Code' }).fill(await gate.code());
    await page.getByRole('button', { name: 'Verify' }).click();
  }
  await page.getByRole('heading', { level: 2, name: 'Choose a new password' }).waitFor();
  await page.getByLabel('New password').fill(newPassword);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await page.getByRole('heading', { level: 2, name: 'Your password has been reset' }).waitFor();
}

test('desktop: dave is interrupted at sign-in, registers an authenticator and a phone, adds an email, then resets with them', async () => {
  const server = await startSspr({ theme: 'northwind', smtpPort: smtp.port, config: '[policy]\nmethods_required = 2\n' });
  const { page, context, problems } = await watchedPage(browser, DESKTOP);
  try {
    await signIn(page, server.url, DAVE.name, DAVE.password);
    await page.getByRole('heading', { level: 2, name: 'Keep your account secure' }).waitFor();
    await assertAccessible(page, 'Keep your account secure');
    await page.getByText(/set up 2 more ways to prove who you are/).waitFor();
    await page.screenshot({ path: join(SCREENS, 'security-interrupt-desktop.png'), fullPage: true });

    const sent = smtp.mails().length;
    await enrollAuthenticator(page, 'desktop', { appLink: false });
    await page.getByText(/set up one more way to prove who you are/).waitFor();

    await enrollPhone(page, server);
    await page.getByRole('status').getByText("You're all set: your security info is complete.").waitFor();
    await page.getByRole('heading', { level: 2, name: 'Your methods' }).waitFor();
    await assertAccessible(page, 'Your methods');
    const list = page.locator('.methods');
    await list.getByText('Authenticator app').waitFor();
    await list.getByText('+447700900123').waitFor();

    // An email, confirmed with a code that arrives over real SMTP.
    await page.getByRole('button', { name: 'Add sign-in method' }).click();
    await page.getByRole('radio', { name: 'Email' }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Email address').fill('dave.home@example.org');
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByText('We sent a code to dave.home@example.org.').waitFor();
    const mail = await smtp.waitFor((m) => m.to.includes('dave.home@example.org') && /verification code/.test(m.subject), sent);
    await page.getByRole('textbox', { name: 'Code' }).fill(codeIn(mail.body));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('status').getByText('Method added.').waitFor();
    await list.getByText('dave.home@example.org').waitFor();
    await page.screenshot({ path: join(SCREENS, 'security-info-desktop.png'), fullPage: true });

    // Every change was mailed to the user.
    await smtp.waitFor((m) => m.to.includes(DAVE.email) && /security info was changed/.test(m.subject)
      && /A phone number was added/.test(m.body), sent);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText("You're signed out.").waitFor();

    // The new methods reset the password: email over SMTP, then the phone.
    const before = smtp.mails().length;
    const textsBefore = server.texts().length;
    await resetWith(page, server.url, DAVE.name, [
      {
        option: 'Email d***@e***.org',
        heading: 'Check your email',
        code: async () => codeIn((await smtp.waitFor((m) => m.to.includes('dave.home@example.org') && /reset code/.test(m.subject), before)).body),
      },
      {
        option: 'Text +*** *** **23',
        heading: 'Check your phone',
        code: async () => codeIn((await eventually(() => server.texts().slice(textsBefore).find((t) => t.to === '+447700900123'), 'the reset text')).body),
      },
    ], 'Marmalade-Lantern-Orbit-7');
    await signIn(page, server.url, DAVE.name, 'Marmalade-Lantern-Orbit-7');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('phone: a Temporary Access Pass lets dave register; the app link replaces scanning; recovery codes reset', async () => {
  const server = await startSspr({ theme: 'northwind', smtpPort: smtp.port, config: '[policy]\nmethods_required = 2\n' });
  const { page, context, problems } = await watchedPage(browser, PHONE, { phone: true });
  try {
    const pass = server.cli(['tap', 'issue', '--user', 'dave', '--one-time']);
    assert.match(pass, /^[A-Za-z0-9]{8}$/);
    await signIn(page, server.url, DAVE.name, pass);
    await page.getByRole('heading', { level: 2, name: 'Keep your account secure' }).waitFor();
    await assertAccessible(page, 'Keep your account secure');

    // On a phone the otpauth link is offered, and it carries what the QR code carries.
    await page.getByRole('radio', { name: 'Authenticator app' }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    const link = page.getByRole('link', { name: 'Open in authenticator app' });
    await link.waitFor();
    assert.ok((await link.boundingBox()).height >= 44);
    const href = await link.getAttribute('href');
    await page.getByRole('button', { name: 'Back' }).click();
    const uri = await enrollAuthenticator(page, 'phone', { appLink: true });
    assert.notEqual(uri, href, 'going back started a fresh secret');
    await page.getByText(/set up one more way/).waitFor();
    await enrollPhone(page, server);
    await page.getByRole('status').getByText("You're all set: your security info is complete.").waitFor();

    // A pass session may only register.
    await page.getByText('You signed in with a Temporary Access Pass.', { exact: false }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Change password' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: /^Remove/ }).count(), 0);

    // Recovery codes: shown once, ten of them.
    await page.getByRole('button', { name: 'Add sign-in method' }).click();
    await page.getByRole('radio', { name: 'Recovery codes' }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { level: 2, name: 'Save your recovery codes' }).waitFor();
    await assertAccessible(page, 'Save your recovery codes');
    const codes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
    assert.equal(codes.length, 10);
    assert.ok(codes.every((c) => /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/.test(c)), codes.join(' '));
    const download = page.getByRole('link', { name: 'Download' });
    assert.equal(await download.getAttribute('download'), 'recovery-codes.txt');
    await page.screenshot({ path: join(SCREENS, 'security-recovery-codes-phone.png'), fullPage: true });
    await page.getByRole('button', { name: "I've saved my codes" }).click();
    await page.locator('.methods').getByText('10 of 10 left').waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText("You're signed out.").waitFor();
    // The one-time pass is spent.
    await page.goto(server.url + '/signin');
    await page.getByLabel('User name or email address').fill('dave');
    await page.getByLabel('Password').fill(pass);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('That user name or password is not right.').waitFor();

    const textsBefore = server.texts().length;
    await resetWith(page, server.url, DAVE.name, [
      { option: 'Use one of my recovery codes', heading: 'Enter a recovery code', code: async () => codes[0] },
      {
        option: 'Text +*** *** **23',
        heading: 'Check your phone',
        code: async () => codeIn((await eventually(() => server.texts().slice(textsBefore).find((t) => t.to === '+447700900123'), 'the reset text')).body),
      },
    ], 'Quartz-Heron-Pickle-42');
    await signIn(page, server.url, DAVE.name, 'Quartz-Heron-Pickle-42');
    assert.deepEqual(problems.filter((p) => !/\b401\b/.test(p)), []);
  } finally {
    await context.close();
    await server.stop();
  }
});

test('reconfirmation is asked once 180 days pass on the server clock', async () => {
  const server = await startSspr({ theme: 'northwind' });
  const { page, context } = await watchedPage(browser, DESKTOP);
  try {
    await signIn(page, server.url, 'alice', 'Alice-demo-2026!');
    await page.getByRole('heading', { level: 2, name: 'Your methods' }).waitFor();
    await assertAccessible(page, 'Your methods');

    await server.restart('+181d');
    await signIn(page, server.url, 'alice', 'Alice-demo-2026!');
    await page.getByRole('heading', { level: 2, name: 'Is your security info still right?' }).waitFor();
    await assertAccessible(page, 'Is your security info still right?');
    await page.getByText('Authenticator app').first().waitFor();
    await page.getByRole('button', { name: 'Looks good' }).click();
    await page.getByRole('status').getByText('Thanks: your security info is confirmed.').waitFor();
    await page.getByRole('heading', { level: 2, name: 'Your methods' }).waitFor();
    await assertAccessible(page, 'Your methods');
    await page.reload();
    await page.getByRole('heading', { level: 2, name: 'Your methods' }).waitFor();
    await assertAccessible(page, 'Your methods');
  } finally {
    await context.close();
    await server.stop();
  }
});

test('removing a method asks for the password again after 10 minutes, then a proof of a method she has; the password can be changed', async () => {
  const server = await startSspr({ theme: 'northwind', smtpPort: smtp.port });
  const { page, context, problems } = await watchedPage(browser, DESKTOP);
  try {
    await signIn(page, server.url, 'alice', 'Alice-demo-2026!');
    await page.getByRole('heading', { level: 2, name: 'Your methods' }).waitFor();
    await assertAccessible(page, 'Your methods');

    // Eleven minutes later (same session), removal needs the password again.
    await server.restart('+11m');
    await page.reload();
    await page.getByRole('button', { name: 'Remove Email' }).click();
    const confirm = page.getByRole('group', { name: 'Remove Email' });
    await confirm.getByText('Remove Email?').waitFor();
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('heading', { level: 2, name: 'Enter your password to continue' }).waitFor();
    await assertAccessible(page, 'Enter your password to continue');
    await page.getByLabel('Password').fill('Alice-demo-2026!');
    const before = smtp.mails().length;
    await page.getByRole('button', { name: 'Continue' }).click();
    // A password alone never changes security info: the portal asks for a
    // method alice already has, then carries on with the removal.
    await page.getByRole('heading', { level: 2, name: "First, prove it's you" }).waitFor();
    await assertAccessible(page, 'step-up');
    await page.getByRole('radio', { name: /Email/ }).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('We sent a code to alice@example.com.').waitFor();
    const mail = await smtp.waitFor((m) => m.to.includes('alice@example.com') && /security code/.test(m.subject), before);
    await page.getByRole('textbox', { name: 'Code' }).fill(codeIn(mail.body));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('status').getByText('Method removed.').waitFor();
    assert.equal(await page.getByRole('heading', { name: "First, prove it's you" }).count(), 0);
    assert.equal(await page.locator('.methods').getByText('alice@example.com').count(), 0);
    await page.locator('.methods').getByText('Authenticator app').waitFor();

    // Change of password: the current one is checked, the new one gets the live checklist.
    await page.evaluate(() => { window.sameDocument = true; });
    await page.getByRole('link', { name: 'Change password' }).click();
    await page.getByRole('heading', { level: 1, name: 'Change password' }).waitFor();
    // Focus lands on the new page's heading, as a screen reader expects
    // after a page load.
    await page.waitForFunction(() => document.activeElement?.matches('main h1'));
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Change password');
    await assertAccessible(page, 'change password');
    await page.getByLabel('Current password').fill('not-it');
    const fresh = page.getByLabel('New password');
    const rules = page.getByRole('list', { name: 'Password rules' });
    const line = (text) => rules.getByRole('listitem').filter({ hasText: text });
    await fresh.fill('short');
    await line('Not met: At least 8 characters').waitFor();
    await fresh.fill('alice-Saffron-9');
    await line('Not met: Not your name or user name').waitFor();
    await fresh.fill('Saffron-Glacier-Tuba-9');
    await line('Met: At least 8 characters').waitFor();
    await line('Met: Hard to guess').waitFor();
    assert.equal(await rules.getByRole('listitem').filter({ hasText: 'Not met:' }).count(), 0);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText("That isn't your current password.").waitFor();
    assert.equal(await page.getByLabel('Current password').getAttribute('aria-invalid'), 'true');
    await page.getByLabel('Current password').fill('Alice-demo-2026!');
    const sent = smtp.mails().length;
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('status').getByText('Your password was changed.', { exact: false }).waitFor();
    await smtp.waitFor((m) => m.to.includes('alice@example.com') && /Your password was changed/.test(m.body), sent);
    await page.getByRole('link', { name: 'Back to security info' }).click();
    await page.getByRole('heading', { level: 2, name: 'Your methods' }).waitFor();
    await assertAccessible(page, 'Your methods');
    // The account app's links and the browser's history move within the
    // app, with no page load.
    assert.equal(new URL(page.url()).pathname, '/security-info');
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Change password' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.textContent === 'Change password');
    await page.goForward();
    await page.getByRole('heading', { level: 2, name: 'Your methods' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.textContent === 'Security info');
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'followed in-app, not by page loads');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(page, server.url, 'alice', 'Saffron-Glacier-Tuba-9');
    // The wrong current password (422) and the stale proof (401) were refused on purpose.
    assert.deepEqual(problems.filter((p) => !/\b(401|422)\b/.test(p)), []);
  } finally {
    await context.close();
    await server.stop();
  }
});
