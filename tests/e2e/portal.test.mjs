// The portal shell, loaded from a real sspr in headless Chromium at a desktop
// and a phone viewport: branding from the theme file, the helpdesk link, the
// router, and a clean console (no CSP violation, no error).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSspr, launchChromium, watchedPage, VIEWPORTS, SCREENS } from './harness.mjs';

let server;
let browser;

before(async () => {
  server = await startSspr({ theme: 'northwind', config: '[policy]\nmethods_required = 2\n' });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const vp of VIEWPORTS) {
  test(`branded shell and routes at ${vp.name} ${vp.width}x${vp.height}`, async () => {
    const { page, context, problems } = await watchedPage(browser, vp);
    const resp = await page.goto(server.url + '/');
    assert.match(resp.headers()['content-security-policy'], /script-src 'self' 'wasm-unsafe-eval'/);

    // The organisation's name and logo come from the theme file.
    const banner = page.getByRole('banner');
    await banner.getByText('Northwind Test Traders').waitFor();
    assert.equal(await banner.locator('img').getAttribute('src'), '/branding/logo.svg');
    await page.getByRole('heading', { level: 1, name: 'Password self-service' }).waitFor();
    await page.getByText('Northwind staff can reset their own password here.').waitFor();
    await page.waitForFunction(() => document.title === 'Password self-service | Northwind Test Traders');
    const primary = await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--color-primary').trim());
    assert.equal(primary, '#1f6f43');

    // The helpdesk link, from the theme: a URL stays a URL.
    const help = page.getByRole('contentinfo').getByRole('link', { name: 'Call the Northwind service desk' });
    assert.equal(await help.getAttribute('href'), 'https://help.northwind.test/sspr');
    const box = await help.boundingBox();
    assert.ok(box.height >= 44, `helpdesk link is a ${box.height}px touch target`);

    // Client-side navigation to the reset entry, which reads the live policy.
    await page.evaluate(() => { window.sameDocument = true; });
    await page.getByRole('link', { name: 'Reset my password' }).click();
    await page.getByRole('heading', { level: 1, name: 'Reset your password' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/reset');
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'followed in-app, not by a page load');
    await page.getByRole('heading', { level: 2, name: 'Who are you?' }).waitFor();
    // The wizard's step heading takes focus, not the page's title.
    await page.waitForFunction(() => document.activeElement?.textContent === 'Who are you?');
    await page.getByText("Next, you'll prove it's you with 2 of your registered methods.").waitFor();
    await page.screenshot({ path: join(SCREENS, `reset-${vp.name}.png`), fullPage: true });
    // Back and forward stay in the app too.
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Password self-service' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.matches('main h1'));
    await page.goForward();
    await page.getByRole('heading', { level: 2, name: 'Who are you?' }).waitFor();
    assert.equal(await page.evaluate(() => window.sameDocument), true, 'history moves in-app');

    // Deep links are served by the SPA fallback.
    await page.goto(server.url + '/signin');
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await page.getByRole('link', { name: 'Forgot my password' }).click();
    await page.getByRole('heading', { level: 1, name: 'Reset your password' }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
    await page.goto(server.url + '/security-info');
    await page.getByRole('heading', { level: 1, name: 'Security info' }).waitFor();
    await page.getByRole('link', { name: 'Sign in to see your security info' }).waitFor();
    // A trailing slash names the same page.
    await page.goto(server.url + '/security-info/');
    await page.getByRole('link', { name: 'Sign in to see your security info' }).waitFor();
    await page.goto(server.url + '/no/such/page');
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();

    // Nothing overflows sideways on a phone.
    await page.goto(server.url + '/');
    await page.getByRole('heading', { level: 1, name: 'Password self-service' }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the viewport`);
    await page.screenshot({ path: join(SCREENS, `home-${vp.name}.png`), fullPage: true });

    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('a theme edit shows on the next page load, with no rebuild or restart', async () => {
  const original = readFileSync(server.themeFile, 'utf8');
  const { page, context, problems } = await watchedPage(browser, VIEWPORTS[0]);
  try {
    const edited = JSON.parse(original);
    edited.organisation = 'Northwind Renamed';
    edited.helpdesk = 'servicedesk@northwind.test';
    edited.helpdesk_label = 'Email the service desk';
    writeFileSync(server.themeFile, JSON.stringify(edited));
    await page.goto(server.url + '/');
    await page.getByRole('banner').getByText('Northwind Renamed').waitFor();
    const help = page.getByRole('contentinfo').getByRole('link', { name: 'Email the service desk' });
    assert.equal(await help.getAttribute('href'), 'mailto:servicedesk@northwind.test');

    // A broken edit is refused and the last good theme stays.
    writeFileSync(server.themeFile, '{"organisation": ""');
    await page.reload();
    await page.getByRole('banner').getByText('Northwind Renamed').waitFor();
    assert.match(server.log(), /theme edit refused/);
    assert.deepEqual(problems, []);
  } finally {
    writeFileSync(server.themeFile, original);
    await context.close();
  }
});
