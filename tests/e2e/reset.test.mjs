// The reset wizard end to end in headless Chromium, against a real sspr that
// sends mail over real SMTP (aiosmtpd). Two gates: an emailed code read from
// the SMTP server, and an authenticator code from oathtool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { portalPerFile, watchedPage, oathtool, identifyByApi, VIEWPORTS, SCREENS } from './harness.mjs';

// The demo users' documented authenticator secrets (README).
const USERS = {
  desktop: { name: 'alice', email: 'alice@example.com', totp: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' },
  phone: { name: 'carol', email: 'carol@example.com', totp: 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU' },
};

const portal = portalPerFile({ theme: 'northwind', config: '[policy]\nmethods_required = 2\n' });

const OLD_PASSWORDS = { alice: 'Alice-demo-2026!', carol: 'Carol-admin-2026!' };

const codeFrom = (mail) => mail.body.match(/\b(\d{8})\b/)[1];

for (const vp of VIEWPORTS) {
  const user = USERS[vp.name];
  test(`${user.name} resets with an email code and an authenticator code at ${vp.name}`, async () => {
    const { page, context, problems } = await watchedPage(portal.browser, vp);
    const shot = (step) => page.screenshot({ path: join(SCREENS, `reset-${step}-${vp.name}.png`), fullPage: true });

    // A session of the user's elsewhere, which the reset must end.
    const elsewhere = await fetch(portal.server.url + '/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: portal.server.url },
      body: JSON.stringify({ username: user.name, password: OLD_PASSWORDS[user.name] }),
    });
    assert.equal(elsewhere.status, 200);
    const elsewhereCookie = elsewhere.headers.get('set-cookie').split(';')[0];

    // From sign-in's "Forgot my password" into the wizard.
    await page.goto(portal.server.url + '/signin');
    await page.getByRole('link', { name: 'Forgot my password' }).click();
    await page.getByRole('heading', { level: 2, name: 'Who are you?' }).waitFor();
    await page.getByLabel('User name or email address').fill(user.name);
    await page.getByRole('button', { name: 'Next' }).click();

    // Gate 1 of 2: email. The masked address is shown; the code comes over SMTP.
    const choose = page.getByRole('heading', { level: 2, name: "How should we check it's you?" });
    await choose.waitFor();
    await page.waitForFunction(() => document.activeElement?.tagName === 'H2', null, { timeout: 5000 });
    assert.equal(await page.locator('.progress [aria-current="step"]').textContent(), 'Verify (1 of 2)');
    await shot('choose');
    const sent = portal.smtp.mails().length;
    await page.getByRole('radio', { name: /^Email [a-z]\*\*\*@e\*\*\*\.com$/ }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { level: 2, name: 'Check your email' }).waitFor();
    const codeBox = page.getByRole('textbox', { name: 'Code', exact: true });
    assert.equal(await codeBox.getAttribute('inputmode'), 'numeric');
    assert.equal(await codeBox.getAttribute('autocomplete'), 'one-time-code');
    await page.getByText(/You can ask for a new code in \d+ seconds?\./).waitFor();
    const mail = await portal.smtp.waitFor((m) => m.to.includes(user.email) && /reset code/.test(m.subject), sent);
    assert.match(mail.body, new RegExp(portal.server.url.replace(/[.:/]/g, '\\$&')));
    const code = codeFrom(mail);

    // A mistyped code is an error written for people, with the helpdesk link.
    await codeBox.fill('12345678');
    await page.getByRole('button', { name: 'Verify' }).click();
    const alert = page.getByRole('alert');
    await alert.getByText("That code didn't work. Check it and try again.").waitFor();
    assert.equal(await alert.getByRole('link', { name: 'Call the Northwind service desk' }).count(), 1);
    // The summary links to the field at fault; following it puts the cursor there.
    await page.locator('body').focus();
    await alert.getByRole('link', { name: "That code didn't work. Check it and try again." }).click();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'code');

    // Pasted with a space, as people copy codes from mail.
    await codeBox.fill(`${code.slice(0, 4)} ${code.slice(4)}`);
    assert.equal(await codeBox.inputValue(), code);
    await page.getByRole('button', { name: 'Verify' }).click();

    // Gate 2 of 2: a second, different method, the authenticator app.
    await page.getByRole('heading', { level: 2, name: 'Now choose a second, different method' }).waitFor();
    assert.equal(await page.getByRole('radio', { name: /^Email/ }).count(), 0, 'the proven method is not offered again');
    await page.getByRole('radio', { name: 'Enter a code from my authenticator app' }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { level: 2, name: 'Open your authenticator app' }).waitFor();
    await page.getByRole('textbox', { name: 'Code', exact: true }).fill(oathtool(user.totp));
    await page.getByRole('button', { name: 'Verify' }).click();

    // The new password: show/hide, the live checklist from the strength
    // worker, then the server's verdict.
    await page.getByRole('heading', { level: 2, name: 'Choose a new password' }).waitFor();
    const pw = page.getByLabel('New password');
    assert.equal(await pw.getAttribute('autocomplete'), 'new-password');
    const rules = page.getByRole('list', { name: 'Password rules' });
    const line = (text) => rules.getByRole('listitem').filter({ hasText: text });
    await pw.fill('short');
    await line('Not met: At least 8 characters').waitFor();
    await page.getByText(/^Strength: (Very weak|Weak)\. Guessing it would take /).waitFor();
    await page.getByRole('button', { name: 'Show' }).click();
    assert.equal(await pw.getAttribute('type'), 'text');
    await page.getByRole('button', { name: 'Hide' }).click();
    assert.equal(await pw.getAttribute('type'), 'password');
    // The user's own name fails its line, live.
    await pw.fill(`${user.name}-Harbour-1`);
    await line('Not met: Not your name or user name').waitFor();
    // A banned password: long enough, but built on "password" and a year.
    await pw.fill('Password2026');
    await line('Met: At least 8 characters').waitFor();
    await line('Not met: Not built on a common password').waitFor();
    // Screen readers hear a summary once typing pauses.
    await page.locator('[aria-live="polite"]').filter({ hasText: /^3 of 5 password rules met\. Strength: / }).waitFor({ state: "attached" });
    // The page never gates the submit on its own checks: the server decides.
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('alert').getByText("That password is built on a common or banned word, or your organisation's name.", { exact: false }).waitFor();
    await page.getByRole('alert').getByRole('link', { name: /^That password is built on a common or banned word/ }).click();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'new-password');
    await shot('password');
    const before = portal.smtp.mails().length;
    const newPassword = `Tangerine-Vortex-Quill-${vp.width}`;
    await pw.fill(newPassword);
    await line('Met: Hard to guess').waitFor();
    assert.equal(await rules.getByRole('listitem').filter({ hasText: 'Not met:' }).count(), 0);
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('heading', { level: 2, name: 'Your password has been reset' }).waitFor();
    assert.equal(await page.locator('.progress [aria-current="step"]').textContent(), 'Done');
    // The page says what else happened, as the server reports it.
    await page.getByText('We signed you out of 1 other session.').waitFor();
    await page.getByText('We emailed you a confirmation.').waitFor();
    const after = await fetch(portal.server.url + '/api/session', { headers: { cookie: elsewhereCookie } });
    assert.equal(await after.text(), 'null', 'the session elsewhere ended');
    await shot('done');

    // The user is told by mail, with the organisation's name from the theme.
    const note = await portal.smtp.waitFor((m) => m.to.includes(user.email) && /password was reset/.test(m.subject), before);
    assert.equal(note.subject, 'Your Northwind Test Traders password was reset');

    // Then the new password signs in and the old one does not.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
    const toSignIn = page.getByRole('link', { name: 'Go to sign-in' });
    assert.ok((await toSignIn.boundingBox()).height >= 44, 'a 44 px touch target');
    await toSignIn.click();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await page.getByLabel('User name or email address').fill(user.name);
    await page.getByLabel('Password').fill(OLD_PASSWORDS[user.name]);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('That user name or password is not right.').waitFor();
    await page.getByLabel('Password').fill(newPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Security info' }).waitFor();
    await page.getByText(/^Signed in as .+ \(/).waitFor();
    assert.match(await page.locator('.signed-in p').textContent(), new RegExp(`\\(${user.name}\\)$`));
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === '__Host-sspr_session');
    assert.ok(session && session.httpOnly && session.secure && session.sameSite === 'Strict', JSON.stringify(cookies));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText("You're signed out.").waitFor();
    // The wrong code, the weak password (422) and the old password (401) were refused on purpose.
    assert.deepEqual(problems.filter((p) => !/\b(422|401)\b/.test(p)), []);
    await context.close();
  });
}

