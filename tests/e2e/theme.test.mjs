// The example theme `themes/harbour` on a real sspr in headless Chromium:
// both palettes (by prefers-color-scheme), the dark logo, a theme font served
// by the portal itself, and per-locale text overrides (browser language, then
// ?lng= over it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startSspr, launchChromium, watchedPage, VIEWPORTS, SCREENS } from './harness.mjs';

const DEJAVU = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
let server;
let browser;

before(async () => {
  server = await startSspr({ theme: 'harbour', themeFiles: { 'harbour-sans.ttf': DEJAVU } });
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const css = (page, expr) => page.evaluate(expr);
const rootVar = (page, name) => page.evaluate((n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim(), name);

for (const scheme of ['light', 'dark']) {
  test(`the ${scheme} palette, logo and font come from the theme`, async () => {
    const { page, context, problems } = await watchedPage(browser, VIEWPORTS[0], { colorScheme: scheme });
    await page.goto(server.url + '/');
    const banner = page.getByRole('banner');
    await banner.getByText('Harbour City Council').waitFor();
    await page.getByText('Forgot your council password? Reset it yourself, any time.').waitFor();
    const want = scheme === 'light'
      ? { primary: '#123c69', background: 'rgb(238, 243, 248)', logo: '/branding/logo.svg' }
      : { primary: '#9ccbf5', background: 'rgb(11, 20, 32)', logo: '/branding/logo-dark.svg' };
    await page.waitForFunction((p) => getComputedStyle(document.documentElement).getPropertyValue('--color-primary').trim() === p, want.primary);
    assert.equal(await css(page, () => getComputedStyle(document.body).backgroundColor), want.background);
    const logo = banner.locator('img');
    await page.waitForFunction(() => document.querySelector('header img')?.complete);
    assert.equal(new URL(await logo.evaluate((img) => img.currentSrc)).pathname, want.logo);

    // The font file is fetched from the portal and used for the text.
    await page.waitForFunction(async () => {
      await document.fonts.ready;
      return [...document.fonts].some((f) => f.family.replaceAll('"', '') === 'Harbour Sans' && f.status === 'loaded');
    });
    assert.match(await css(page, () => getComputedStyle(document.body).fontFamily), /^"Harbour Sans"/);
    assert.equal(await rootVar(page, '--font-theme'), '"Harbour Sans"');

    const help = page.getByRole('contentinfo').getByRole('link', { name: 'Phone the council IT desk' });
    assert.equal(await help.getAttribute('href'), 'tel:+442079460000');
    await page.screenshot({ path: join(SCREENS, `theme-harbour-${scheme}.png`), fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });
}

test('texts follow the browser language, and ?lng= overrides it', async () => {
  const { page, context, problems } = await watchedPage(browser, VIEWPORTS[0], { locale: 'es-ES' });
  await page.goto(server.url + '/');
  await page.getByRole('banner').getByText('Ayuntamiento de Harbour City').waitFor();
  await page.getByText('¿Ha olvidado su contraseña? Restablézcala usted mismo.').waitFor();
  await page.getByRole('contentinfo').getByRole('link', { name: 'Llamar al servicio de informática' }).waitFor();

  // French overrides only the helpdesk label; the rest stays the theme's own.
  await page.goto(server.url + '/?lng=fr');
  await page.getByRole('contentinfo').getByRole('link', { name: 'Appeler le service informatique de la mairie' }).waitFor();
  await page.getByRole('banner').getByText('Harbour City Council').waitFor();
  await page.getByText('Forgot your council password? Reset it yourself, any time.').waitFor();
  assert.deepEqual(problems, []);
  await context.close();
});

test('the theme preview shows every component in both palettes', async () => {
  const { page, context, problems } = await watchedPage(browser, VIEWPORTS[0]);
  await page.goto(server.url + '/theme-preview');
  await page.getByRole('heading', { level: 1, name: 'Theme preview' }).waitFor();
  // The palettes arrive with the theme file.
  await page.waitForFunction(() => document.documentElement.style.getPropertyValue('--dark-primary') !== '');
  const want = { 'Light palette': ['#123c69', 'rgb(238, 243, 248)'], 'Dark palette': ['#9ccbf5', 'rgb(11, 20, 32)'] };
  for (const [name, [primary, background]] of Object.entries(want)) {
    const panel = page.getByRole('region', { name });
    await panel.getByRole('heading', { level: 2, name }).waitFor();
    const [p, bg] = await panel.evaluate((el) => {
      const s = getComputedStyle(el);
      return [s.getPropertyValue('--color-primary').trim(), s.backgroundColor];
    });
    assert.deepEqual([p, bg], [primary, background], name);
    // Each state: the steps, a choice, a field with its error, the error
    // summary with the helpdesk, all five strength levels, a QR code, buttons.
    await panel.getByRole('list', { name: /^Progress/ }).waitFor();
    assert.equal(await panel.getByRole('radio').count(), 2);
    assert.equal(await panel.getByRole('textbox', { name: 'A field with an error' }).getAttribute('aria-invalid'), 'true');
    await panel.getByRole('alert').getByText("That code didn't work. Check it and try again.").waitFor();
    for (const level of ['Very weak', 'Weak', 'Fair', 'Strong', 'Very strong']) {
      await panel.getByText(`Strength: ${level}.`, { exact: false }).waitFor();
    }
    await panel.getByRole('img', { name: 'A sample QR code' }).waitFor();
    assert.equal(await panel.getByRole('button', { name: 'Disabled' }).isDisabled(), true);
    // The helpdesk link on its own and in the error summary.
    assert.equal(await panel.getByRole('link', { name: 'Phone the council IT desk' }).count(), 2);
  }
  await page.screenshot({ path: join(SCREENS, 'theme-preview.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await context.close();
});
