// Localisation end to end: the browser's language by default, ?lng= over it,
// the picker (in place, without losing the wizard's step), server messages and
// mail in the page's language, every shipped catalog loading, and a mirrored
// right-to-left layout (Arabic), checked by geometry and kept as screenshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { portalPerFile, startSspr, watchedPage, assertAccessible, VIEWPORTS, SCREENS, ROOT } from './harness.mjs';

const catalog = (code) => JSON.parse(readFileSync(join(ROOT, 'public/locales', `${code}.json`), 'utf8'));
// The shipped locales, as the picker lists them (proto's LOCALES).
const LOCALES = ['ar', 'de', 'en', 'es', 'fr', 'it', 'ja', 'nl', 'pl', 'pt', 'sv', 'zh'];

const portal = portalPerFile({ theme: 'northwind' });

const docLang = (page) => page.evaluate(() => [document.documentElement.lang, document.documentElement.dir]);

test('every shipped locale loads, marks the document and names itself in the picker', async () => {
  const { page, context, problems } = await watchedPage(portal.browser, VIEWPORTS[0]);
  for (const code of LOCALES) {
    const texts = catalog(code);
    await page.goto(`${portal.server.url}/reset?lng=${code}`);
    await page.getByRole('heading', { level: 1, name: texts['reset.title'] }).waitFor();
    await page.getByRole('heading', { level: 2, name: texts['reset.identify.heading'] }).waitFor();
    assert.deepEqual(await docLang(page), [code, code === 'ar' ? 'rtl' : 'ltr']);
    const picker = page.getByLabel(texts['footer.language'], { exact: true });
    assert.equal(await picker.inputValue(), code);
    assert.equal(await picker.locator('option').count(), LOCALES.length);
    // The title follows the language too.
    await page.waitForFunction((t) => document.title.startsWith(t), texts['reset.title']);
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test('the browser language is the default; ?lng= overrides it and is kept for the visit', async () => {
  const { page, context, problems } = await watchedPage(portal.browser, VIEWPORTS[0], { locale: 'de-AT' });
  await page.goto(portal.server.url + '/');
  await page.getByRole('heading', { level: 1, name: 'Kennwort-Self-Service' }).waitFor();
  await page.getByRole('link', { name: 'Mein Kennwort zurücksetzen' }).waitFor();
  assert.deepEqual(await docLang(page), ['de', 'ltr']);

  await page.goto(portal.server.url + '/?lng=fr');
  await page.getByRole('heading', { level: 1, name: 'Libre-service mot de passe' }).waitFor();
  // Into the other app (a full page load) without the parameter: still French.
  await page.getByRole('link', { name: 'Gérer mes informations de sécurité' }).click();
  await page.getByRole('heading', { level: 1, name: 'Se connecter' }).waitFor();
  assert.deepEqual(await docLang(page), ['fr', 'ltr']);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the page preloads its theme and its catalog with the HTML, and the SPA reuses both', async () => {
  const { page, context, problems } = await watchedPage(portal.browser, VIEWPORTS[0], { locale: 'de-AT' });
  const resp = await page.goto(portal.server.url + '/reset');
  assert.match(resp.headers().link, /<\/locales\/de\.json>; rel=preload/);
  await page.getByRole('heading', { level: 1, name: catalog('de')['reset.title'] }).waitFor();
  // The theme has applied once the title names the organisation.
  await page.waitForFunction(() => document.title.includes(' | '));
  // One fetch each, started by the hint (initiator "link"): the SPA's own
  // fetch() was served from the preload, not sent again.
  const fetched = await page.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => [new URL(e.name).pathname, e.initiatorType])
    .filter(([p]) => p === '/theme.json' || p.startsWith('/locales/')));
  assert.deepEqual(fetched.sort(), [['/locales/de.json', 'link'], ['/theme.json', 'link']]);
  assert.deepEqual(problems, []);
  await context.close();
});

test("a reader none of whose languages is shipped gets the portal's default language, not English", async () => {
  const sspr = await startSspr({ theme: 'northwind', server: 'default_locale = "de"' });
  try {
    const { page, context, problems } = await watchedPage(portal.browser, VIEWPORTS[0], { locale: 'tr-TR' });
    await page.goto(sspr.url + '/reset');
    await page.getByRole('heading', { level: 1, name: catalog('de')['reset.title'] }).waitFor();
    assert.deepEqual(await docLang(page), ['de', 'ltr']);
    // So do the wizard's own messages (blank but not empty, past `required`).
    await page.getByLabel(catalog('de')['field.username']).fill('   ');
    await page.getByRole('button', { name: catalog('de')['action.next'] }).click();
    await page.getByText(catalog('de')['reset.identify.missing']).first().waitFor();
    // An explicit ?lng= still wins over the default.
    await page.goto(sspr.url + '/reset?lng=sv');
    await page.getByRole('heading', { level: 1, name: catalog('sv')['reset.title'] }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
  } finally {
    await sspr.stop();
  }
});

test('the picker swaps the language in place: the wizard keeps its step, and a reload keeps the pick', async () => {
  const { page, context, problems } = await watchedPage(portal.browser, VIEWPORTS[1]);
  await page.goto(portal.server.url + '/reset');
  await page.getByLabel('User name or email address').fill('alice');
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('heading', { level: 2, name: "How should we check it's you?" }).waitFor();

  await page.getByLabel('Language').selectOption({ label: 'Español' });
  await page.getByRole('heading', { level: 2, name: '¿Cómo comprobamos que eres tú?' }).waitFor();
  await page.getByRole('radio', { name: 'Introducir un código de mi aplicación de autenticación' }).waitFor();
  assert.deepEqual(await docLang(page), ['es', 'ltr']);
  assert.equal(await page.getByLabel('Idioma').inputValue(), 'es');

  // The server's messages come in the page's language, by the same ids.
  await page.getByRole('radio', { name: 'Introducir un código de mi aplicación de autenticación' }).check();
  await page.getByRole('button', { name: 'Siguiente' }).click();
  await page.getByRole('heading', { level: 2, name: 'Abre tu aplicación de autenticación' }).waitFor();
  await page.getByLabel('Código').fill('000000');
  await page.getByRole('button', { name: 'Verificar' }).click();
  await page.getByRole('alert').getByText('Ese código no ha funcionado. Compruébalo e inténtalo de nuevo.').waitFor();

  // The pick outlives the page: the server preloads its catalog with the
  // HTML, and nothing else is fetched (no unused English preload).
  const resp = await page.reload();
  assert.match(resp.headers().link, /<\/locales\/es\.json>; rel=preload/);
  await page.getByRole('heading', { level: 2, name: 'Abre tu aplicación de autenticación' }).waitFor();
  const catalogs = await page.evaluate(() => performance.getEntriesByType('resource')
    .map((e) => [new URL(e.name).pathname, e.initiatorType])
    .filter(([p]) => p.startsWith('/locales/')));
  assert.deepEqual(catalogs, [['/locales/es.json', 'link']]);
  // The wrong code was refused on purpose.
  assert.deepEqual(problems.filter((p) => !/\b422\b/.test(p)), []);
  await context.close();
});

test('mail comes in the language of the page that asked for it', async () => {
  const { page, context, problems } = await watchedPage(portal.browser, VIEWPORTS[0], { locale: 'pt-BR' });
  await page.goto(portal.server.url + '/reset');
  await page.getByLabel('Nome de usuário ou endereço de e-mail').fill('alice');
  await page.getByRole('button', { name: 'Avançar' }).click();
  await page.getByRole('heading', { level: 2, name: 'Como devemos confirmar que é você?' }).waitFor();
  const sent = portal.smtp.mails().length;
  await page.getByRole('radio', { name: /^E-mail para / }).check();
  await page.getByRole('button', { name: 'Avançar' }).click();
  await page.getByRole('heading', { level: 2, name: 'Verifique seu e-mail' }).waitFor();
  const mail = await portal.smtp.waitFor((m) => m.to.includes('alice@example.com'), sent);
  assert.equal(mail.subject, 'Seu código de redefinição de senha da Northwind Test Traders');
  assert.match(mail.body, /^Seu código de redefinição de senha é \d{8}\r?\n\r?\nEle expira em 5 minutos\./);
  assert.deepEqual(problems, []);
  await context.close();
});

test('API errors answer in the Accept-Language, with Content-Language', async () => {
  for (const [lang, code, want] of [
    ['ar-SA,ar;q=0.9', 'ar', catalog('ar')['error.request.invalid_json']],
    ['xx, ja;q=0.5', 'ja', catalog('ja')['error.request.invalid_json']],
    ['', 'en', catalog('en')['error.request.invalid_json']],
  ]) {
    const resp = await fetch(portal.server.url + '/api/reset/start', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: portal.server.url, 'accept-language': lang },
      body: '{not json',
    });
    assert.equal(resp.status, 400);
    assert.equal(resp.headers.get('content-language'), code);
    const body = await resp.json();
    assert.equal(body.error.id, 'request.invalid_json');
    assert.equal(body.error.message, want);
  }
});

