// First paint of /reset under Lighthouse's phone throttling (150 ms RTT,
// 1.6 Mbps down, 750 kbps up, 4x CPU), with and without the page's
// `Link: rel=preload` hints. Both arms load the same build through the same
// interception; one strips the header. Loads alternate, BENCH_N per arm
// (default 9). Prints the median time to the localised <h1> and to LCP.
// Figures, not assertions. Run after `cargo xtask build-web` and
// `cargo build -p sspr-server`: `node bench/first_paint.mjs`.
import { startSspr, launchChromium } from '../tests/e2e/harness.mjs';

const N = Number(process.env.BENCH_N ?? 9);
const HEADING = 'Kennwort zurücksetzen'; // reset.title in de.json: the page is German

const sspr = await startSspr({ theme: 'northwind' });
const browser = await launchChromium();
const arms = { 'with hints': [], 'without': [] };
try {
  for (let i = 0; i < 2 * N; i++) {
    const strip = i % 2 === 1;
    const context = await browser.newContext({ viewport: { width: 412, height: 823 }, locale: 'de-DE' });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    await page.route(/\/reset$/, async (route) => {
      const r = await route.fetch();
      const headers = { ...r.headers() };
      if (strip) delete headers.link;
      await route.fulfill({ response: r, headers });
    });
    await page.addInitScript((heading) => {
      window.__h1 = null;
      window.__lcp = 0;
      new MutationObserver(() => {
        const h = document.querySelector('h1');
        if (!window.__h1 && h?.textContent.includes(heading)) window.__h1 = performance.now();
      }).observe(document, { subtree: true, childList: true, characterData: true });
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__lcp = e.startTime;
      }).observe({ type: 'largest-contentful-paint', buffered: true });
    }, HEADING);
    await page.goto(sspr.url + '/reset');
    await page.getByRole('heading', { level: 1, name: HEADING }).waitFor();
    // LCP settles on the next frames; the heading time is already recorded.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    arms[strip ? 'without' : 'with hints'].push(await page.evaluate(() => [window.__h1, window.__lcp]));
    await context.close();
  }
} finally {
  await browser.close();
  await sspr.stop();
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
console.log(`/reset in German, phone throttling, ${N} loads per arm (median ms)`);
console.log('arm           <h1> shown     LCP');
for (const [arm, runs] of Object.entries(arms)) {
  const h1 = median(runs.map((r) => r[0]));
  const lcp = median(runs.map((r) => r[1]));
  console.log(`${arm.padEnd(12)} ${h1.toFixed(0).padStart(11)} ${lcp.toFixed(0).padStart(7)}`);
}
