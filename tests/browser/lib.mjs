// The browser tests' small library: the system Chromium driven by
// playwright-core, every console error, page error and failed request
// collected, axe-core injected from node_modules, screenshots into a folder
// the run prints, and a tiny sequential test runner.
//
// A spec is a module that calls `test(name, fn)` for each case and then
// `await run()`; it exits 0 when every case passed and 1 otherwise, so the
// Rust test that started the server (crates/storekeep/tests/cli/browser.rs)
// only checks the exit status and shows this output on failure.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));

/// Every step that waits on the browser gives up after this long, so a
/// hung page fails the case instead of the whole run.
export const STEP_TIMEOUT_MS = 30_000;

/// The system Chromium: `$CHROME_PATH` if set, else the first of the
/// Debian and Ubuntu names. Playwright's own browser download is never
/// used (CI has no internet beyond the package registries).
export function chromiumPath() {
  const candidates = [
    process.env.CHROME_PATH,
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/usr/bin/google-chrome',
  ].filter(Boolean);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    throw new Error(`no Chromium found (tried ${candidates.join(', ')}); apt-get install chromium`);
  }
  return found;
}

/// Headless Chromium. No extra flags: playwright already starts it
/// headless (`--headless`, the new headless mode, the only one Chromium
/// still has) and without the setuid sandbox (`--no-sandbox`, its default
/// `chromiumSandbox: false`), which Chromium refuses to run without as
/// root, as CI runs.
export async function launch() {
  return chromium.launch({ executablePath: chromiumPath(), timeout: STEP_TIMEOUT_MS });
}

/// A fresh context (its own cookies) and a page whose problems are
/// collected: console errors (CSP violations among them), uncaught page
/// errors, requests that failed at the network level, and responses of
/// 400 or more. `javaScript: false` is a browser with JavaScript off.
/// `expect(page)` (or `await visit(...)`) fails on any problem.
///
/// `tolerate` lists known gaps, `{ pattern, reason }`: a problem whose text
/// matches `pattern` does not fail the page but is printed, with its
/// reason, at the end of the run (see `run`), so a gap stays in sight
/// until it is fixed and its entry removed.
export async function newPage(browser, { javaScript = true, tolerate = [], ...options } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: javaScript, ...options });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const page = await context.newPage();
  const problems = [];
  const report = (problem) => {
    const gap = tolerate.find((t) => t.pattern.test(problem));
    if (gap) tolerated.add(`${problem} — ${gap.reason}`);
    else problems.push(problem);
  };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium also logs a response of 400 or more as a console error;
    // one `visit` expects is no problem (any other is reported twice).
    const expected = m.text().startsWith('Failed to load resource') && page.sk.allowed.has(m.location().url);
    if (!expected) report(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => report(`page error: ${e.message}`));
  page.on('requestfailed', (r) => report(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && !page.sk.allowed.has(r.url())) {
      report(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    }
  });
  page.sk = { problems, allowed: new Set(), javaScript };
  return page;
}

/// The storefront's known gaps, tolerated by the specs (see `newPage`):
/// each names what is wrong and who has it. Remove an entry when it is
/// fixed; the specs then fail if it comes back.
export const STOREFRONT_GAPS = [
];

/// Problems a spec tolerated as known gaps, printed by `run`.
const tolerated = new Set();

/// Opens `url`, checks the main response's status (200 unless `status`
/// says otherwise: a page meant to answer 404 is not a problem) and that
/// the page brought no problem.
export async function visit(page, url, { status = 200 } = {}) {
  if (status >= 400) page.sk.allowed.add(url);
  const response = await page.goto(url);
  if (!response) throw new Error(`${url}: no response`);
  if (response.status() !== status) {
    throw new Error(`${url}: HTTP ${response.status()}, expected ${status}`);
  }
  expectClean(page);
  return response;
}

/// Throws listing every problem the page has collected so far (and
/// forgets them, so the next step starts clean).
export function expectClean(page) {
  const found = page.sk.problems.splice(0);
  if (found.length) {
    throw new Error(`${page.url()}: the browser reported:\n  ${found.join('\n  ')}`);
  }
}

const axeSource = fs.readFileSync(path.join(here, 'node_modules/axe-core/axe.min.js'), 'utf8');