// Right-to-left: the start edge is on the right, and the page mirrors.
for (const vp of VIEWPORTS) {
  test(`Arabic mirrors the layout at ${vp.name}`, async () => {
    const { page, context, problems } = await watchedPage(portal.browser, vp, { phone: vp.name === 'phone', locale: 'ar' });
    const ar = catalog('ar');
    await page.goto(portal.server.url + '/reset');
    const h1 = page.getByRole('heading', { level: 1, name: ar['reset.title'] });
    await h1.waitFor();
    assert.deepEqual(await docLang(page), ['ar', 'rtl']);
    await page.getByLabel(ar['field.username']).fill('alice');
    await page.getByRole('button', { name: ar['action.next'] }).click();
    await page.getByRole('heading', { level: 2, name: ar['reset.choose.heading'] }).waitFor();

    const box = async (locator) => locator.boundingBox();
    const main = await box(page.locator('main'));
    const near = (a, b, what) => assert.ok(Math.abs(a - b) <= 24, `${what}: ${a} vs ${b}`);
    // Headings and the primary action hug the right (start) edge of the page.
    const title = await box(h1);
    near(title.x + title.width, main.x + main.width - parseFloat(await page.locator('main').evaluate((m) => getComputedStyle(m).paddingRight)), 'h1 right edge');
    const next = await box(page.getByRole('button', { name: ar['action.next'] }));
    const again = await box(page.getByRole('button', { name: ar['reset.choose.start_again'] }));
    assert.ok(next.x > again.x, 'the primary action comes first, on the right');
    // Radio buttons sit to the right of their labels.
    const radio = page.getByRole('radio').first();
    const label = page.locator('.choice span').first();
    assert.ok((await box(radio)).x > (await box(label)).x, 'radio on the right of its label');
    // The progress steps run right to left.
    const steps = page.locator('.progress li');
    assert.ok((await box(steps.first())).x > (await box(steps.last())).x, 'steps run right to left');
    // The theme's own (English) words keep their direction on an Arabic page.
    assert.equal(await page.locator('p.lead').evaluate((p) => getComputedStyle(p).direction), 'ltr');
    // The masked address keeps its own direction inside Arabic text.
    const option = await label.textContent();
    assert.match(option, /\u2068.+@.+\u2069/);
    await page.screenshot({ path: join(SCREENS, `rtl-choose-${vp.name}.png`), fullPage: true });
    await assertAccessible(page, `Arabic choose step at ${vp.name}`);
    assert.deepEqual(problems, []);
    await context.close();
  });
}

// Longer words (German, Polish), another script (Arabic) and no spaces
// (Japanese) must still reflow at 320 px.
test('every page reflows at 320 px in German, Polish, Arabic and Japanese', async () => {
  const PAGES = [
    ['/', 'app.name'],
    ['/reset', 'reset.title'],
    ['/signin', 'signin.title'],
    ['/security-info', 'security_info.title'],
    ['/theme-preview', 'preview.title'],
    ['/insights', 'insights.title'],
    ['/no/such/page', 'not_found.title'],
  ];
  const context = await portal.browser.newContext({ viewport: { width: 320, height: 568 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  for (const code of ['de', 'pl', 'ar', 'ja']) {
    const texts = catalog(code);
    for (const [path, heading] of PAGES) {
      await page.goto(`${portal.server.url}${path}?lng=${code}`);
      await page.getByRole('heading', { level: 1, name: texts[heading] }).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} in ${code} is ${overflow}px wider than the viewport`);
    }
  }
  await context.close();
});
