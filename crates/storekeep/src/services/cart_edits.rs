//! What a shopper does to a cart: create it (optionally with items), change
//! its coupon and destination, add, change and remove lines. Each returns
//! the cart priced as the API shows it.

use std::collections::HashSet;

use storekeep_domain::{
    Cart, CartId, CartItemId, MAX_CART_LINES, MAX_LINE_QUANTITY, Tenant, UserRecord,
    ValidationErrors, VariantId,
};

use crate::services::carts::{self, CartAccess, Destination};
use crate::services::contracts;
use crate::services::{ServiceResult, Services};
use crate::wire::carts::{CartChanges, CartView, NewItem};

/// The cart with its prices, as the API shows it.
pub async fn view(svc: &Services, tenant: &Tenant, cart: &Cart) -> ServiceResult<CartView> {
    let priced = carts::priced(svc, tenant, cart, &Destination::of(cart)).await?;
    Ok(CartView::new(cart, &priced, &tenant.settings.currency))
}

/// Every problem with the items of a new cart that needs no look-up.
fn check_new_items(items: &[NewItem]) -> ServiceResult<()> {
    let mut errors = ValidationErrors::new();
    if items.len() > MAX_CART_LINES {
        errors.add("items", "a cart holds at most 100 lines");
    }
    for (i, item) in items.iter().enumerate() {
        let mut e = ValidationErrors::new();
        carts::parse_quantity(item.quantity, &mut e);
        if !e.is_empty() {
            errors.add(
                &format!("items[{i}].quantity"),
                "must be between 1 and 1000",
            );
        }
    }
    Ok(errors.into_result()?)
}

/// One line per variant (quantities added up), checked whole.
fn merge_lines(items: &[NewItem]) -> ServiceResult<Vec<(VariantId, i64)>> {
    let mut merged: Vec<(VariantId, i64)> = Vec::new();
    for item in items {
        match merged.iter_mut().find(|(v, _)| *v == item.variant_id) {
            Some((_, q)) => *q += item.quantity,
            None => merged.push((item.variant_id, item.quantity)),
        }
    }
    if merged.iter().any(|(_, q)| *q > MAX_LINE_QUANTITY) {
        return Err(ValidationErrors::single(
            "items",
            "at most 1000 units of one variant per cart",
        )
        .into());
    }
    Ok(merged)
}

/// Creates a cart with `items`: every item is checked (and unknown
/// variants refused) before anything is written. The view carries the
/// cart token, shown this once.
pub async fn create(
    svc: &Services,
    tenant: &Tenant,
    customer: Option<&UserRecord>,
    items: &[NewItem],
) -> ServiceResult<CartView> {
    check_new_items(items)?;
    if !items.is_empty() {
        let wanted: Vec<VariantId> = items.iter().map(|i| i.variant_id).collect();
        let known: HashSet<VariantId> = svc
            .store
            .sale_variants(tenant.id, &wanted)
            .await?
            .iter()
            .map(|v| v.variant_id)
            .collect();
        let mut errors = ValidationErrors::new();
        for (i, v) in wanted.iter().enumerate() {
            if !known.contains(v) {
                errors.add(
                    &format!("items[{i}].variant_id"),
                    "refers to something that does not exist",
                );
            }
        }
        errors.into_result()?;
    }
    check_new_rentals(svc, tenant, items).await?;
    let (rented, bought): (Vec<NewItem>, Vec<NewItem>) = items
        .iter()
        .cloned()
        .partition(|i| i.rental_plan_id.is_some());
    let merged = merge_lines(&bought)?;
    let (mut cart, token) = carts::create(svc, tenant, customer).await?;
    // One store call per line, as before; a single call would need a new
    // store method.
    for (variant, quantity) in merged {
        cart = svc
            .store
            .add_cart_item(tenant.id, cart.id, variant, quantity)
            .await?;
    }
    for item in &rented {
        add_rental(svc, tenant, cart.id, item, "").await?;
    }
    if !rented.is_empty() {
        cart = svc.store.cart(tenant.id, cart.id).await?;
    }
    let mut view = view(svc, tenant, &cart).await?;
    view.token = Some(token);
    Ok(view)
}

/// The cart, if `access` opens it.
pub async fn show(
    svc: &Services,
    tenant: &Tenant,
    id: CartId,
    access: &CartAccess,
) -> ServiceResult<CartView> {
    let read = carts::open_to_price(svc, tenant, id, access).await?;
    let priced = read
        .priced(svc, tenant, &Destination::of(&read.cart))
        .await?;
    Ok(CartView::new(
        &read.cart,
        &priced,
        &tenant.settings.currency,
    ))
}

/// Sets or clears the coupon code, shipping method and destination.
pub async fn change(
    svc: &Services,
    tenant: &Tenant,
    id: CartId,
    access: &CartAccess,
    changes: CartChanges,
) -> ServiceResult<CartView> {
    carts::open(svc, tenant, id, access).await?;
    let patch = carts::parse_changes(tenant, changes)?;
    let cart = svc.store.update_cart(tenant.id, id, &patch).await?;
    view(svc, tenant, &cart).await
}

