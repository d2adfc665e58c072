// A customer rents a laptop from the first seeded shop as a shopper would:
// signs up, opens the laptop's product page and reads the rent-to-own
// disclosures, rents it on its plan, checks out with the simulated `test`
// provider, finds the contract under the account's rentals with its
// schedule, and pays the next installment — with axe-core and a screenshot
// on the product page with plans, the rentals list and the rental page.
//
// STOREKEEP_BROWSER_SHOPS as for browse.mjs; the first shop also rents
// `rental` (crates/storekeep/tests/cli/browser.rs: `{handle, title, plan}`)
// and accepts `test` payments.

import { STOREFRONT_GAPS, test, run, newPage, visit, axe, screenshot, done, check, checkEqual, env, shopUrl } from './lib.mjs';

const shop = JSON.parse(env('STOREKEEP_BROWSER_SHOPS'))[0];
const laptop = shop.rental;

async function pageType(page, name) {
  await axe(page);
  await screenshot(page, `${shop.slug}-${name}`);
}

async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

/// Visits `url` until `done(page)` holds (the processor answers a moment
/// after a payment starts; a shopper reloads as the page itself does).
async function until(page, url, ready) {
  for (let i = 0; i < 50; i += 1) {
    if (i > 0) await page.waitForTimeout(200);
    await visit(page, url);
    if (await ready(page)) return true;
  }
  return false;
}

test(`a customer signs up, rents "${laptop.title}" from ${shop.slug}, sees its schedule and pays the next installment`, async (browser) => {
  const page = await newPage(browser, { tolerate: STOREFRONT_GAPS });

  await visit(page, shopUrl(shop.slug, '/signup'));
  await page.fill('#email', 'renter@example.com');
  await page.fill('#password', 'correct horse battery staple');
  await page.fill('#name', 'Rita Renter');
  await submit(page, page.locator('form[action="/signup"] button[type=submit]'));

  // The product page shows the plan with its disclosures before anything
  // is rented.
  await visit(page, shopUrl(shop.slug, `/products/${laptop.handle}`));
  const plan = page.locator('section.rent li.plan').first();
  const disclosed = await plan.textContent();
  for (const words of [laptop.plan, 'Cash price', 'Total of payments', 'Cost of renting over the cash price', 'The item becomes yours after the last payment.']) {
    check(disclosed.includes(words), `the plan discloses "${words}"`);
  }
  await pageType(page, 'product-rental');
  await submit(page, plan.locator('form[action="/cart/rentals"] button[type=submit]'));
  checkEqual(new URL(page.url()).pathname, '/cart', 'renting leads to the cart');
  const cart = await page.textContent('main');
  check(cart.includes(laptop.plan) && cart.includes('Due today'), 'the cart shows the rental line with its plan and what is due today');

  await submit(page, page.locator('main a[href="/checkout"]'));
  const form = page.locator('form[action="/checkout"]');
  checkEqual(await page.inputValue('#email'), 'renter@example.com', 'the email is prefilled');
  await page.fill('#name', 'Rita Renter');
  await page.fill('#line1', '1 Main St');
  await page.fill('#city', 'Oakland');
  await page.fill('#region', 'CA');
  await page.fill('#postal_code', '94607');
  await page.fill('#country', 'US');
  await form.locator('input[name=shipping_method][value=standard]').check();
  await form.locator('input[name=payment_provider][value=test]').check();
  await submit(page, form.locator('button[type=submit]'));
  const order = new URL(page.url());
  check(order.pathname.startsWith('/orders/'), `placing the order opens its page, not ${order.pathname}`);
  const paid = await until(page, order.href, async (p) => (await p.locator('.order-status strong').textContent()).trim() === 'Paid');
  check(paid, 'the order (deposit and first payment) is paid');

  // The account's rentals list the contract; its page shows the schedule.
  await visit(page, shopUrl(shop.slug, '/account'));
  await submit(page, page.locator('main a[href="/account/rentals"]'));
  const list = await page.textContent('table.rentals');
  check(list.includes(laptop.title) && list.includes(laptop.plan), 'the rentals list shows the laptop on its plan');
  await pageType(page, 'rentals');
  await submit(page, page.locator('table.rentals tbody a').first());
  const rental = page.url();
  checkEqual(await page.locator('table.schedule tbody tr').count(), laptop.term, 'the schedule lists every installment');
  checkEqual(await page.locator('table.schedule tbody tr.paid').count(), 1, 'the first installment is paid at checkout');
  check((await page.textContent('main')).includes('Payment 2 of'), 'the next installment is offered');
  await pageType(page, 'rental');

  // Pay this installment: the page comes back and shows it paid.
  await page.locator('form.pay input[name=payment_provider][value=test]').check();
  await submit(page, page.locator('form.pay button[type=submit]'));
  check(new URL(page.url()).pathname === new URL(rental).pathname, 'paying leads back to the rental');
  const second = await until(page, `${rental}?paying=1`, async (p) => (await p.locator('table.schedule tbody tr.paid').count()) === 2);
  check(second, 'the second installment is paid');
  check((await page.textContent('main')).includes('Payment 2 is paid'), 'the page says so');
  await screenshot(page, `${shop.slug}-rental-paid`);
  await done(page);
});

await run();