/// Checks the page once more and closes its context.
export async function done(page) {
  expectClean(page);
  await page.context().close();
}

/// Runs axe-core in the page and throws listing every `serious` or
/// `critical` violation. axe is evaluated through the DevTools protocol
/// (`page.evaluate` of its source), which the page's Content-Security-
/// Policy does not govern: `addScriptTag` inserts an inline <script> that a
/// strict CSP rightly blocks (and logs as a console error), and
/// `bypassCSP` would test a page other than the one users get. It needs
/// JavaScript on: in a context with JavaScript off axe's promise never
/// settles, so the JavaScript-off pass checks the same HTML without it.
export async function axe(page, { impacts = ['serious', 'critical'] } = {}) {
  if (!page.sk.javaScript) throw new Error('axe needs a page with JavaScript on');
  await page.evaluate(axeSource);
  const results = await withTimeout(
    page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] })),
    STEP_TIMEOUT_MS,
    `axe on ${page.url()}`,
  );
  const bad = results.violations.filter((v) => impacts.includes(v.impact));
  if (bad.length) {
    const lines = bad.map((v) => {
      const nodes = v.nodes.slice(0, 10).map((n) => n.target.join(' '));
      if (v.nodes.length > 10) nodes.push(`… and ${v.nodes.length - 10} more`);
      return `${v.impact} ${v.id}: ${v.help} (${v.helpUrl})\n      ${nodes.join('\n      ')}`;
    });
    throw new Error(`${page.url()}: axe found ${bad.length} serious or critical violation(s):\n    ${lines.join('\n    ')}`);
  }
  return results;
}

/// Where screenshots go: `$STOREKEEP_BROWSER_SCREENSHOTS`, else
/// `$CARGO_TARGET_DIR/browser-screenshots`, else `target/` of the
/// repository. Printed once per run.
export const screenshotDir =
  process.env.STOREKEEP_BROWSER_SCREENSHOTS ||
  path.join(process.env.CARGO_TARGET_DIR || path.join(here, '../../target'), 'browser-screenshots');
let announced = false;

/// A full-page PNG `<name>.png` in `screenshotDir`; returns its path.
export async function screenshot(page, name) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  if (!announced) {
    console.log(`screenshots: ${screenshotDir}`);
    announced = true;
  }
  const file = path.join(screenshotDir, `${name.replace(/[^A-Za-z0-9._-]+/g, '-')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/// Fails with `message` unless `cond` holds.
export function check(cond, message) {
  if (!cond) throw new Error(message);
}

/// Like `check`, showing both values when they differ.
export function checkEqual(actual, expected, message) {
  if (actual !== expected) {
    throw new Error(`${message}: got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

/// An environment variable the Rust test must set.
export function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (the Rust test in crates/storekeep/tests/cli/browser.rs sets it)`);
  return v;
}

/// `http://{slug}.localhost:{port}`: the shop's host in development.
/// Chromium resolves every `*.localhost` name to the loopback address
/// itself, with no DNS and no /etc/hosts entry.
export function shopUrl(slug, pathname = '/') {
  return `http://${slug}.localhost:${env('STOREKEEP_BROWSER_PORT')}${pathname}`;
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const cases = [];

/// Registers a case: `fn(browser)` runs after the earlier ones.
export function test(name, fn) {
  cases.push({ name, fn });
}

/// Runs the registered cases one after another on one browser, prints
/// `ok` or `FAILED` and the error for each, and exits 1 if any failed.
/// `STOREKEEP_BROWSER_ONLY` (a substring) runs only the cases it names.
export async function run() {
  const only = process.env.STOREKEEP_BROWSER_ONLY;
  const browser = await launch();
  let failed = 0;
  try {
    for (const c of cases) {
      if (only && !c.name.includes(only)) continue;
      try {
        await c.fn(browser);
        console.log(`ok      ${c.name}`);
      } catch (e) {
        failed += 1;
        console.log(`FAILED  ${c.name}\n  ${String(e?.stack || e).replace(/\n/g, '\n  ')}`);
      }
    }
  } finally {
    await browser.close();
  }
  for (const t of tolerated) console.log(`tolerated (known gap): ${t}`);
  console.log(failed ? `${failed} case(s) failed` : 'all cases passed');
  process.exit(failed ? 1 : 0);
}
