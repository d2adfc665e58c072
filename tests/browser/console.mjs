// The web console as staff and operators use it, in a real browser:
// the owner turns on two-step verification and signs in with a TOTP code,
// reads "needs attention", and does the daily work; a viewer finds no
// button it may not use and a forged post is refused; a post without the
// CSRF token is refused; an operator suspends a shop and its storefront
// answers 404, then resumes it. axe-core (no serious or critical
// violation) and a screenshot on every console page, no console error.
//
// STOREKEEP_BROWSER_SHOPS as for browse.mjs (the first shop is used);
// STOREKEEP_BROWSER_CONSOLE (crates/storekeep/tests/cli/browser.rs):
// `{operator, viewer, password}`.

import crypto from 'node:crypto';
import { test, run, newPage, visit, axe, screenshot, done, expectClean, check, checkEqual, env, shopUrl } from './lib.mjs';

const shops = JSON.parse(env('STOREKEEP_BROWSER_SHOPS'));
const shop = shops[0];
const people = JSON.parse(env('STOREKEEP_BROWSER_CONSOLE'));
const port = env('STOREKEEP_BROWSER_PORT');
const owner = `owner@${shop.slug}.example`;
const platformUrl = (pathname) => `http://localhost:${port}${pathname}`;

/// RFC 6238 (HMAC-SHA1, 30 s, 6 digits), for the authenticator app.
function totp(secret, unix = Date.now() / 1000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '')) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unix / 30)));
  const h = crypto.createHmac('sha1', key).update(counter).digest();
  const o = h[19] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

/// The API as an integration calls it (the shop named by `X-Tenant`).
async function api(method, pathname, { token, body } = {}) {
  const response = await fetch(`http://127.0.0.1:${port}${pathname}`, {
    method,
    headers: {
      'x-tenant': shop.slug,
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : null };
}

async function pageType(page, name) {
  await axe(page);
  await screenshot(page, `console-${name}`);
}

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

const path = (page) => new URL(page.url()).pathname;

async function signIn(page, url, email, { secret } = {}) {
  await visit(page, `${url}/console`);
  checkEqual(path(page), '/console/signin', 'a signed-out visit is sent to sign in');
  await page.fill('#email', email);
  await page.fill('#password', people.password);
  await submit(page, page.locator('main button[type=submit]'));
  if (secret) {
    checkEqual(path(page), '/console/signin/code', 'the code step');
    await pageType(page, 'signin-code');
    // The next window's code: the current one was spent turning MFA on.
    await page.fill('#code', totp(secret, Date.now() / 1000 + 30));
    await submit(page, page.locator('main button[type=submit]'));
  }
  checkEqual(path(page), '/console', 'signed in: the first screen');
}

/// Posts a form from the page's own context (same origin, the session's
/// cookie), with `fields`; answers the HTTP status.
async function forge(page, action, fields) {
  // A refusal is the expected answer here, not a problem of the page.
  page.sk.allowed.add(new URL(action, page.url()).href);
  return page.evaluate(async ({ action, fields }) => {
    const response = await fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual',
    });
    await response.text();
    return response.status;
  }, { action, fields });
}

let secret;
/// The owner's console page, signed in once: a TOTP code is good once, and
/// the next one only comes with the next 30 seconds.
let owner_page;

