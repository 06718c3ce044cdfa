// Accessibility, tested: axe-core reports no violation on any page or reset
// step, at 1280x800 and 375x667, in light and dark; and a whole reset is done
// with the keyboard alone, focus landing on each step's heading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portalPerFile, watchedPage, assertAccessible, oathtool } from './harness.mjs';

const SIZES = [{ name: 'desktop', width: 1280, height: 800 }, { name: 'phone', width: 375, height: 667 }];
const CONFIGS = [
  { size: SIZES[0], scheme: 'light', user: 'alice' },
  { size: SIZES[0], scheme: 'dark', user: 'bob' },
  { size: SIZES[1], scheme: 'light', user: 'carol' },
  { size: SIZES[1], scheme: 'dark', user: 'alice' },
];
const PAGES = [
  ['/', 'Password self-service'],
  ['/reset', 'Reset your password'],
  ['/signin', 'Sign in'],
  ['/security-info', 'Security info'],
  ['/theme-preview', 'Theme preview'],
  ['/insights', 'Usage & insights'],
  ['/no/such/page', 'Page not found'],
];

const portal = portalPerFile({ theme: 'northwind' });

/** What a screen reader would call the focused element, roughly. */
const focusedName = (page) => page.evaluate(() => {
  const el = document.activeElement;
  if (!el) return '';
  return (el.getAttribute('aria-label') || el.labels?.[0]?.textContent || el.textContent || '').trim();
});

/** Presses Tab until the focused element's name matches `name`. */
async function tabTo(page, name) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    if (name.test(await focusedName(page))) return;
  }
  assert.fail(`Tab never reached ${name}`);
}

/** Tabs into the radio group, then arrows to the option named `name` (arrows
 *  move within a group and check as they go; Tab leaves it). */
async function pickRadio(page, name) {
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(() => document.activeElement?.type === 'radio')) break;
  }
  for (let i = 0; i < 10; i++) {
    if (name.test(await focusedName(page))) {
      await page.keyboard.press('Space');
      return;
    }
    await page.keyboard.press('ArrowDown');
  }
  assert.fail(`no option ${name}`);
}

/** The step's heading has focus once the step shows. */
async function headingFocused(page, name) {
  await page.getByRole('heading', { level: 2, name }).waitFor();
  await page.waitForFunction((n) => document.activeElement?.tagName === 'H2' && document.activeElement.textContent.trim() === n, name);
}

const themed = (page) => page.waitForFunction(() => document.documentElement.style.getPropertyValue('--dark-primary') !== '');

for (const { size, scheme } of CONFIGS.slice(0, 4)) {
  test(`no axe violations on any page at ${size.width}x${size.height}, ${scheme}`, async () => {
    const { page, context, problems } = await watchedPage(portal.browser, size, { colorScheme: scheme });
    for (const [path, heading] of PAGES) {
      await page.goto(portal.server.url + path);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await themed(page);
      await assertAccessible(page, path);
    }
    assert.deepEqual(problems, []);
    await context.close();
  });
}

