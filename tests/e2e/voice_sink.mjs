// A tiny voice gateway for the e2e tests: an HTTP server on a free loopback
// port that takes the calls sspr asks for (`delivery.voice = "http"`) and
// keeps each request, so a test can read the code a provider would have
// read aloud. It refuses a request without the expected bearer token, as a
// real provider would.
import { createServer } from 'node:http';

/** Starts the sink; `calls()` lists what it received as
 *  `{ to, text, locale, idempotency_key, idempotencyHeader }`. */
export async function startVoiceSink({ token = 'voice-e2e-token' } = {}) {
  const received = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.method !== 'POST' || req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401).end();
        return;
      }
      try {
        received.push({ ...JSON.parse(body), idempotencyHeader: req.headers['idempotency-key'] });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"queued"}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/calls`,
    token,
    calls: () => received.slice(),
    /** Waits for a call to `to` that is not among the first `skip`. */
    async waitFor(to, skip = 0, timeoutMs = 10000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const hit = received.slice(skip).find((c) => c.to === to);
        if (hit) return hit;
        if (Date.now() > end) throw new Error(`no call to ${to}; received: ${JSON.stringify(received)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => new Promise((ok) => server.close(ok)),
  };
}
