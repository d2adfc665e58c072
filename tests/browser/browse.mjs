// A guest browses each seeded shop as a shopper would: the home page, a
// category, sorting and a price filter, a product, a search, the deals
// page, a legal page and a page that does not exist — with axe-core on
// every page type and a screenshot of each; then the same with JavaScript
// off; and two shops on two host names each show only their own products
// and their own branding.
//
// STOREKEEP_BROWSER_SHOPS (set by crates/storekeep/tests/cli/browser.rs):
// [{slug, name, color, category: {handle, name}, search,
//   products: [{title, handle, price, cents, in_category}]}]

import {
  STOREFRONT_GAPS, test, run, newPage, visit, axe, screenshot, done, check, checkEqual, env, shopUrl,
} from './lib.mjs';

const shops = JSON.parse(env('STOREKEEP_BROWSER_SHOPS'));

/// The product titles on the page's product cards, in order.
const cardTitles = (page) => page.locator('.card .card-title').allTextContents().then((t) => t.map((s) => s.trim()));

/// `#rrggbb` as the `rgb(r, g, b)` getComputedStyle answers.
function rgb(hex) {
  const n = (i) => parseInt(hex.slice(i, i + 2), 16);
  return `rgb(${n(1)}, ${n(3)}, ${n(5)})`;
}

/// Same members, any order.
function checkSameSet(actual, expected, what) {
  checkEqual(JSON.stringify([...actual].sort()), JSON.stringify([...expected].sort()), what);
}

/// Checks the page and, with JavaScript on, runs axe; then a screenshot.
async function pageType(page, shop, name) {
  if (page.sk.javaScript) await axe(page);
  await screenshot(page, `${shop.slug}-${name}${page.sk.javaScript ? '' : '-nojs'}`);
}

/// The shop's name and colour, as the rendered page shows them.
async function branding(page) {
  return {
    name: (await page.locator('header .brand').textContent()).trim(),
    color: await page.locator('header.site-header').evaluate((el) => getComputedStyle(el).backgroundColor),
  };
}