/// A guest's order of the shop's first product through the API (manual
/// payment: it waits for staff); answers its id and the variant's stock.
async function guestOrder() {
  const product = await api('GET', `/api/v1/store/products/${shop.products[0].handle}`);
  checkEqual(product.status, 200, 'the product');
  const variant = product.json.product.variants[0].id;
  const cart = await api('POST', '/api/v1/store/carts', { body: { items: [{ variant_id: variant, quantity: 2 }] } });
  checkEqual(cart.status, 201, 'a cart');
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/store/carts/${cart.json.cart.id}/checkout`, {
    method: 'POST',
    headers: {
      'x-tenant': shop.slug, 'content-type': 'application/json',
      'x-cart-token': cart.json.cart.token, 'idempotency-key': crypto.randomUUID(),
    },
    body: JSON.stringify({
      email: 'grace@example.com', shipping_method: 'standard', payment_provider: 'manual',
      shipping_address: { name: 'Grace Hopper', line1: '1 Navy Way', city: 'Arlington', postal_code: '22201', country: 'US' },
    }),
  });
  const placed = await response.json();
  checkEqual(response.status, 201, `the checkout: ${JSON.stringify(placed)}`);
  return { id: placed.order.id, variant, product: product.json.product.id };
}

/// The product's first variant's units on hand, as the admin API tells
/// the viewer (who reads the catalog).
async function onHand(productId) {
  const login = await api('POST', '/api/v1/auth/login', { body: { email: people.viewer, password: people.password, account: 'staff' } });
  checkEqual(login.status, 200, 'the viewer logs in through the API');
  const product = await api('GET', `/api/v1/admin/products/${productId}`, { token: login.json.token });
  checkEqual(product.status, 200, 'the product, as staff see it');
  return product.json.product.variants[0].inventory.on_hand;
}

let order;

test('the owner turns on two-step verification and signs in with a TOTP code', async (browser) => {
  const login = await api('POST', '/api/v1/auth/login', { body: { email: owner, password: people.password, account: 'staff' } });
  checkEqual(login.status, 200, 'the owner logs in through the API');
  const enrol = await api('POST', '/api/v1/auth/mfa/totp', { token: login.json.token });
  checkEqual(enrol.status, 200, 'TOTP enrolment starts');
  secret = enrol.json.secret;
  const confirmed = await api('POST', '/api/v1/auth/mfa/totp/confirm', { token: login.json.token, body: { code: totp(secret) } });
  checkEqual(confirmed.status, 200, 'TOTP is on');

  const page = await newPage(browser);
  await visit(page, shopUrl(shop.slug, '/console/signin'));
  await pageType(page, 'signin');
  await signIn(page, shopUrl(shop.slug, ''), owner, { secret });
  check((await page.textContent('h1')) === 'Needs attention', 'needs attention first');
  checkEqual(await page.locator('[data-figure]').count(), 7, 'seven figures');
  await pageType(page, 'needs-attention');

  // A form post without the token is refused, and signs nobody out.
  checkEqual(await forge(page, '/console/signout', {}), 403, 'no CSRF token: refused');
  await visit(page, shopUrl(shop.slug, '/console'));
  checkEqual(path(page), '/console', 'still signed in');
  expectClean(page);
  owner_page = page;
});

test('the owner marks an order paid, fulfils it and refunds part of it with one unit back in stock', async () => {
  const page = owner_page;
  order = await guestOrder();
  const before = await onHand(order.product);
  await visit(page, shopUrl(shop.slug, '/console/orders?status=pending_payment'));
  await pageType(page, 'orders');
  await submit(page, page.locator(`tr[data-order="${order.id}"] a`));
  checkEqual(path(page), `/console/orders/${order.id}`, 'the order page');
  await pageType(page, 'order');
  await submit(page, page.getByRole('button', { name: 'Mark paid' }));
  await submit(page, page.getByRole('button', { name: 'Fulfil' }));
  checkEqual(await page.textContent('[data-status]'), 'fulfilled', 'fulfilled');
  await page.fill('#refund-amount', '5.00');
  await page.fill('#refund-reason', 'one arrived scratched');
  await page.locator('input[name^="restock_"]').first().fill('1');
  await submit(page, page.getByRole('button', { name: 'Refund', exact: true }));
  check((await page.textContent('table.refunds')).includes('one arrived scratched'), 'the refund is listed');
  check((await page.textContent('[data-refunded]')).includes('5.00'), '5.00 refunded');
  checkEqual(await page.textContent('[data-status]'), 'fulfilled', 'a part refund keeps it fulfilled');
  await pageType(page, 'order-refunded');
  const after = await onHand(order.product);
  checkEqual(after, before - 1, 'two sold, one back in stock');
  expectClean(page);
});

test('a viewer finds no button it may not use, and a forged fulfil is refused', async (browser) => {
  const page = await newPage(browser);
  await signIn(page, shopUrl(shop.slug, ''), people.viewer);
  const next = await guestOrder();
  await visit(page, shopUrl(shop.slug, `/console/orders/${next.id}`));
  checkEqual(await page.getByRole('button', { name: 'Mark paid' }).count(), 0, 'no Mark paid');
  checkEqual(await page.getByRole('button', { name: 'Fulfil' }).count(), 0, 'no Fulfil');
  checkEqual(await page.locator('#refund-amount').count(), 0, 'no refund form');
  await pageType(page, 'order-viewer');
  const csrf = await page.locator('form[action="/console/signout"] input[name=csrf]').inputValue();
  checkEqual(await forge(page, `/console/orders/${next.id}/mark-paid`, { csrf }), 403, 'a forged post is refused');
  await visit(page, shopUrl(shop.slug, `/console/orders/${next.id}`));
  checkEqual(await page.textContent('dd[data-status]'), 'awaiting payment', 'unchanged');
  await done(page);
});

test('the owner records a rental return with damage charged to the deposit', async () => {
  const page = owner_page;
  const laptop = shop.rental;
  const product = await api('GET', `/api/v1/store/products/${laptop.handle}`);
  const plans = await api('GET', `/api/v1/store/products/${product.json.product.id}/rental-plans`);
  checkEqual(plans.status, 200, 'the laptop\'s plans');
  const plan = plans.json.items[0].id;
  const cart = await api('POST', '/api/v1/store/carts', {
    body: { items: [{ variant_id: product.json.product.variants[0].id, quantity: 1, rental_plan_id: plan }] },
  });
  checkEqual(cart.status, 201, `a rental cart: ${JSON.stringify(cart.json)}`);
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/store/carts/${cart.json.cart.id}/checkout`, {
    method: 'POST',
    headers: {
      'x-tenant': shop.slug, 'content-type': 'application/json',
      'x-cart-token': cart.json.cart.token, 'idempotency-key': crypto.randomUUID(),
    },
    body: JSON.stringify({
      email: 'renter@example.com', shipping_method: 'standard', payment_provider: 'manual',
      shipping_address: { name: 'Ada Renter', line1: '2 Loom Street', city: 'Leeds', postal_code: 'LS1 1AA', country: 'GB' },
    }),
  });
  const placed = await response.json();
  checkEqual(response.status, 201, `the rental checkout: ${JSON.stringify(placed)}`);
  // Staff take the first payment and the deposit: the contract starts.
  await visit(page, shopUrl(shop.slug, `/console/orders/${placed.order.id}`));
  await submit(page, page.getByRole('button', { name: 'Mark paid' }));

  await visit(page, shopUrl(shop.slug, '/console/rentals'));
  await pageType(page, 'rentals');
  await submit(page, page.locator('tr[data-contract] a').first());
  await pageType(page, 'rental');
  const held = await page.textContent('[data-deposit-held]');
  check(held.includes('120.00'), `the deposit (10 % of 1,200.00) is held: ${held}`);
  await page.selectOption('#outcome', 'damaged');
  await page.fill('#charge', '45.00');
  await page.fill('#reason', 'cracked hinge');
  await page.fill('#notes', 'hinge replaced before resale');
  await submit(page, page.getByRole('button', { name: 'Record the return' }));
  checkEqual(await page.getAttribute('[data-status]', 'data-status'), 'returned', 'the contract is returned');
  check((await page.textContent('main')).includes('cracked hinge'), 'the charge and its reason are recorded');
  await pageType(page, 'rental-returned');
  expectClean(page);
});

