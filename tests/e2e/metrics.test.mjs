// The metrics as an operator sees them: Debian's Prometheus (run here, on a
// free port, with a throwaway store) scrapes the portal's metrics listener
// every second; a reset done in Chromium must show in Prometheus's own query
// API as exactly one more completed reset.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSspr, launchChromium, watchedPage, eventually, freePort, VIEWPORTS } from './harness.mjs';

const PROMETHEUS = '/usr/bin/prometheus';
const COMPLETED = 'sspr_resets_completed_total{job="sspr",outcome="password_reset"}';

/** Prometheus scraping `target` (host:port) every second as job `sspr`. */
async function startPrometheus(target) {
  const dir = mkdtempSync(join(tmpdir(), 'sspr-prometheus-'));
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n' +
      `scrape_configs:\n  - job_name: sspr\n    static_configs:\n      - targets: ["${target}"]\n`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS,
    [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  let exited = null;
  child.once('exit', (code) => (exited = code));
  await eventually(async () => {
    if (exited !== null) throw new Error(`prometheus exited with ${exited}:\n${log}`);
    return fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
  }, 'Prometheus to be ready', 30000);
  return {
    /** An instant query: the result vector's samples as {labels: value}. */
    async query(q) {
      const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = await r.json();
      assert.equal(body.status, 'success', JSON.stringify(body));
      return body.data.result.map((s) => ({ labels: s.metric, value: Number(s.value[1]) }));
    },
    log: () => log,
    async stop() {
      if (exited === null) {
        await new Promise((ok) => {
          child.once('exit', ok);
          child.kill('SIGTERM');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const env = {};
before(async () => {
  env.server = await startSspr({ theme: 'northwind', metricsPort: await freePort() });
  env.prometheus = await startPrometheus(new URL(env.server.metricsUrl).host);
  env.browser = await launchChromium();
});
after(async () => {
  await env.browser?.close();
  await env.prometheus?.stop();
  await env.server?.stop();
});

/** The one sample `q` gives, once Prometheus has it. */
async function sampleOf(q) {
  return eventually(async () => {
    const r = await env.prometheus.query(q);
    return r.length === 1 ? r[0] : null;
  }, `a sample of ${q}\n${env.prometheus.log()}`, 15000);
}

test('Prometheus counts a reset done in the browser, exactly once', async () => {
  const { server, prometheus, browser } = env;
  // Prometheus is scraping, and has the counter from before the reset.
  const up = await sampleOf('up{job="sspr"} == 1');
  assert.equal(up.value, 1);
  const was = (await sampleOf(COMPLETED)).value;

  // bob resets by a text to his phone, read from the dev outbox.
  const { page, context, problems } = await watchedPage(browser, VIEWPORTS[0]);
  try {
    await page.goto(server.url + '/reset');
    await page.getByRole('heading', { level: 2, name: 'Who are you?' }).waitFor();
    await page.getByLabel('User name or email address').fill('bob');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { level: 2, name: "How should we check it's you?" }).waitFor();
    const sent = server.texts().length;
    await page.getByRole('radio', { name: /^Text / }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('heading', { level: 2, name: 'Check your phone' }).waitFor();
    const text = await eventually(() => server.texts().slice(sent)[0], 'the text with the code');
    await page.getByRole('textbox', { name: 'Code', exact: true }).fill(text.body.match(/\b(\d{8})\b/)[1]);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { level: 2, name: 'Choose a new password' }).waitFor();
    await page.getByLabel('New password').fill('Tangerine-Vortex-Quill-77');
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('heading', { level: 2, name: 'Your password has been reset' }).waitFor();
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }

  // Within a few scrapes Prometheus has it: one more, not two.
  const now = await eventually(async () => {
    const [s] = await prometheus.query(COMPLETED);
    return s && s.value !== was ? s.value : null;
  }, 'Prometheus to count the reset', 15000);
  assert.equal(now, was + 1);
  const [proofs] = await prometheus.query('sspr_reset_proofs_total{job="sspr",method="sms",result="success"}');
  assert.equal(proofs.value, 1);
  // The request that set the password, under its route pattern.
  const posted = await prometheus.query(
    'sspr_http_request_duration_seconds_count{job="sspr",route="/api/reset/password",method="POST",status_class="2xx"}',
  );
  assert.equal(posted.length, 1);
  assert.equal((await sampleOf('up{job="sspr"}')).value, 1);
});
