// Browser hardening (issue 13), in Chromium against the real control plane: a page on another
// origin that frames the dashboard gets nothing; an inline script injected into the dashboard's
// page does not run, while the dashboard itself still starts; and the dashboard's own pages
// cause no Content-Security-Policy violation. Run by run.mjs; needs no root.

import { createServer } from 'node:http';
import { join } from 'node:path';
import { assert, freePort, results, signIn } from './harness.mjs';

/** A second tiny HTTP server, on another port and host name: another origin. */
async function attackerSite(base) {
  const port = await freePort();
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (req.url === '/own') {
      res.end('<!doctype html><h1 id="own">A page of this site</h1>');
      return;
    }
    res.end(`<!doctype html>
<title>Another site</title>
<h1>Another site framing the dashboard</h1>
<iframe id="dashboard" src="${base}/login" width="640" height="360" style="border:2px solid red"></iframe>
<iframe id="own" src="/own" width="300" height="120"></iframe>`);
  });
  await new Promise((res) => server.listen(port, '127.0.0.1', res));
  return { origin: `http://localhost:${port}`, close: () => server.close() };
}

/** Collects the page's `securitypolicyviolation` events (the listener is added by the test
 *  tool before any of the page's scripts, and is not subject to the page's policy). */
async function watchViolations(context) {
  await context.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`),
    );
  });
}

const violations = (page) => page.evaluate(() => window.__violations ?? []);

export async function hardeningFlow({ browser, base, password, step }) {
  await step('the dashboard answers with a strict policy, no framing, HEAD like GET', async () => {
    const res = await fetch(`${base}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const d of ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) {
      assert(csp.includes(d), `${d} missing from ${csp}`);
    }
    const scriptSrc = /script-src([^;]*)/.exec(csp)?.[1] ?? '';
    assert(/'sha256-/.test(scriptSrc), `no hash for the start-up script: ${csp}`);
    assert(!/unsafe-inline|unsafe-eval/.test(scriptSrc), `script-src is not strict: ${csp}`);
    assert(res.headers.get('x-frame-options') === 'DENY', 'no X-Frame-Options: DENY');
    const head = await fetch(`${base}/`, { method: 'HEAD' });
    assert(head.status === 200, `HEAD / answered ${head.status}`);
    assert((await head.text()) === '', 'HEAD / sent a body');
  });

  await step('a page on another origin that frames the dashboard gets nothing', async () => {
    const site = await attackerSite(base);
    const context = await browser.newContext({ viewport: { width: 1000, height: 600 } });
    const page = await context.newPage();
    const messages = [];
    page.on('console', (m) => messages.push(m.text()));
    try {
      await page.goto(`${site.origin}/`);
      // The site's own frame loads: a loaded frame is visible to this check.
      const own = page.frameLocator('#own');
      await own.locator('#own').waitFor({ timeout: 10000 });
      await page.waitForTimeout(1500);
      const frame = page.frames().find((f) => f !== page.mainFrame() && !f.url().endsWith('/own'));
      assert(frame, 'the dashboard frame is missing');
      let shown = 0;
      try {
        shown = await frame.getByText('Sign in to Cairn').count();
      } catch {
        shown = 0; // an error page the parent cannot even read
      }
      assert(shown === 0, `the dashboard rendered inside another site (${frame.url()})`);
      assert(!frame.url().startsWith(base), `the frame holds the dashboard: ${frame.url()}`);
      assert(
        messages.some((t) => /frame-ancestors|X-Frame-Options|Refused to (display|frame)/.test(t)),
        `the browser did not report blocking the frame: ${messages.join(' | ')}`,
      );
      await page.screenshot({ path: join(results, 'framed-dashboard-blocked.png') });
    } finally {
      await context.close();
      site.close();
    }
  });

  await step(
    'an inline script injected into the dashboard does not run; the page does',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await watchViolations(context);
      // As stored or reflected injection would: the served page itself carries the scripts.
      await context.route(`${base}/login`, async (route) => {
        const response = await route.fetch();
        const body = (await response.text())
          .replace('<head>', '<head><script>window.__ran = "head script";</script>')
          .replace(
            '</body>',
            '<img src="/none.png" onerror="window.__ran = \'event handler\'">' +
              '<script>window.__ran = "body script";</script></body>',
          );
        await route.fulfill({ response, body });
      });
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      try {
        await page.goto(`${base}/login`);
        // The dashboard's own start-up script (allowed by its hash) still runs.
        await page.getByRole('heading', { name: 'Sign in to Cairn' }).waitFor();
        // A script added to the document later is inline too.
        await page.evaluate(() => {
          const s = document.createElement('script');
          s.textContent = 'window.__ran = "added script";';
          document.body.append(s);
        });
        await page.waitForTimeout(500);
        const ran = await page.evaluate(() => window.__ran);
        assert(ran === undefined, `the injected code ran: ${ran}`);
        const seen = await violations(page);
        assert(seen.length >= 3, `the policy reported ${seen.length} blocked scripts: ${seen}`);
        assert(
          seen.every((v) => v.startsWith('script-src')),
          `unexpected violations: ${seen.join('; ')}`,
        );
        // And it still signs in.
        await page.getByLabel('Password').fill(password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.waitForURL(`${base}/`);
        await page.getByRole('heading', { name: 'Nodes' }).waitFor();
        assert(errors.length === 0, errors.join('\n'));
      } finally {
        await context.close();
      }
    },
  );

  await step("the dashboard's own pages cause no policy violation", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await watchViolations(context);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401|Unauthorized/.test(m.text())) errors.push(m.text());
    });
    try {
      await signIn(page, base, password);
      await page.getByRole('heading', { name: 'Nodes' }).waitFor();
      for (const [link, heading] of [
        ['Recipes', /Redis/],
        ['Audit log', 'Audit log'],
        ['Nodes', 'Nodes'],
      ]) {
        await page.getByRole('link', { name: link }).click();
        await page.getByRole('heading', { name: heading }).first().waitFor();
      }
      await page.waitForTimeout(500);
      const seen = await violations(page);
      assert(seen.length === 0, `violations: ${seen.join('; ')}`);
      assert(errors.length === 0, errors.join('\n'));
    } finally {
      await context.close();
    }
  });
}