test('the owner adjusts stock and sees the ledger entry', async () => {
  const page = owner_page;
  const first = shop.products[0];
  await visit(page, shopUrl(shop.slug, `/console/products?q=${encodeURIComponent(first.handle)}`));
  await pageType(page, 'products');
  await submit(page, page.locator(`main table a:has-text("${first.title}")`).first());
  await pageType(page, 'product');
  const row = page.locator('tr[data-variant]').first();
  const variant = await row.getAttribute('data-variant');
  const before = Number(await page.textContent(`[data-on-hand="${variant}"]`));
  await page.fill(`#delta-${variant}`, '4');
  await page.fill(`#reason-${variant}`, 'returned from the repair shop');
  const productPath = path(page);
  await submit(page, page.getByRole('button', { name: /^Adjust stock/ }).first());
  check(path(page).endsWith(`/variants/${variant}/ledger`), 'the adjustment lands on the variant\'s ledger');
  const entry = page.locator('tr.ledger-entry').first();
  check((await entry.textContent()).includes('returned from the repair shop'), 'the newest ledger entry is the adjustment');
  check((await entry.textContent()).includes('staff:'), 'recorded as a staff member\'s');
  await pageType(page, 'ledger');
  await visit(page, shopUrl(shop.slug, productPath));
  checkEqual(Number(await page.textContent(`[data-on-hand="${variant}"]`)), before + 4, 'four more on hand');
  expectClean(page);
});