fn check_quantity(quantity: i64) -> ServiceResult<()> {
    let mut errors = ValidationErrors::new();
    carts::parse_quantity(quantity, &mut errors);
    Ok(errors.into_result()?)
}

/// Adds units of a variant (to its existing line, if any).
pub async fn add_item(
    svc: &Services,
    tenant: &Tenant,
    id: CartId,
    access: &CartAccess,
    item: &NewItem,
) -> ServiceResult<CartView> {
    if item.rental_plan_id.is_some() || item.rental_term.is_some() {
        carts::open(svc, tenant, id, access).await?;
        add_rental(svc, tenant, id, item, "").await?;
        let cart = svc.store.cart(tenant.id, id).await?;
        return view(svc, tenant, &cart).await;
    }
    check_quantity(item.quantity)?;
    let cart = carts::open(svc, tenant, id, access).await?;
    if cart
        .items
        .iter()
        .any(|i| i.variant_id == item.variant_id && i.rental_plan_id.is_some())
    {
        return Err(ValidationErrors::single(
            "variant_id",
            "is rented in this cart: remove that line to buy it instead",
        )
        .into());
    }
    let cart = svc
        .store
        .add_cart_item(tenant.id, id, item.variant_id, item.quantity)
        .await?;
    view(svc, tenant, &cart).await
}

pub async fn set_item(
    svc: &Services,
    tenant: &Tenant,
    id: CartId,
    access: &CartAccess,
    item: CartItemId,
    quantity: i64,
) -> ServiceResult<CartView> {
    check_quantity(quantity)?;
    let cart = carts::open(svc, tenant, id, access).await?;
    if quantity != 1
        && cart
            .items
            .iter()
            .any(|i| i.id == item && i.rental_plan_id.is_some())
    {
        return Err(ValidationErrors::single("quantity", RENTAL_QUANTITY).into());
    }
    let cart = svc
        .store
        .set_cart_item(tenant.id, id, item, quantity)
        .await?;
    view(svc, tenant, &cart).await
}

pub async fn remove_item(
    svc: &Services,
    tenant: &Tenant,
    id: CartId,
    access: &CartAccess,
    item: CartItemId,
) -> ServiceResult<CartView> {
    carts::open(svc, tenant, id, access).await?;
    let cart = svc.store.remove_cart_item(tenant.id, id, item).await?;
    view(svc, tenant, &cart).await
}

/// A rental line rents one unit.
const RENTAL_QUANTITY: &str = "a rental line holds exactly 1 unit";

/// Checks a rental line (`prefix` names it in a new cart's items) and
/// makes it the cart's line of its variant. The cart was opened.
async fn add_rental(
    svc: &Services,
    tenant: &Tenant,
    cart: CartId,
    item: &NewItem,
    prefix: &str,
) -> ServiceResult<()> {
    let mut errors = ValidationErrors::new();
    let term = rental_term_checked(svc, tenant, item, prefix, &mut errors).await?;
    errors.into_result()?;
    let plan = item.rental_plan_id.expect("checked above");
    svc.store
        .set_rental_item(tenant.id, cart, item.variant_id, plan, term)
        .await?;
    Ok(())
}

/// Every problem of a rental line: its quantity, plan and term.
async fn rental_term_checked(
    svc: &Services,
    tenant: &Tenant,
    item: &NewItem,
    prefix: &str,
    errors: &mut ValidationErrors,
) -> ServiceResult<i32> {
    if item.quantity != 1 {
        errors.add(&format!("{prefix}quantity"), RENTAL_QUANTITY);
    }
    let Some(plan) = item.rental_plan_id else {
        errors.add(
            &format!("{prefix}rental_plan_id"),
            "is required with rental_term",
        );
        return Ok(0);
    };
    let plans = contracts::plans_by_id(svc, tenant, &[plan]).await?;
    Ok(contracts::check_plan(
        plans.first(),
        item.variant_id,
        item.rental_term,
        prefix,
        errors,
    ))
}

/// The rental lines of a new cart, checked before anything is written:
/// each well formed, and its variant on no other line.
async fn check_new_rentals(
    svc: &Services,
    tenant: &Tenant,
    items: &[NewItem],
) -> ServiceResult<()> {
    let mut errors = ValidationErrors::new();
    for (i, item) in items.iter().enumerate() {
        if item.rental_plan_id.is_none() && item.rental_term.is_none() {
            continue;
        }
        let prefix = format!("items[{i}].");
        rental_term_checked(svc, tenant, item, &prefix, &mut errors).await?;
        if items
            .iter()
            .filter(|o| o.variant_id == item.variant_id)
            .count()
            > 1
        {
            errors.add(
                &format!("{prefix}variant_id"),
                "a rented variant takes one line of the cart",
            );
        }
    }
    Ok(errors.into_result()?)
}
