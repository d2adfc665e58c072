//! Carts and their prices. Every total a shopper sees, on a cart or an
//! order, comes from [`priced`], which gathers the inputs (current variant
//! prices, live deals, the coupon, the shop's shipping and tax settings) and
//! hands them to the one pricing engine, `storekeep_domain::price`.

use std::collections::HashMap;

use storekeep_domain::{
    Cart, CartId, CartItemId, CartPatch, CategoryId, Deal, DealTarget, Money, NewCart,
    PricingContext, PricingLine, ProductStatus, Quote, QuotedLine, RentalPlanId, SaleVariant,
    Tenant, UserId, UserRecord, ValidationErrors, VariantId, parse_country, parse_coupon_code,
    parse_region, price, tax_rate_for,
};
use storekeep_store::StoreError;
use subtle::ConstantTimeEq;

use crate::crypto::tokens;
use crate::services::ServiceResult;
use crate::services::Services;
use crate::services::contracts::{self, quote::RentalQuote};
use crate::wire::carts::{CartChanges, CartView, DealApplied, LineView};

/// The header that carries a guest's cart token.
pub const CART_TOKEN_HEADER: &str = "x-cart-token";

/// Who is asking for a cart: the token they hold and the customer they are
/// logged in as.
#[derive(Debug, Clone, Default)]
pub struct CartAccess {
    pub token: Option<String>,
    pub customer: Option<UserId>,
}

impl CartAccess {
    /// The token opens any cart it was issued for; a customer's session
    /// opens the carts created while logged in. Anything else is "not
    /// found", so cart ids reveal nothing.
    pub fn allows(&self, token_hash: &str, owner: Option<UserId>) -> bool {
        let by_token = self
            .token
            .as_deref()
            .is_some_and(|t| bool::from(tokens::hash(t).as_bytes().ct_eq(token_hash.as_bytes())));
        by_token || (owner.is_some() && owner == self.customer)
    }
}

pub fn money(amount: i64, currency: &str) -> Money {
    Money {
        amount,
        currency: currency.to_owned(),
    }
}

impl LineView {
    pub fn from_quoted(l: &QuotedLine, currency: &str) -> Self {
        Self {
            id: l.item_id,
            variant_id: l.variant_id,
            product_id: l.product_id,
            sku: l.sku.clone(),
            title: l.title.clone(),
            quantity: l.quantity,
            unit_price: money(l.unit_price, currency),
            discount: money(l.discount, currency),
            total: money(l.total, currency),
            deal_id: l.deal_id,
            rental: None,
        }
    }
}

impl CartView {
    pub fn new(cart: &Cart, priced: &Priced, currency: &str) -> Self {
        let q = &priced.quote;
        let m = |a| money(a, currency);
        Self {
            id: cart.id,
            token: None,
            status: cart.status,
            customer_id: cart.customer_id,
            coupon_code: cart.coupon_code.clone(),
            shipping_method: cart.shipping_method.clone(),
            country: cart.country.clone(),
            region: cart.region.clone(),
            order_id: cart.order_id,
            items: q
                .lines
                .iter()
                .map(|l| {
                    let mut line = LineView::from_quoted(l, currency);
                    line.rental = priced
                        .rentals
                        .iter()
                        .find(|r| Some(r.item_id) == l.item_id)
                        .map(|r| r.view(currency));
                    line
                })
                .collect(),
            subtotal: m(q.subtotal),
            discount: m(q.discount),
            shipping: m(q.shipping),
            tax: m(q.tax),
            total: m(q.total),
            deals: q
                .deals
                .iter()
                .map(|d| DealApplied {
                    deal_id: d.deal_id,
                    name: d.name.clone(),
                    code: d.code.clone(),
                    amount: m(d.amount),
                })
                .collect(),
            notes: priced.notes(),
            created_at: cart.created_at,
            updated_at: cart.updated_at,
        }
    }
}

