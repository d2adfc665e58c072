// A customer's account pages as a shopper uses them: signs up, opens the
// account, the sessions ("this device" marked), two-step verification and
// privacy pages, asks for a password reset and opens the reset form, then
// erases the account after typing the password again — with axe-core and a
// screenshot on each page type; then the same with JavaScript off.
//
// STOREKEEP_BROWSER_SHOPS as for browse.mjs (the first shop is used).

import { STOREFRONT_GAPS, test, run, newPage, visit, axe, screenshot, done, check, checkEqual, env, shopUrl } from './lib.mjs';

const shop = JSON.parse(env('STOREKEEP_BROWSER_SHOPS'))[0];
const PASSWORD = 'a long enough passphrase';

async function pageType(page, name) {
  if (page.sk.javaScript) await axe(page);
  await screenshot(page, `${shop.slug}-${name}${page.sk.javaScript ? '' : '-nojs'}`);
}

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

const path = (page) => new URL(page.url()).pathname;

async function account(browser, { javaScript }) {
  const page = await newPage(browser, { javaScript, tolerate: STOREFRONT_GAPS });
  const email = `ann-${javaScript ? 'js' : 'nojs'}-${Date.now()}@example.com`;

  await visit(page, shopUrl(shop.slug, '/signup'));
  await page.fill('#email', email);
  await page.fill('#password', PASSWORD);
  await page.fill('#name', 'Ann Example');
  await submit(page, page.locator('main form button[type=submit]'));

  await visit(page, shopUrl(shop.slug, '/account'));
  check((await page.textContent('main')).includes('Signed in as Ann Example'), 'signed in after signing up');
  for (const href of ['/account/sessions', '/account/mfa', '/password-reset', '/account/privacy']) {
    checkEqual(await page.locator(`main a[href="${href}"]`).count(), 1, `the account page links to ${href}`);
  }
  await pageType(page, 'account');

  await submit(page, page.locator('main a[href="/account/sessions"]'));
  checkEqual(path(page), '/account/sessions', 'the sessions page');
  checkEqual(await page.locator('table.sessions tbody tr').count(), 1, 'one session: this browser');
  checkEqual(await page.locator('table.sessions tr.current').count(), 1, 'this device is marked');
  await pageType(page, 'account-sessions');

  await visit(page, shopUrl(shop.slug, '/account/mfa'));
  check((await page.textContent('main')).includes('is off'), 'two-step verification is off');
  await pageType(page, 'account-mfa');

  await visit(page, shopUrl(shop.slug, '/account/privacy'));
  checkEqual(await page.locator('form[action="/account/privacy/export"] button').count(), 1, 'the download button');
  await pageType(page, 'account-privacy');

  // Password reset: ask (the same answer for any address), then the form
  // the emailed link opens (its token is checked when it is used).
  await visit(page, shopUrl(shop.slug, '/password-reset'));
  checkEqual(await page.inputValue('#email'), email, 'prefilled for a signed-in customer');
  await pageType(page, 'password-reset');
  await submit(page, page.locator('main form button[type=submit]'));
  check((await page.textContent('main')).includes('If an account exists'), 'the same answer for any address');
  await pageType(page, 'password-reset-sent');
  await visit(page, shopUrl(shop.slug, '/password-reset/confirm?token=skr_example'));
  checkEqual(await page.locator('input[type=password]').count(), 2, 'the new password, twice');
  await pageType(page, 'password-reset-confirm');

  // Erase: a confirmation step with the password, then signed out.
  await visit(page, shopUrl(shop.slug, '/account/privacy/erase'));
  await pageType(page, 'account-erase');
  await page.fill('#password', PASSWORD);
  await submit(page, page.locator('main form button[type=submit]'));
  checkEqual(path(page), '/account/erased', 'the erasure answers its page');
  check((await page.textContent('main')).includes('Your account was erased'), 'the erasure is confirmed');
  await pageType(page, 'account-erased');
  await visit(page, shopUrl(shop.slug, '/account'));
  checkEqual(path(page), '/signin', 'signed out: the account page asks to sign in');
  await done(page);
}

test(`a customer of ${shop.slug} signs up and uses the account, sessions, privacy and password-reset pages`, (b) =>
  account(b, { javaScript: true }));
test('the same account pages with JavaScript off', (b) => account(b, { javaScript: false }));

await run();