/// Submits the form `button` is in and waits for the page it loads.
async function submit(page, button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

async function browse(browser, shop, { javaScript }) {
  const page = await newPage(browser, { javaScript, tolerate: STOREFRONT_GAPS });
  const others = shops.filter((s) => s !== shop).flatMap((s) => s.products.map((p) => p.title));
  const inCategory = shop.products.filter((p) => p.in_category);

  // Home: the shop's name and colour, its own products only.
  await visit(page, shopUrl(shop.slug, '/'));
  const brand = await branding(page);
  checkEqual(brand.name, shop.name, 'the shop name in the header');
  checkEqual(brand.color, rgb(shop.color), "the header in the shop's colour");
  const home = await cardTitles(page);
  check(home.length > 0, 'the home page shows products');
  check(home.every((t) => shop.products.some((p) => p.title === t)), `only ${shop.slug}'s products: ${home}`);
  const body = await page.textContent('body');
  for (const title of others) check(!body.includes(title), `another shop's "${title}" is not on ${shop.slug}'s home page`);
  await pageType(page, shop, 'home');

  // A category: its products; sorted by price both ways; a price filter.
  await visit(page, shopUrl(shop.slug, `/categories/${shop.category.handle}`));
  checkEqual((await page.locator('main h1').textContent()).trim(), shop.category.name, 'category heading');
  checkSameSet(await cardTitles(page), inCategory.map((p) => p.title), 'the category lists its products');
  await pageType(page, shop, 'category');

  const byPrice = [...inCategory].sort((a, b) => a.cents - b.cents).map((p) => p.title);
  const filters = page.locator('form.filters');
  await page.selectOption('#sort', 'price_asc');
  await submit(page, filters.locator('button[type=submit]'));
  checkEqual(JSON.stringify(await cardTitles(page)), JSON.stringify(byPrice), 'sorted by price, low to high');
  await page.selectOption('#sort', 'price_desc');
  await submit(page, filters.locator('button[type=submit]'));
  checkEqual(JSON.stringify(await cardTitles(page)), JSON.stringify([...byPrice].reverse()), 'sorted by price, high to low');

  // The cheapest product is left out by a lowest price just above it.
  const cheapest = [...inCategory].sort((a, b) => a.cents - b.cents)[0];
  await page.fill('#min_price', ((cheapest.cents + 1) / 100).toFixed(2));
  await submit(page, filters.locator('button[type=submit]'));
  checkSameSet(
    await cardTitles(page),
    inCategory.filter((p) => p !== cheapest).map((p) => p.title),
    `a lowest price above ${cheapest.price} leaves "${cheapest.title}" out`,
  );
  await pageType(page, shop, 'category-filtered');

  // A product, opened from its card.
  const product = inCategory.find((p) => p !== cheapest);
  await submit(page, page.locator('.card a', { hasText: product.title }));
  checkEqual(new URL(page.url()).pathname, `/products/${product.handle}`, 'the card links to the product page');
  checkEqual((await page.locator('main h1').textContent()).trim(), product.title, 'product heading');
  checkEqual((await page.locator('.product .price .now').textContent()).trim(), product.price, 'price in the shop currency');
  await pageType(page, shop, 'product');

  // Search from the header: the matching products of this shop only.
  await page.fill('header #q', shop.search);
  await submit(page, page.locator('header form[role=search] button[type=submit]'));
  checkEqual(new URL(page.url()).pathname, '/search', 'the header search opens the search page');
  const found = await cardTitles(page);
  checkSameSet(
    found,
    shop.products.filter((p) => p.title.toLowerCase().includes(shop.search.toLowerCase())).map((p) => p.title),
    `search for "${shop.search}"`,
  );
  await pageType(page, shop, 'search');

  // The deals page (from the header), a legal page (from the footer), and
  // a product that does not exist.
  await submit(page, page.locator('header nav a[href="/deals"]'));
  checkEqual(new URL(page.url()).pathname, '/deals', 'the header links to the deals');
  await pageType(page, shop, 'deals');
  await submit(page, page.locator('footer a[href="/legal/terms"]'));
  check((await page.textContent('main')).includes(shop.terms), 'the terms page shows the shop\'s terms');
  await pageType(page, shop, 'legal');
  await visit(page, shopUrl(shop.slug, '/products/no-such-product'), { status: 404 });
  await pageType(page, shop, 'not-found');
  await done(page);
}

for (const shop of shops) {
  test(`a guest browses ${shop.slug}: home, category, sort, price filter, product, search, deals, terms, 404`, (b) =>
    browse(b, shop, { javaScript: true }));
  test(`the same browse of ${shop.slug} with JavaScript off`, (b) => browse(b, shop, { javaScript: false }));
}

test('two shops on two host names: each its own products, name and colour', async (browser) => {
  const seen = [];
  for (const shop of shops) {
    const page = await newPage(browser, { tolerate: STOREFRONT_GAPS });
    await visit(page, shopUrl(shop.slug, '/'));
    seen.push(await branding(page));
    for (const other of shops.filter((s) => s !== shop)) {
      // Another shop's product is not found here, by search or by address.
      const word = other.search;
      await visit(page, shopUrl(shop.slug, `/search?q=${encodeURIComponent(word)}`));
      const found = await cardTitles(page);
      check(
        found.every((t) => shop.products.some((p) => p.title === t)),
        `searching ${shop.slug} for "${word}" finds only its own products: ${found}`,
      );
      await visit(page, shopUrl(shop.slug, `/products/${other.products[0].handle}`), { status: 404 });
    }
    await done(page);
  }
  checkEqual(new Set(seen.map((s) => s.name)).size, shops.length, 'each shop shows its own name');
  checkEqual(new Set(seen.map((s) => s.color)).size, shops.length, 'each shop shows its own colour');
});

await run();