/// A priced cart, and what could not be priced.
#[derive(Debug, Clone)]
pub struct Priced {
    pub quote: Quote,
    /// Items whose product is gone or not on sale; left out of the quote.
    pub unavailable: Vec<(CartItemId, VariantId)>,
    /// The shipping method asked for does not exist or does not ship there.
    pub shipping_problem: Option<String>,
    /// The coupon entered does not exist.
    pub unknown_coupon: Option<String>,
    /// The rental lines, priced apart (see [`add_rentals`]).
    pub rentals: Vec<RentalQuote>,
}

impl Priced {
    pub fn notes(&self) -> Vec<String> {
        let mut notes = self.quote.notes.clone();
        for (_, v) in &self.unavailable {
            notes.push(format!("variant {v} is no longer for sale"));
        }
        if let Some(p) = &self.shipping_problem {
            notes.push(p.clone());
        }
        if let Some(c) = &self.unknown_coupon {
            notes.push(format!("coupon {c} does not exist"));
        }
        notes
    }
}

/// What pricing needs to know about where the order goes.
#[derive(Debug, Clone, Default)]
pub struct Destination<'a> {
    pub coupon_code: Option<&'a str>,
    pub shipping_method: Option<&'a str>,
    pub country: Option<&'a str>,
    pub region: Option<&'a str>,
}

impl<'a> Destination<'a> {
    pub fn of(cart: &'a Cart) -> Self {
        Self {
            coupon_code: cart.coupon_code.as_deref(),
            shipping_method: cart.shipping_method.as_deref(),
            country: cart.country.as_deref(),
            region: cart.region.as_deref(),
        }
    }
}

/// Prices the cart's items as they are now.
pub async fn priced(
    state: &Services,
    tenant: &Tenant,
    cart: &Cart,
    to: &Destination<'_>,
) -> ServiceResult<Priced> {
    let now = storekeep_store::now();
    let store = &state.store;
    let variant_ids: Vec<VariantId> = cart.items.iter().map(|i| i.variant_id).collect();
    let variants = store.sale_variants(tenant.id, &variant_ids).await?;
    let deals = store.deals_between(tenant.id, now, now).await?;
    price_cart(state, tenant, cart, to, &variants, &deals, now).await
}

/// A cart, if `access` opens it, with what pricing it reads, as they
/// were at one time.
pub struct ToPrice {
    pub cart: Cart,
    variants: Vec<SaleVariant>,
    deals: Vec<Deal>,
    now: chrono::DateTime<chrono::Utc>,
}

impl ToPrice {
    /// Prices the cart as [`priced`] does, from what was read with it.
    pub async fn priced(
        &self,
        state: &Services,
        tenant: &Tenant,
        to: &Destination<'_>,
    ) -> ServiceResult<Priced> {
        let (cart, variants, deals) = (&self.cart, &self.variants, &self.deals);
        price_cart(state, tenant, cart, to, variants, deals, self.now).await
    }
}

/// [`open`] and what [`priced`] reads, in one store read
/// (`cart_to_price`: one round trip on PostgreSQL instead of four, before
/// every checkout).
pub async fn open_to_price(
    state: &Services,
    tenant: &Tenant,
    id: CartId,
    access: &CartAccess,
) -> ServiceResult<ToPrice> {
    let now = storekeep_store::now();
    let read = state.store.cart_to_price(tenant.id, id, now).await?;
    Ok(ToPrice {
        cart: opened(read.cart, access)?,
        variants: read.variants,
        deals: read.deals,
        now,
    })
}

