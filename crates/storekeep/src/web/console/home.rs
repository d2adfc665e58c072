//! The console's first screen: for shop staff, "needs attention" — the
//! work waiting now (`services::console::attention`, bounded figures);
//! for operators, the platform's overview.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use storekeep_domain::{CurrencySales, Permission};

use crate::app::AppState;
use crate::services::console::{self, Bounded};
use crate::web::console::desk::{Scope, Signed, Staff};
use crate::web::console::page;
use crate::web::i18n::Lang;
use crate::web::money;

struct Tile {
    key: &'static str,
    label: &'static str,
    href: &'static str,
    figure: String,
    zero: bool,
}

impl Tile {
    fn new(key: &'static str, label: &'static str, href: &'static str, b: Bounded) -> Self {
        Self {
            key,
            label,
            href,
            figure: b.to_string(),
            zero: b.is_zero(),
        }
    }
}

/// One currency's sales today against the same span a week before.
struct Sales {
    currency: String,
    orders: i64,
    revenue: String,
    week_orders: i64,
    week_revenue: String,
}

fn sales(today: &[CurrencySales], week_ago: &[CurrencySales], shop_currency: &str) -> Vec<Sales> {
    let mut currencies: Vec<&str> = today
        .iter()
        .chain(week_ago)
        .map(|s| s.currency.as_str())
        .collect();
    currencies.push(shop_currency);
    currencies.sort_unstable();
    currencies.dedup();
    let of = |list: &[CurrencySales], c: &str| {
        list.iter()
            .find(|s| s.currency == c)
            .map_or((0, 0), |s| (s.orders, s.revenue))
    };
    currencies
        .into_iter()
        .map(|c| {
            let (orders, revenue) = of(today, c);
            let (week_orders, week_revenue) = of(week_ago, c);
            Sales {
                currency: c.to_owned(),
                orders,
                revenue: money::format(revenue, c, Lang::En),
                week_orders,
                week_revenue: money::format(week_revenue, c, Lang::En),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct Home<'a> {
    shop: &'a str,
    cap: u32,
    tiles: Vec<Tile>,
    all_clear: bool,
    sales: Vec<Sales>,
}

#[derive(Template)]
#[template(path = "console/platform_home.html")]
struct PlatformHome;

/// `GET /console`.
pub async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    match signed.desk.scope {
        Scope::Platform => page::render(
            &state,
            &signed.desk,
            "/console",
            StatusCode::OK,
            "Overview",
            PlatformHome.render(),
        ),
        Scope::Shop(_) => {
            let staff = match Staff::of(&state, signed) {
                Ok(s) => s,
                Err(refused) => return refused,
            };
            needs_attention(&state, &staff).await
        }
    }
}

async fn needs_attention(state: &AppState, staff: &Staff) -> Response {
    if let Err(r) = staff.require(state, Permission::OrdersRead) {
        return r;
    }
    let a = match console::attention(&state.services, staff.tenant()).await {
        Ok(a) => a,
        Err(e) => return page::error(state, &staff.desk, e),
    };
    let tiles = vec![
        Tile::new(
            "to_fulfil",
            "orders to fulfil",
            "/console/orders?status=paid",
            a.to_fulfil,
        ),
        Tile::new(
            "awaiting_payment",
            "orders awaiting payment",
            "/console/orders?status=pending_payment",
            a.awaiting_payment,
        ),
        Tile::new(
            "unmatched_payments",
            "payments that paid no order",
            "/console/payments/unmatched",
            a.unmatched_payments,
        ),
        Tile::new(
            "low_stock",
            "variants with 2 or fewer units left",
            "/console/products",
            a.low_stock,
        ),
        Tile::new(
            "overdue_rentals",
            "rentals overdue",
            "/console/rentals?status=overdue",
            a.overdue_rentals,
        ),
        Tile::new(
            "to_inspect",
            "returns to inspect",
            "/console/rentals/units?status=inspection",
            a.to_inspect,
        ),
        Tile::new(
            "dead_jobs",
            "emails and webhooks that gave up",
            "/console/jobs?state=dead",
            a.dead_jobs,
        ),
    ];
    let all_clear = tiles.iter().all(|t| t.zero);
    let main = Home {
        shop: staff.shop.name(),
        cap: console::CAP,
        tiles,
        all_clear,
        sales: sales(&a.today, &a.week_ago, &staff.tenant().settings.currency),
    }
    .render();
    page::render(
        state,
        &staff.desk,
        "/console",
        StatusCode::OK,
        "Needs attention",
        main,
    )
}