test('the owner creates a coupon and a shopper sees it take 10 % off in the cart', async (browser) => {
  const page = owner_page;
  await visit(page, shopUrl(shop.slug, '/console/deals'));
  await pageType(page, 'deals');
  await submit(page, page.getByRole('link', { name: 'New coupon or deal' }));
  await pageType(page, 'deal-new');
  await page.fill('#name', 'Ten off');
  await page.fill('#code', 'TENOFF');
  await page.check('#kind-percent');
  await page.fill('#value', '10');
  await submit(page, page.getByRole('button', { name: 'Create' }));
  check((await page.textContent('main')).includes('TENOFF'), 'the coupon is listed');
  expectClean(page);

  const shopper = await newPage(browser);
  const product = shop.products[0];
  await visit(shopper, shopUrl(shop.slug, `/products/${product.handle}`));
  await submit(shopper, shopper.locator('form.add-to-cart button[type=submit]'));
  await visit(shopper, shopUrl(shop.slug, '/cart'));
  await shopper.fill('#coupon_code', 'TENOFF');
  await submit(shopper, shopper.locator('form.coupon button[type=submit]'));
  const totals = await shopper.textContent('dl.totals');
  const tenth = (product.cents / 1000).toFixed(2);
  check(totals.includes(tenth), `the cart takes ${tenth} off: ${totals}`);
  await done(shopper);
});

test('the owner creates an API key, sees it once, and it works', async () => {
  const page = owner_page;
  await visit(page, shopUrl(shop.slug, '/console/api-keys'));
  await pageType(page, 'api-keys');
  await page.fill('#cred-name', 'warehouse sync');
  await page.locator('input[name=scope][value="catalog:read"]').check();
  await submit(page, page.getByRole('button', { name: /^Create/ }));
  const key = (await page.textContent('#new-secret')).trim();
  check(key.startsWith('skk_'), `a key is shown: ${key.slice(0, 6)}…`);
  await pageType(page, 'api-key-created');
  const used = await api('GET', '/api/v1/admin/products?limit=1', { token: key });
  checkEqual(used.status, 200, 'the key reads the catalog');
  await visit(page, shopUrl(shop.slug, '/console/api-keys'));
  check(!(await page.content()).includes(key), 'the list never shows it again');
  expectClean(page);
});