async fn price_cart(
    state: &Services,
    tenant: &Tenant,
    cart: &Cart,
    to: &Destination<'_>,
    variants: &[SaleVariant],
    deals: &[Deal],
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<Priced> {
    let store = &state.store;
    let coupon: Option<Deal> = match to.coupon_code {
        Some(code) => match store.deal_by_code(tenant.id, code).await {
            Ok(d) => Some(d),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let needs_tree = deals
        .iter()
        .chain(coupon.iter())
        .any(|d| d.target == DealTarget::Categories);
    let parents: HashMap<CategoryId, Option<CategoryId>> = if needs_tree {
        store
            .list_categories(tenant.id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.parent_id))
            .collect()
    } else {
        HashMap::new()
    };

    let by_variant: HashMap<VariantId, &SaleVariant> =
        variants.iter().map(|v| (v.variant_id, v)).collect();
    let plan_ids: Vec<RentalPlanId> = cart.items.iter().filter_map(|i| i.rental_plan_id).collect();
    let plans = if plan_ids.is_empty() {
        Vec::new()
    } else {
        contracts::plans_by_id(state, tenant, &plan_ids).await?
    };
    let mut lines = Vec::with_capacity(cart.items.len());
    let mut unavailable = Vec::new();
    let mut rentals = Vec::new();
    for item in &cart.items {
        match by_variant.get(&item.variant_id) {
            Some(v) if v.status == ProductStatus::Active && item.rental_plan_id.is_some() => {
                match rental_quote(item, v, &plans, now, &tenant.settings.time_zone) {
                    Some(r) => rentals.push(r),
                    None => unavailable.push((item.id, item.variant_id)),
                }
            }
            Some(v) if v.status == ProductStatus::Active => {
                let title = if v.variant_title.is_empty() || v.variant_title == v.product_title {
                    v.product_title.clone()
                } else {
                    format!("{} — {}", v.product_title, v.variant_title)
                };
                lines.push(PricingLine {
                    item_id: Some(item.id),
                    variant_id: v.variant_id,
                    product_id: v.product_id,
                    sku: v.sku.clone(),
                    title,
                    unit_price: v.price,
                    quantity: item.quantity,
                    categories: with_ancestors(&v.categories, &parents),
                });
            }
            _ => unavailable.push((item.id, item.variant_id)),
        }
    }

    let settings = &tenant.settings;
    let mut shipping_problem = None;
    let shipping = to.shipping_method.and_then(|code| {
        match settings.shipping_methods.iter().find(|m| m.code == code) {
            None => {
                shipping_problem = Some(format!("shipping method {code} does not exist"));
                None
            }
            Some(m) if !m.ships_to(to.country) => {
                shipping_problem = Some(format!(
                    "shipping method {code} does not ship to {}",
                    to.country.unwrap_or("an unknown country")
                ));
                None
            }
            Some(m) => Some(m),
        }
    });
    let tax = tax_rate_for(&settings.tax_rates, to.country, to.region);
    let mut quote = price(
        &lines,
        &PricingContext {
            deals,
            coupon: coupon.as_ref(),
            shipping,
            tax,
        },
        now,
    );
    add_rentals(&mut quote, &rentals, variants, shipping);
    Ok(Priced {
        rentals,
        quote,
        unavailable,
        shipping_problem,
        unknown_coupon: to
            .coupon_code
            .filter(|_| coupon.is_none())
            .map(str::to_owned),
    })
}

/// A rental line priced, if its plan still rents the variant on the term
/// asked for (else the line is unavailable).
fn rental_quote(
    item: &storekeep_domain::CartItem,
    v: &SaleVariant,
    plans: &[storekeep_domain::RentalPlan],
    now: chrono::DateTime<chrono::Utc>,
    time_zone: &str,
) -> Option<RentalQuote> {
    let plan = plans.iter().find(|p| Some(p.id) == item.rental_plan_id);
    let mut errors = ValidationErrors::new();
    let term = contracts::check_plan(plan, v.variant_id, item.rental_term, "", &mut errors);
    if !errors.is_empty() {
        return None;
    }
    Some(RentalQuote::new(
        item.id,
        plan?.clone(),
        term,
        v.price,
        now,
        time_zone,
    ))
}

/// Rental lines join the quote at what is due today (deposit and first
/// installment), one unit, no discount: deals and coupons apply to bought
/// lines only, and tax is computed on those alone. A cart of rentals only
/// still pays its shipping.
fn add_rentals(
    quote: &mut Quote,
    rentals: &[RentalQuote],
    variants: &[SaleVariant],
    shipping: Option<&storekeep_domain::ShippingMethod>,
) {
    if rentals.is_empty() {
        return;
    }
    if quote.lines.is_empty() {
        let cost = shipping.map_or(0, |s| s.price);
        quote.shipping = cost;
        quote.total += cost;
    }
    for r in rentals {
        let Some(v) = variants.iter().find(|v| v.variant_id == r.variant_id) else {
            continue;
        };
        let due = r.due_today();
        quote.lines.push(QuotedLine {
            item_id: Some(r.item_id),
            variant_id: v.variant_id,
            product_id: v.product_id,
            sku: v.sku.clone(),
            title: format!("{} — rental: {}", v.product_title, r.plan.name),
            quantity: 1,
            unit_price: due,
            discount: 0,
            total: due,
            deal_id: None,
        });
        quote.subtotal += due;
        quote.total += due;
    }
}

fn with_ancestors(
    categories: &[CategoryId],
    parents: &HashMap<CategoryId, Option<CategoryId>>,
) -> Vec<CategoryId> {
    let mut out = Vec::new();
    for c in categories {
        let mut cur = Some(*c);
        // Bounded by the tree's size, so a corrupt cycle cannot spin.
        let mut steps = 0;
        while let Some(id) = cur {
            if out.contains(&id) || steps > parents.len() {
                break;
            }
            out.push(id);
            cur = parents.get(&id).copied().flatten();
            steps += 1;
        }
    }
    out
}

/// Opens a cart for whoever may see it.
pub async fn open(
    state: &Services,
    tenant: &Tenant,
    id: CartId,
    access: &CartAccess,
) -> ServiceResult<Cart> {
    opened(state.store.cart(tenant.id, id).await?, access)
}

/// `cart` if `access` opens it; to anyone else it does not exist.
fn opened(cart: Cart, access: &CartAccess) -> ServiceResult<Cart> {
    if access.allows(&cart.token_hash, cart.customer_id) {
        Ok(cart)
    } else {
        Err(StoreError::NotFound("cart").into())
    }
}

/// A new cart; logged-in customers own theirs. Returns the token once.
pub async fn create(
    state: &Services,
    tenant: &Tenant,
    customer: Option<&UserRecord>,
) -> ServiceResult<(Cart, String)> {
    let (token, token_hash) = tokens::generate("skc_");
    let cart = state
        .store
        .create_cart(
            tenant.id,
            &NewCart {
                id: CartId::new(),
                customer_id: customer.map(|u| u.id),
                token_hash,
            },
        )
        .await?;
    Ok((cart, token))
}

pub fn parse_changes(tenant: &Tenant, c: CartChanges) -> ServiceResult<CartPatch> {
    let mut errors = ValidationErrors::new();
    let mut patch = CartPatch::default();
    if let Some(code) = c.coupon_code {
        patch.coupon_code = Some(match code {
            Some(raw) => match parse_coupon_code(&raw) {
                Ok(c) => Some(c),
                Err(m) => {
                    errors.add("coupon_code", m);
                    None
                }
            },
            None => None,
        });
    }
    if let Some(method) = c.shipping_method {
        if let Some(m) = &method
            && !tenant
                .settings
                .shipping_methods
                .iter()
                .any(|s| &s.code == m)
        {
            errors.add(
                "shipping_method",
                format!(
                    "must be one of the shop's shipping methods: {}",
                    shipping_codes(tenant)
                ),
            );
        }
        patch.shipping_method = Some(method);
    }
    if let Some(country) = c.country {
        patch.country = Some(match country {
            Some(raw) => parse_country(&raw)
                .map_err(|m| errors.add("country", m))
                .ok(),
            None => None,
        });
    }
    if let Some(region) = c.region {
        patch.region = Some(match region {
            Some(raw) => parse_region(&raw).map_err(|m| errors.add("region", m)).ok(),
            None => None,
        });
    }
    errors.into_result()?;
    Ok(patch)
}

pub fn shipping_codes(tenant: &Tenant) -> String {
    let codes: Vec<&str> = tenant
        .settings
        .shipping_methods
        .iter()
        .map(|m| m.code.as_str())
        .collect();
    if codes.is_empty() {
        "(the shop has none configured)".into()
    } else {
        codes.join(", ")
    }
}

/// Checks a requested quantity.
pub fn parse_quantity(q: i64, errors: &mut ValidationErrors) -> i64 {
    if !(1..=storekeep_domain::MAX_LINE_QUANTITY).contains(&q) {
        errors.add(
            "quantity",
            format!(
                "must be between 1 and {}",
                storekeep_domain::MAX_LINE_QUANTITY
            ),
        );
    }
    q
}