for (const { size, scheme, user } of CONFIGS) {
  test(`${user} resets with the keyboard alone at ${size.width}x${size.height}, ${scheme}, and every step passes axe`, async () => {
    const { page, context, problems } = await watchedPage(portal.browser, size, { colorScheme: scheme });
    await page.goto(portal.server.url + '/');
    await themed(page);
    await tabTo(page, /^Reset my password$/);
    await page.keyboard.press('Enter');

    await headingFocused(page, 'Who are you?');
    await assertAccessible(page, 'identify');
    await tabTo(page, /^User name or email address$/);
    await page.keyboard.type(user);
    await page.keyboard.press('Enter');

    await headingFocused(page, "How should we check it's you?");
    await assertAccessible(page, 'choose');
    await pickRadio(page, /^Email /);
    assert.equal(await page.getByRole('radio', { name: /^Email / }).isChecked(), true);
    const sent = portal.smtp.mails().length;
    await tabTo(page, /^Next$/);
    await page.keyboard.press('Enter');

    await headingFocused(page, 'Check your email');
    // A second reset of one account within a minute gets its code when the
    // address's 60 s cooldown ends: allow for it.
    const mail = await portal.smtp.waitFor((m) => m.to.includes(`${user}@example.com`) && /reset code/.test(m.subject), sent, 75000);
    const code = mail.body.match(/\b(\d{8})\b/)[1];
    await tabTo(page, /^Code$/);
    // A wrong code first: the error is announced and passes axe too.
    await page.keyboard.type('12345678');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').getByText("That code didn't work. Check it and try again.").waitFor();
    await assertAccessible(page, 'code, with an error');
    // Focus stays in the field, so the fix is typed straight over.
    assert.equal(await focusedName(page), 'Code');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');

    if (user === 'carol') {
      // An administrator proves a second, different method.
      await headingFocused(page, 'Now choose a second, different method');
      await pickRadio(page, /^Enter a code from my authenticator app$/);
      await tabTo(page, /^Next$/);
      await page.keyboard.press('Enter');
      await headingFocused(page, 'Open your authenticator app');
      await assertAccessible(page, 'authenticator code');
      await tabTo(page, /^Code$/);
      await page.keyboard.type(oathtool('KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU'));
      await page.keyboard.press('Enter');
    }

    await headingFocused(page, 'Choose a new password');
    await tabTo(page, /^New password$/);
    await page.keyboard.type('password1');
    await page.getByRole('list', { name: 'Password rules' }).getByRole('listitem').filter({ hasText: 'Not met: Hard to guess' }).waitFor();
    await assertAccessible(page, 'new password, failing rules');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(`Quill-Harbour-Tangerine-${size.width}-${scheme}`);
    await page.getByRole('list', { name: 'Password rules' }).getByRole('listitem').filter({ hasText: 'Met: Hard to guess' }).waitFor();
    await page.keyboard.press('Enter');

    await headingFocused(page, 'Your password has been reset');
    await assertAccessible(page, 'done');
    // Only the wrong code's refusal, which the page turned into its alert.
    assert.deepEqual(problems.filter((p) => !/\b422\b.*reset\/verify|status of 422/.test(p)), []);
    assert.equal(problems.length, 2, problems.join('\n'));
    await context.close();
  });
}

/** Horizontal overflow, and interactive elements under 44 px tall (a radio
 *  counts by its label, the real target). */
const layoutFaults = (page) => page.evaluate(() => ({
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  small: [...document.querySelectorAll('a, button, input, select, textarea, summary')]
    .map((el) => (el.type === 'radio' || el.type === 'checkbox' ? el.closest('label') ?? el : el))
    .filter((el) => el.getClientRects().length > 0)
    .map((el) => [`${el.tagName.toLowerCase()} ${(el.textContent || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 40)}`, el.getBoundingClientRect().height])
    .filter(([, h]) => h < 44)
    .map(([what, h]) => `${what}: ${h}px`),
}));

for (const [label, options] of [
  ['a 320 px phone', { viewport: { width: 320, height: 568 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
  ['a 375 px phone', { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 }],
  // 200 % zoom of a 1280x800 window: half the CSS pixels, each drawn twice.
  ['200 % zoom', { viewport: { width: 640, height: 400 }, deviceScaleFactor: 2 }],
]) {
  test(`every page reflows with no sideways scrolling and 44 px touch targets on ${label}`, async () => {
    const context = await portal.browser.newContext(options);
    const page = await context.newPage();
    for (const [path, heading] of PAGES) {
      await page.goto(portal.server.url + path);
      await page.getByRole('heading', { level: 1, name: heading }).waitFor();
      await themed(page);
      const { overflow, small } = await layoutFaults(page);
      assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the viewport`);
      if (options.hasTouch) assert.deepEqual(small, [], `${path}: touch targets under 44 px`);
    }
    await context.close();
  });
}

test('motion follows prefers-reduced-motion', async () => {
  const durations = {};
  for (const reducedMotion of ['no-preference', 'reduce']) {
    const context = await portal.browser.newContext({ reducedMotion });
    const page = await context.newPage();
    await page.goto(portal.server.url + '/theme-preview');
    await page.getByRole('heading', { level: 1, name: 'Theme preview' }).waitFor();
    durations[reducedMotion] = await page.evaluate(() => getComputedStyle(document.querySelector('.strength-bar span')).transitionDuration);
    await context.close();
  }
  assert.equal(durations['no-preference'], '0.15s');
  assert.ok(parseFloat(durations.reduce) < 0.001, `reduced: ${durations.reduce}`);
});