test('every other page of the staff console passes axe', async () => {
  const page = owner_page;
  for (const [pathname, name] of [
    ['/console/customers', 'customers'], ['/console/jobs', 'jobs'], ['/console/rentals/units', 'units'],
    ['/console/staff', 'staff'], ['/console/audit', 'audit'], ['/console/oauth-clients', 'oauth-clients'],
    ['/console/products/new', 'product-new'], ['/console/products/import', 'product-import'],
    ['/console/settings', 'settings'], ['/console/webhooks', 'webhooks'], ['/console/emails', 'emails'],
    ['/console/emails/order_placed', 'email-preview'], ['/console/payments/unmatched', 'payments-unmatched'],
    ['/console/audit?action=order.refund', 'audit-filtered'],
  ]) {
    await visit(page, shopUrl(shop.slug, pathname));
    await pageType(page, name);
  }
  // A customer's page and a unit's page, from their lists.
  await visit(page, shopUrl(shop.slug, '/console/customers'));
  const customer = page.locator('main table a[href^="/console/customers/"]').first();
  if (await customer.count()) {
    await submit(page, customer);
    await pageType(page, 'customer');
  }
  await visit(page, shopUrl(shop.slug, '/console/jobs'));
  const job = page.locator('main table a[href^="/console/jobs/"]').first();
  if (await job.count()) {
    await submit(page, job);
    await pageType(page, 'job');
  }
  // An import's own page: upload a small file with a bad row, then read
  // its page (the job may still be running: either state passes axe).
  await visit(page, shopUrl(shop.slug, '/console/products/import'));
  await page.setInputFiles('#import-file', {
    name: 'products.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from('handle,title,sku,price\naxe-lamp,Axe lamp,AXE-1,100\naxe-bad,Bad,AXE-2,abc\n'),
  });
  await submit(page, page.getByRole('button', { name: 'Import' }));
  check(path(page).startsWith('/console/products/imports/'), `the upload leads to its import: ${path(page)}`);
  await pageType(page, 'product-import-status');
  // Then finished, with its row-error table ("Check again" until done;
  // bounded, no timing asserted).
  for (let i = 0; i < 100 && (await page.getByRole('link', { name: 'Check again' }).count()); i++) {
    await new Promise((r) => setTimeout(r, 200));
    await submit(page, page.getByRole('link', { name: 'Check again' }));
  }
  check((await page.locator('[data-row-error="3"]').count()) === 1, 'the bad row is listed');
  await pageType(page, 'product-import-done');
  await visit(page, shopUrl(shop.slug, '/console/webhooks'));
  const endpoint = page.locator('main table a[href^="/console/webhooks/"]').first();
  if (await endpoint.count()) {
    await submit(page, endpoint);
    await pageType(page, 'webhook-endpoint');
  }
  expectClean(page);
});

test('the owner signs out', async () => {
  await submit(owner_page, owner_page.getByRole('button', { name: 'Sign out' }));
  checkEqual(path(owner_page), '/console/signin', 'signed out');
  await done(owner_page);
});

test('an operator suspends a shop, its storefront answers 404, and resumes it', async (browser) => {
  const target = shops[1];
  const page = await newPage(browser);
  await signIn(page, platformUrl(''), people.operator);
  check((await page.textContent('h1')) === 'Overview', 'the operators overview');
  await pageType(page, 'platform-overview');

  await visit(page, platformUrl('/console/shops'));
  await pageType(page, 'platform-shops');
  await submit(page, page.getByRole('button', { name: `Suspend ${target.slug}` }));
  checkEqual(await page.textContent(`[data-status="${target.slug}"]`), 'suspended', 'listed as suspended');
  await visit(page, shopUrl(target.slug, '/'), { status: 404 });
  await visit(page, platformUrl('/console/shops'));
  await submit(page, page.getByRole('button', { name: `Resume ${target.slug}` }));
  checkEqual(await page.textContent(`[data-status="${target.slug}"]`), 'active', 'active again');
  await visit(page, shopUrl(target.slug, '/'));

  await visit(page, platformUrl('/console/plans'));
  await pageType(page, 'platform-plans');
  await submit(page, page.locator('main table a[href^="/console/plans/"]').first());
  await pageType(page, 'platform-plan');
  await visit(page, platformUrl('/console/platform-jobs'));
  await pageType(page, 'platform-jobs');
  await visit(page, platformUrl('/console/health'));
  checkEqual(await page.textContent('[data-status="node"]'), 'ready', 'the node is ready');
  await pageType(page, 'platform-health');
  await visit(page, platformUrl('/console/platform-audit'));
  await submit(page, page.getByRole('button', { name: 'Verify every chain now' }));
  check((await page.textContent('[data-chain="platform"]')).includes('intact'), 'the platform chain verifies');
  await pageType(page, 'platform-audit');
  await done(page);
});

await run();