test('an unknown user sees the same steps, and no mail is ever sent', async () => {
  // Decoys take every shape real accounts have, some with no email: find an
  // unknown address whose decoy offers one, as bob's account does.
  let ghost;
  let mask;
  for (let n = 0; !ghost; n++) {
    const name = `nobody${n}@example.com`;
    const view = await identifyByApi(portal.server.url, name);
    const email = view.step.choose_method.methods.find((m) => m.kind === 'email');
    if (email) [ghost, mask] = [name, email.masked];
  }
  const { page, context } = await watchedPage(portal.browser, VIEWPORTS[0]);
  const sent = portal.smtp.mails().length;
  await page.goto(portal.server.url + '/reset');
  await page.getByLabel('User name or email address').fill(ghost);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { level: 2, name: "How should we check it's you?" }).waitFor();
  await page.getByRole('radio', { name: `Email ${mask}` }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { level: 2, name: 'Check your email' }).waitFor();

  // The browser's Back button steps back through the wizard, then forward again.
  await page.goBack();
  await page.getByRole('heading', { level: 2, name: "How should we check it's you?" }).waitFor();
  await page.goBack();
  await page.getByRole('heading', { level: 2, name: 'Who are you?' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/reset');
  await page.getByLabel('User name or email address').fill(ghost);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: `Email ${mask}` }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { level: 2, name: 'Check your email' }).waitFor();
  // A decoy's send task finds nobody and queues nothing; bob's mail, queued
  // after it, shows the outbox was working meanwhile.
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(portal.server.url + '/reset');
  await page.getByLabel('User name or email address').fill('bob');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: /^Email / }).check();
  await page.getByRole('button', { name: 'Next' }).click();
  await portal.smtp.waitFor((m) => m.to.includes('bob@example.com'), sent);
  assert.deepEqual(portal.smtp.mails().slice(sent).flatMap((m) => m.to), ['bob@example.com']);
  await context.close();
});
