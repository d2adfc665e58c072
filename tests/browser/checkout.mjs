// A guest buys two products from the first seeded shop as a shopper would:
// finds one through a category and one through the search, adds each from
// its product page, reviews the cart, fills in the checkout
// form, pays with the simulated `test` provider and sees the order paid —
// with axe-core and a screenshot on the cart, checkout and order pages;
// then the same with JavaScript off.
//
// STOREKEEP_BROWSER_SHOPS as for browse.mjs; the shop ships `standard` and
// accepts `test` payments (crates/storekeep/tests/cli/browser.rs).

import { STOREFRONT_GAPS, test, run, newPage, visit, axe, screenshot, done, check, checkEqual, env, shopUrl } from './lib.mjs';

const shop = JSON.parse(env('STOREKEEP_BROWSER_SHOPS'))[0];

async function pageType(page, name) {
  if (page.sk.javaScript) await axe(page);
  await screenshot(page, `${shop.slug}-${name}${page.sk.javaScript ? '' : '-nojs'}`);
}

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

async function checkout(browser, { javaScript }) {
  const page = await newPage(browser, { javaScript, tolerate: STOREFRONT_GAPS });
  // Browsing: the first item from the category page, the second found
  // with the header's search; each added from its product page.
  const first = shop.products.find((p) => p.in_category);
  const second = shop.products.find((p) => p !== first && p.title.toLowerCase().includes(shop.search.toLowerCase()));
  check(first && second, 'the shop has a product in its category and another its search finds');
  await visit(page, shopUrl(shop.slug, `/categories/${shop.category.handle}`));
  await submit(page, page.locator('.card a', { hasText: first.title }));
  checkEqual(new URL(page.url()).pathname, `/products/${first.handle}`, 'the category links to the product');
  await submit(page, page.locator('form.add-to-cart button[type=submit]'));
  await page.fill('header #q', shop.search);
  await submit(page, page.locator('header form[role=search] button[type=submit]'));
  checkEqual(new URL(page.url()).pathname, '/search', 'the header search opens the search page');
  await submit(page, page.locator('.card a', { hasText: second.title }));
  checkEqual(new URL(page.url()).pathname, `/products/${second.handle}`, 'the search result links to the product');
  await submit(page, page.locator('form.add-to-cart button[type=submit]'));
  await submit(page, page.locator('header nav a[href="/cart"]'));
  checkEqual(new URL(page.url()).pathname, '/cart', 'the header links to the cart');
  // A line reads "<product> — <variant>".
  const lines = (await page.locator('table.cart tbody tr td:first-child').allTextContents()).map((t) => t.trim().split(' — ')[0]);
  checkEqual(JSON.stringify(lines), JSON.stringify([first.title, second.title]), 'the cart holds both products');
  await pageType(page, 'cart');

  await submit(page, page.locator('main a[href="/checkout"]'));
  const form = page.locator('form[action="/checkout"]');
  await page.fill('#email', 'ada@example.com');
  await page.fill('#name', 'Ada Lovelace');
  await page.fill('#line1', '1 Main St');
  await page.fill('#city', 'Oakland');
  await page.fill('#region', 'CA');
  await page.fill('#postal_code', '94607');
  await page.fill('#country', 'US');
  await form.locator('input[name=shipping_method][value=standard]').check();
  await form.locator('input[name=payment_provider][value=test]').check();
  await pageType(page, 'checkout');
  await submit(page, form.locator('button[type=submit]'));

  const order = new URL(page.url());
  check(order.pathname.startsWith('/orders/'), `placing the order opens its page, not ${order.pathname}`);
  // The simulated processor pays a moment later; the page is reloaded as
  // a shopper waiting for it would.
  let status = '';
  for (let i = 0; i < 50 && status !== 'Paid'; i += 1) {
    if (i > 0) {
      await page.waitForTimeout(200);
      await visit(page, order.href);
    }
    status = (await page.locator('.order-status strong').textContent()).trim();
  }
  checkEqual(status, 'Paid', 'the order is paid');
  const text = await page.textContent('main');
  for (const p of [first, second]) check(text.includes(p.title), `the order lists "${p.title}"`);
  check(text.includes('Oakland'), 'the order shows where it ships');
  await pageType(page, 'order');

  // The cart is spent.
  await visit(page, shopUrl(shop.slug, '/cart'));
  checkEqual(await page.locator('table.cart').count(), 0, 'the cart is empty after the order');
  await done(page);
}

test(`a guest buys two products from ${shop.slug} with the test provider and sees the paid order`, (b) =>
  checkout(b, { javaScript: true }));
test('the same checkout with JavaScript off', (b) => checkout(b, { javaScript: false }));

await run();
