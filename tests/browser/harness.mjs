// The harness tests itself: what lib.mjs promises (a strict CSP page
// passes; console errors, page errors, failed requests, CSP violations and
// axe violations each fail; JavaScript off is off; `*.localhost` names
// reach the server with their host name) holds, on pages served by a tiny
// fixture server of its own, and on the storekeep server the Rust test
// started (STOREKEEP_BROWSER_PORT, STOREKEEP_BROWSER_SHOPS).

import http from 'node:http';
import fs from 'node:fs';
import {
  test, run, newPage, visit, axe, screenshot, done, expectClean, check, checkEqual, env, shopUrl,
} from './lib.mjs';

// What the storefront sends (ARCHITECTURE.md, "Decisions"): no inline
// script or style.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const html = (title, body, head = '') =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>` +
  `<link rel="stylesheet" href="/site.css">${head}</head><body><main>${body}</main></body></html>`;

const fixtures = {
  '/clean': ['text/html', html('Clean', '<h1 id="h">Served</h1><p>A page with nothing wrong.</p>', '<script src="/app.js" defer></script>')],
  '/app.js': ['text/javascript', "document.getElementById('h').textContent = 'Enhanced'; document.body.dataset.js = 'on';"],
  '/site.css': ['text/css', 'body { font-family: sans-serif; color: #111; background: #fff; } .faint { color: #ccc; }'],
  '/noisy': ['text/html', html('Noisy', '<h1>Noisy</h1><img src="/missing.png" alt="missing"><script>window.inline = 1;</script>', '<script src="/noisy.js" defer></script>')],
  '/noisy.js': ['text/javascript', "console.error('boom from noisy.js'); fetch('/hangup').catch(() => {}); setTimeout(() => { throw new Error('uncaught in noisy.js'); }, 0);"],
  '/inaccessible': ['text/html', html('Inaccessible', '<h1>Shop</h1><p id="faint" class="faint">Hard to read</p><img src="/pixel.gif">')],
  '/pixel.gif': ['image/gif', Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')],
  // Chromium asks every origin for one; a 404 is a console error.
  '/favicon.ico': ['image/gif', Buffer.from('R0lGODlhAQABAAAAACw=', 'base64')],
};

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/hangup') return req.socket.destroy();
  if (url.pathname === '/host') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-security-policy': CSP });
    return res.end(req.headers.host);
  }
  const f = fixtures[url.pathname];
  if (!f) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found');
  }
  res.writeHead(200, { 'content-type': f[0], 'content-security-policy': CSP });
  res.end(f[1]);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const fixture = (path) => `http://127.0.0.1:${server.address().port}${path}`;

/// Runs `step` and returns the message it must fail with.
async function failure(step) {
  try {
    await step();
  } catch (e) {
    return e.message;
  }
  throw new Error('the step passed but should have failed');
}

test('a page under a strict CSP passes: no problem, axe clean, screenshot written', async (browser) => {
  const page = await newPage(browser);
  await visit(page, fixture('/clean'));
  await page.waitForFunction(() => document.body.dataset.js === 'on');
  const results = await axe(page);
  check(Array.isArray(results.violations), 'axe ran and returned its results');
  const file = await screenshot(page, 'harness-clean');
  check(fs.statSync(file).size > 0, `${file} is written`);
  await done(page);
});

test('console errors, page errors, failed and refused requests and CSP violations fail the page', async (browser) => {
  const page = await newPage(browser);
  await page.goto(fixture('/noisy'));
  // The script's fetch and timer run after load.
  await page.waitForTimeout(500);
  const message = await failure(() => expectClean(page));
  for (const expected of [
    'console error: boom from noisy.js',
    'page error: uncaught in noisy.js',
    'HTTP 404: GET ' + fixture('/missing.png'),
    'request failed: GET ' + fixture('/hangup'),
    "violates the following Content Security Policy directive 'script-src 'self''",
  ]) {
    check(message.includes(expected), `the report names "${expected}":\n${message}`);
  }
  expectClean(page); // the report emptied the list
  await done(page);
});

test('a known gap the spec tolerates does not fail the page; anything else still does', async (browser) => {
  const page = await newPage(browser, { tolerate: [{ pattern: /\/missing\.png\)?$/, reason: 'harness self-test' }] });
  await page.goto(fixture('/noisy'));
  await page.waitForTimeout(500);
  const message = await failure(() => expectClean(page));
  check(!message.includes('missing.png'), `the tolerated 404 is not reported:\n${message}`);
  check(message.includes('boom from noisy.js'), `other problems still are:\n${message}`);
  await done(page);
});

test('axe fails on serious and critical violations and lists them by rule', async (browser) => {
  const page = await newPage(browser);
  await visit(page, fixture('/inaccessible'));
  const message = await failure(() => axe(page));
  check(message.includes('critical image-alt'), `image without alt is reported:\n${message}`);
  check(message.includes('serious color-contrast'), `low contrast is reported:\n${message}`);
  check(message.includes('#faint'), `the element is named:\n${message}`);
  await done(page);
});

test('a context with JavaScript off runs no script', async (browser) => {
  const off = await newPage(browser, { javaScript: false });
  await visit(off, fixture('/clean'));
  checkEqual(await off.textContent('h1'), 'Served', 'heading with JavaScript off');
  checkEqual(await off.getAttribute('body', 'data-js'), null, 'no script set data-js');
  await screenshot(off, 'harness-clean-nojs');
  await done(off);

  const on = await newPage(browser);
  await visit(on, fixture('/clean'));
  await on.waitForFunction(() => document.body.dataset.js === 'on');
  checkEqual(await on.textContent('h1'), 'Enhanced', 'heading with JavaScript on');
  await done(on);
});

test('*.localhost names reach the loopback server with their host name', async (browser) => {
  const page = await newPage(browser);
  const port = server.address().port;
  await visit(page, `http://some-shop.localhost:${port}/host`);
  checkEqual(await page.textContent('body'), `some-shop.localhost:${port}`, 'Host the server saw');
  await done(page);
});

test('each seeded shop answers at its own *.localhost host on the storekeep server', async (browser) => {
  const shops = JSON.parse(env('STOREKEEP_BROWSER_SHOPS'));
  check(shops.length >= 2, 'the Rust test seeds two shops');
  const page = await newPage(browser);
  await visit(page, `http://127.0.0.1:${env('STOREKEEP_BROWSER_PORT')}/api/health/live`);
  for (const shop of shops) {
    await visit(page, shopUrl(shop.slug, '/api/v1/store'));
    const body = JSON.parse(await page.textContent('body'));
    checkEqual(body.store.slug, shop.slug, `shop served at ${shop.slug}.localhost`);
    checkEqual(body.store.name, shop.name, `its name at ${shop.slug}.localhost`);
  }
  await visit(page, shopUrl('no-such-shop', '/api/v1/store'), { status: 404 });
  await done(page);
});

await run();
