//! A browser for the storefront tests: one host, a cookie jar kept by
//! hand from `Set-Cookie` (names, values, and each cookie's attributes as
//! last set), redirects followed on request, and the headers a same-origin
//! form post carries (`Sec-Fetch-Site`, `Origin`).

use std::collections::BTreeMap;

use reqwest::{Method, Response, StatusCode};
use storekeep_test_support::TestApp;

pub struct Browser {
    pub host: String,
    base: String,
    client: reqwest::Client,
    /// name → value
    pub jar: BTreeMap<String, String>,
    /// name → the whole `Set-Cookie` line that set it last
    pub set_lines: BTreeMap<String, String>,
}

/// A page as the browser got it.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the first `<input … name="{name}" … value="…">`.
    pub fn input(&self, name: &str) -> Option<String> {
        input_value(&self.body, name)
    }

    /// The page's CSRF token (its first form's).
    pub fn csrf(&self) -> String {
        self.input("csrf")
            .unwrap_or_else(|| panic!("no csrf field in the page ({}): {}", self.status, self.body))
    }
}

/// The value of the first input named `name` in `html`.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let start = html[..at].rfind('<')?;
    let end = at + html[at..].find('>')?;
    let tag = &html[start..end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let len = tag[v..].find('"')?;
    Some(unescape(&tag[v..v + len]))
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    pub fn new(app: &TestApp, host: &str) -> Self {
        Self {
            host: host.to_owned(),
            base: format!("http://{}", app.addr),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            set_lines: BTreeMap::new(),
        }
    }

    /// The same cookies, presented at another host (what a browser would
    /// never do; the server must not honour them there).
    pub fn at_host(&self, host: &str) -> Self {
        Self {
            host: host.to_owned(),
            base: self.base.clone(),
            client: self.client.clone(),
            jar: self.jar.clone(),
            set_lines: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.jar.is_empty()).then(|| {
            self.jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("host", &self.host);
        if let Some(c) = self.cookie_header() {
            r = r.header("cookie", c);
        }
        r
    }

    async fn take(&mut self, resp: Response) -> Page {
        for line in resp.headers().get_all("set-cookie") {
            let line = line.to_str().unwrap().to_owned();
            let (pair, _) = line.split_once(';').unwrap_or((&line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let gone = line
                .split(';')
                .any(|a| a.trim().eq_ignore_ascii_case("max-age=0"))
                || value.is_empty();
            if gone {
                self.jar.remove(name);
            } else {
                self.jar.insert(name.to_owned(), value.to_owned());
            }
            self.set_lines.insert(name.to_owned(), line.clone());
        }
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            body: resp.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp = self.request(Method::GET, path).send().await.unwrap();
        self.take(resp).await
    }

    /// Posts a form as a same-origin browser does, without following a
    /// redirect.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let req = self
            .request(Method::POST, path)
            .header("sec-fetch-site", "same-origin")
            .header("origin", format!("http://{}", self.host));
        self.post_with(req, fields).await
    }

    /// Posts a form with the headers `extra` adds.
    pub async fn post_raw(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        extra: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Page {
        let req = extra(self.request(Method::POST, path));
        self.post_with(req, fields).await
    }

    async fn post_with(&mut self, req: reqwest::RequestBuilder, fields: &[(&str, &str)]) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let resp = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.take(resp).await
    }

    /// Follows a 303/302 to the page it names.
    pub async fn follow(&mut self, page: Page) -> Page {
        assert!(
            page.status.is_redirection(),
            "expected a redirect, got {}: {}",
            page.status,
            page.body
        );
        let to = page.location.expect("a Location");
        let path = to
            .strip_prefix(&format!("http://{}", self.host))
            .unwrap_or(&to)
            .to_owned();
        self.get(&path).await
    }
}

/// A selling shop at `{slug}.shops.example` (the web test server's base
/// domain) with two products: the ThinkPad of `selling_shop` (19.99, 10 in
/// stock) and a dock (50.00, 5 in stock); `test` payments accepted.
/// Returns the shop and the dock's variant id.
pub async fn two_product_shop(
    app: &TestApp,
    slug: &str,
) -> (crate::commerce_support::Shop, String) {
    let s = crate::commerce_support::selling_shop(app, slug, 1999, 10).await;
    crate::commerce_support::accept_test_payments(app, &s).await;
    let dock = crate::catalog_support::create(
        app,
        slug,
        &s.token,
        &crate::catalog_support::product_json("USB-C Dock", &[(&format!("{slug}-DOCK"), 5000, 5)]),
    )
    .await;
    let dock = dock["variants"][0]["id"].as_str().unwrap().to_owned();
    (s, dock)
}

/// The orders of a shop as its staff see them.
pub async fn admin_orders(app: &TestApp, slug: &str, token: &str) -> Vec<serde_json::Value> {
    let resp = crate::identity::admin(app, slug, token, Method::GET, "/api/v1/admin/orders")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().await.unwrap();
    v["items"].as_array().unwrap().clone()
}

impl Browser {
    /// This browser's CSRF token, from a page that always has a form
    /// (the sign-in page's).
    pub async fn token(&mut self) -> String {
        self.get("/signin").await.csrf()
    }

    /// Adds `quantity` of `variant` as a product page's form does.
    pub async fn add(&mut self, variant: &str, quantity: &str) -> Page {
        let csrf = self.token().await;
        self.post(
            "/cart/items",
            &[
                ("csrf", &csrf),
                ("variant_id", variant),
                ("quantity", quantity),
            ],
        )
        .await
    }

    /// The cart cookie's cart as the API shows it (id, token, JSON).
    pub async fn api_cart(&self, app: &TestApp, slug: &str) -> serde_json::Value {
        let cookie = self.jar.get("__Host-sk_cart").expect("a cart cookie");
        let (id, token) = cookie.split_once('.').unwrap();
        let resp = app
            .shop(slug, Method::GET, &format!("/api/v1/store/carts/{id}"))
            .header("x-cart-token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json::<serde_json::Value>().await.unwrap()["cart"].clone()
    }

    /// The checkout form's fields for a guest in the US, with the form's
    /// own CSRF token and idempotency key.
    pub async fn checkout_form(&mut self, provider: &str) -> Vec<(&'static str, String)> {
        let page = self.get("/checkout").await;
        assert_eq!(page.status, 200, "{}", page.body);
        vec![
            ("csrf", page.csrf()),
            (
                "idempotency_key",
                page.input("idempotency_key").expect("a key"),
            ),
            ("email", "ann@example.com".into()),
            ("name", "Ann Guest".into()),
            ("line1", "1 Main Street".into()),
            ("line2", String::new()),
            ("city", "Springfield".into()),
            ("region", String::new()),
            ("postal_code", "12345".into()),
            ("country", "US".into()),
            ("phone", String::new()),
            ("shipping_method", "standard".into()),
            ("payment_provider", provider.into()),
        ]
    }

    pub async fn post_owned(&mut self, path: &str, fields: &[(&'static str, String)]) -> Page {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(path, &f).await
    }
}
