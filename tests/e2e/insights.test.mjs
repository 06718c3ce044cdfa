// Usage & insights end to end in headless Chromium, at both viewports: the
// test makes resets of its own (by email, and by authenticator after one
// wrong code), then carol (an administrator) signs in at /insights, proves
// two different methods, and reads figures that match what it did; the
// charts' tables, the event filter and the CSV export work; axe finds
// nothing. bob (not an administrator) is refused by the server, not only by
// the page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { portalPerFile, assertAccessible, identifyByApi, oathtool, eventually, VIEWPORTS, SCREENS } from './harness.mjs';

const portal = portalPerFile({ theme: 'northwind' });
const CAROL = { name: 'carol', password: 'Carol-admin-2026!', totp: 'KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU' };
const ALICE_TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const codeIn = (text) => text.match(/\b(\d{8})\b/)[1];
const NEW_PASSWORDS = { bob: 'Quince-Harbour-Lantern-71', alice: 'Quince-Harbour-Lantern-72' };

async function post(path, body, cookie) {
  const r = await fetch(portal.server.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: portal.server.url, ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

/** A whole reset over the API: `prove(flow)` passes the gate. */
async function resetByApi(user, kind, prove) {
  const view = await identifyByApi(portal.server.url, user);
  const method = view.step.choose_method.methods.find((m) => m.kind === kind);
  const chosen = await post('/api/reset/choose', { flow: view.flow, method: method.id });
  assert.equal(chosen.status, 200, JSON.stringify(chosen.body));
  await prove(view.flow);
  const done = await post('/api/reset/password', { flow: view.flow, password: NEW_PASSWORDS[user] });
  assert.deepEqual(Object.keys(done.body.step), ['done'], JSON.stringify(done.body));
}

// The authenticator code carol used on the desktop: the phone waits for the next.
let usedTotp = '';

// Done once, before the first test: a root \`before\` of this file could run
// ahead of portalPerFile's, which starts the portal.
let made;
const madeActivity = () => (made ??= makeActivity());

async function makeActivity() {
  // bob by email.
  const sent = portal.smtp.mails().length;
  await resetByApi('bob', 'email', async (flow) => {
    const mail = await portal.smtp.waitFor((m) => m.to.includes('bob@example.com') && /reset code/.test(m.subject), sent);
    assert.equal((await post('/api/reset/verify', { flow, code: codeIn(mail.body) })).status, 200);
  });
  // alice by authenticator, after one wrong code.
  await resetByApi('alice', 'authenticator', async (flow) => {
    assert.equal((await post('/api/reset/verify', { flow, code: '000000' })).status, 422);
    assert.equal((await post('/api/reset/verify', { flow, code: oathtool(ALICE_TOTP) })).status, 200);
  });
  // Someone with no account: never a user in the figures.
  await identifyByApi(portal.server.url, 'nobody@example.com');
}

/** The value of a figure in a `.kpis` list, by its term. */
const kpi = (scope, term) => scope.locator('.kpis div').filter({ has: scope.page().getByText(term, { exact: true }) }).locator('dd').first().textContent();

async function signIn(page, name, password) {
  await page.getByLabel('User name or email address').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Proves the method named `radio` with the code `code()` gives. */
async function prove(page, step, radio, code) {
  await page.getByRole('heading', { level: 2, name: `Prove it's you (${step} of 2)` }).waitFor();
  await page.getByRole('radio', { name: radio }).check();
  await page.getByRole('button', { name: 'Continue' }).click();
  const value = await code();
  await page.getByRole('textbox', { name: 'Code', exact: true }).fill(value);
  await page.getByRole('button', { name: 'Verify' }).click();
}

for (const vp of VIEWPORTS) {
  test(`carol proves two methods and reads the figures of what was done, at ${vp.name}`, async () => {
    await madeActivity();
    const context = await portal.browser.newContext({ viewport: { width: vp.width, height: vp.height }, locale: 'en-GB' });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(portal.server.url + '/insights');
    await page.getByRole('heading', { level: 1, name: 'Usage & insights' }).waitFor();
    await signIn(page, CAROL.name, CAROL.password);
    await page.getByRole('heading', { level: 2, name: "Prove it's you (1 of 2)" }).waitFor();
    await assertAccessible(page, `insights, first proof, ${vp.name}`);
    if (vp.name === 'desktop') {
      const sent = portal.smtp.mails().length;
      await prove(page, 1, /^Email/, async () => codeIn((await portal.smtp.waitFor((m) => m.to.includes('carol@example.com') && /security code/.test(m.subject), sent)).body));
      // The proved kind is not offered again.
      await page.getByRole('heading', { level: 2, name: "Prove it's you (2 of 2)" }).waitFor();
      assert.equal(await page.getByRole('radio', { name: /^Email/ }).count(), 0);
      await prove(page, 2, /^Authenticator app/, async () => (usedTotp = oathtool(CAROL.totp)));
    } else {
      const texts = portal.server.texts().length;
      await prove(page, 1, /^Phone/, async () => codeIn((await eventually(() => portal.server.texts().slice(texts).find((t) => t.to === '+15550100003' || /code/.test(t.body)), 'the text')).body));
      // An authenticator code is good once: wait for the next one.
      const next = await eventually(() => { const c = oathtool(CAROL.totp); return c !== usedTotp && c; }, 'a new authenticator code', 35000);
      await prove(page, 2, /^Authenticator app/, async () => next);
    }

    // The figures: four demo users, dave registered nothing.
    await page.getByRole('heading', { level: 2, name: 'Registration' }).waitFor();
    const registration = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Registration' }) });
    assert.equal(await kpi(registration, 'In scope'), '4');
    assert.equal(await kpi(registration, 'Registered'), '3');
    assert.equal(await kpi(registration, 'Capable of resetting'), '3');
    assert.equal(await kpi(registration, 'Not registered'), '1');
    const notRegistered = registration.getByRole('list').filter({ hasText: 'dave' });
    assert.match(await notRegistered.textContent(), /\(dave\)/);
    assert.doesNotMatch(await page.locator('main').textContent(), /nobody@example\.com/);
    // Methods by kind: email for alice, bob and carol.
    const byKind = registration.getByRole('figure').filter({ hasText: 'at least one method of each kind' });
    assert.match(await byKind.getByRole('listitem').filter({ hasText: 'Email' }).textContent(), /Email\s*3$/);

    // Activity: the two resets the test made, today.
    const activity = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Activity' }) });
    assert.equal(await kpi(activity, 'Resets'), '2');
    await activity.getByText('Show as a table').click();
    const today = new Date().toISOString().slice(0, 10);
    const row = activity.getByRole('row', { name: new RegExp(`^${today}`) });
    assert.deepEqual(await row.getByRole('cell').allTextContents(), ['2', '0', '0', '0']);
    const proofs = activity.getByRole('table', { name: /Proofs at the reset wizard's gates/ });
    assert.deepEqual(await proofs.getByRole('row', { name: /^Authenticator app/ }).getByRole('cell').allTextContents(), ['1', '1']);
    assert.deepEqual(await proofs.getByRole('row', { name: /^Email/ }).getByRole('cell').allTextContents(), ['1', '0']);
    await assertAccessible(page, `insights, figures, ${vp.name}`);
    // Nothing widens the page: wide tables scroll in their own region.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const wide = await page.evaluate(() => [...document.querySelectorAll('main *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-scroll'))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} ends at ${Math.round(e.getBoundingClientRect().right)}`));
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the viewport: ${wide.join('; ')}`);
    await page.screenshot({ path: join(SCREENS, `insights-${vp.name}.png`), fullPage: true });

    // The audit trail, filtered to bob.
    const events = page.locator('section').filter({ has: page.getByRole('heading', { name: 'Audit events' }) });
    await events.getByLabel('User').fill('bob');
    await events.getByRole('button', { name: 'Apply filters' }).click();
    // The table is redrawn with bob's events only (the newest 100 are everyone's before).
    const userColumn = events.getByRole('table').locator('tbody tr td:nth-child(3)');
    const users = await eventually(async () => {
      const seen = await userColumn.allTextContents();
      return seen.length > 0 && seen.every((u) => u.includes('bob')) && seen;
    }, "bob's events only");
    assert.ok(users.length >= 3, JSON.stringify(users));
    await events.getByRole('table').getByRole('cell', { name: 'Reset password (self-service)' }).first().waitFor();
    // Its CSV, through the page's own link (and session).
    const href = await events.getByRole('link', { name: 'Download these events (CSV)' }).getAttribute('href');
    assert.match(href, /user=bob/);
    const csv = await page.request.get(portal.server.url + href);
    assert.equal(csv.status(), 200);
    assert.match(csv.headers()['content-type'], /^text\/csv/);
    const lines = (await csv.text()).trim().split(/\r?\n/);
    assert.ok(lines.length > 1 && lines.slice(1).every((l) => l.includes('bob')), lines.join('\n'));
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('bob is refused by the server, and the page says why', async () => {
  await madeActivity();
  const context = await portal.browser.newContext({ viewport: { width: 375, height: 667 }, locale: 'en-GB' });
  const page = await context.newPage();
  // Nobody signed in: the API asks for a session.
  const anonymous = await page.request.get(portal.server.url + '/api/insights');
  assert.equal(anonymous.status(), 401);
  await page.goto(portal.server.url + '/insights');
  await signIn(page, 'bob', NEW_PASSWORDS.bob);
  await page.getByText('Usage & insights are for administrators only.').waitFor();
  await page.getByRole('link', { name: 'Go to your security info' }).waitFor();
  for (const path of ['/api/insights', '/api/insights/events', '/api/insights/export.csv?what=events']) {
    const r = await page.request.get(portal.server.url + path);
    assert.equal(r.status(), 403, path);
    assert.equal((await r.json()).error.id, 'insights.forbidden', path);
  }
  await assertAccessible(page, 'insights, refused');
  await context.close();
});
