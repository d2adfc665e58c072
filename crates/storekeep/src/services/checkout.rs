//! Checkout: a cart becomes an order in one store transaction (see
//! `storekeep_store::commerce`), guarded by the caller's `Idempotency-Key`.

use sha2::{Digest, Sha256};
use storekeep_domain::{
    CartId, CheckoutOutcome, FieldError, NewOrder, NewPayment, OrderDetail, OrderId, PaymentId,
    PaymentOutcome, Tenant, UserId, ValidationErrors, parse_country, parse_region,
};

use crate::payments::StartPayment;
use crate::services::Services;
use crate::services::carts::{self, CartAccess, Destination};
use crate::services::orders::{address_context, email_context};
use crate::services::{ServiceError, ServiceResult};
use crate::wire::orders::Address;
use crate::wire::orders::CheckoutRequest;

/// The longest `Idempotency-Key` accepted.
pub const MAX_KEY_LEN: usize = 255;

/// How a checkout ended, for the handler.
#[derive(Debug)]
pub enum Checkout {
    Created(Box<OrderDetail>),
    /// A retry of a checkout that already succeeded with this key.
    Replayed(Box<OrderDetail>),
}

fn text(
    errors: &mut ValidationErrors,
    field: &str,
    value: &str,
    required: bool,
    max: usize,
) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        errors.add(field, "is required");
    } else if v.chars().count() > max || v.chars().any(char::is_control) {
        errors.add(
            field,
            format!("must be at most {max} characters, no control characters"),
        );
    }
    v.to_owned()
}

fn parse_address(a: &Address, errors: &mut ValidationErrors) -> Address {
    let opt = |errors: &mut ValidationErrors, field: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| text(errors, field, s, false, 200))
            .filter(|s| !s.is_empty())
    };
    Address {
        name: text(errors, "shipping_address.name", &a.name, true, 200),
        line1: text(errors, "shipping_address.line1", &a.line1, true, 200),
        line2: opt(errors, "shipping_address.line2", &a.line2),
        city: text(errors, "shipping_address.city", &a.city, true, 100),
        region: a.region.as_deref().and_then(|r| {
            parse_region(r)
                .map_err(|m| errors.add("shipping_address.region", m))
                .ok()
        }),
        postal_code: text(
            errors,
            "shipping_address.postal_code",
            &a.postal_code,
            true,
            20,
        ),
        country: parse_country(&a.country).unwrap_or_else(|m| {
            errors.add("shipping_address.country", m);
            String::new()
        }),
        phone: opt(errors, "shipping_address.phone", &a.phone),
    }
}

/// Checks the header's value: 1–255 visible ASCII characters.
pub fn parse_key(raw: Option<&str>) -> Result<String, ValidationErrors> {
    match raw {
        None => Err(ValidationErrors::single(
            "Idempotency-Key",
            "this header is required: send a unique value per checkout, and the same value when retrying it",
        )),
        Some(k)
            if (1..=MAX_KEY_LEN).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(k.to_owned())
        }
        Some(_) => Err(ValidationErrors::single(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        )),
    }
}

/// A fingerprint of the request: the same key may only repeat this.
fn request_hash(cart: CartId, req: &CheckoutRequest) -> String {
    let body = serde_json::to_vec(req).expect("a plain struct serialises");
    let mut h = Sha256::new();
    h.update(cart.to_string().as_bytes());
    h.update(b"\n");
    h.update(&body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn conflict(detail: impl Into<String>, errors: Vec<FieldError>) -> ServiceError {
    ServiceError::Conflict {
        detail: detail.into(),
        errors,
    }
}

/// What a checkout request says, checked (every field problem at once).
struct Parsed {
    email: String,
    address: Address,
    provider: std::sync::Arc<dyn crate::payments::PaymentProvider>,
    test_outcome: PaymentOutcome,
}

fn parse_request(
    state: &Services,
    tenant: &Tenant,
    req: &CheckoutRequest,
) -> ServiceResult<Parsed> {
    let mut errors = ValidationErrors::new();
    let email = crate::services::accounts::normalize_email(&req.email)
        .map_err(|m| errors.add("email", m))
        .unwrap_or_default();
    let address = parse_address(&req.shipping_address, &mut errors);
    let method = tenant
        .settings
        .shipping_methods
        .iter()
        .find(|m| m.code == req.shipping_method);
    match method {
        None => errors.add(
            "shipping_method",
            format!(
                "must be one of the shop's shipping methods: {}",
                carts::shipping_codes(tenant)
            ),
        ),
        Some(m) if !address.country.is_empty() && !m.ships_to(Some(&address.country)) => errors
            .add(
                "shipping_method",
                format!("does not ship to {}", address.country),
            ),
        Some(_) => {}
    }
    let provider = state
        .payments
        .for_shop(&tenant.settings, &req.payment_provider)
        .map_err(|m| errors.add("payment_provider", m))
        .ok();
    let test_outcome = match req.test_outcome.as_deref() {
        None | Some("confirm") => PaymentOutcome::Confirmed,
        Some("decline") => PaymentOutcome::Declined,
        Some(_) => {
            errors.add("test_outcome", "must be confirm or decline");
            PaymentOutcome::Confirmed
        }
    };
    errors.into_result()?;
    Ok(Parsed {
        email,
        address,
        provider: provider.expect("checked above"),
        test_outcome,
    })
}

/// An open cart is sold only whole: every item still for sale, at least
/// one line, and the coupon entered exists.
fn check_sellable(priced: &carts::Priced) -> ServiceResult<()> {
    if !priced.unavailable.is_empty() {
        return Err(conflict(
            "some items are no longer for sale; remove them and try again",
            priced
                .unavailable
                .iter()
                .map(|(item, v)| FieldError {
                    field: format!("items[{item}]"),
                    message: format!("variant {v} is no longer for sale"),
                })
                .collect(),
        ));
    }
    if priced.quote.lines.is_empty() {
        return Err(conflict("the cart is empty", Vec::new()));
    }
    if let Some(code) = &priced.unknown_coupon {
        return Err(conflict(
            format!("coupon {code} does not exist; remove it from the cart"),
            vec![FieldError {
                field: "coupon_code".into(),
                message: "does not exist".into(),
            }],
        ));
    }
    Ok(())
}

pub async fn checkout(
    state: &Services,
    tenant: &Tenant,
    cart_id: CartId,
    access: &CartAccess,
    key: String,
    req: CheckoutRequest,
) -> ServiceResult<Checkout> {
    let Parsed {
        email,
        address,
        provider,
        test_outcome,
    } = parse_request(state, tenant, &req)?;
    let read = carts::open_to_price(state, tenant, cart_id, access).await?;
    let cart = &read.cart;
    let priced = read
        .priced(
            state,
            tenant,
            &Destination {
                coupon_code: cart.coupon_code.as_deref(),
                shipping_method: Some(&req.shipping_method),
                country: Some(&address.country),
                region: address.region.as_deref(),
            },
        )
        .await?;
    let hash = request_hash(cart_id, &req);
    // A cart that became an order answers a retry even if its items have
    // since changed; only an open cart is checked for sale-ability.
    if cart.status == storekeep_domain::CartStatus::Open {
        check_sellable(&priced)?;
    }

    let id = OrderId::new();
    let keyring = &state.keyring;
    let address_json = serde_json::to_string(&address).expect("a plain struct serialises");
    let email_index = keyring.blind_index("email", &email);
    let customer: Option<UserId> = access.customer;
    let customer_key = match customer {
        Some(u) => format!("user:{u}"),
        None => format!("email:{email_index}"),
    };
    let reference = provider.new_reference();
    let total = priced.quote.total;
    let order = NewOrder {
        id,
        cart_id,
        customer_id: customer,
        customer_key,
        idempotency_key: key,
        request_hash: hash,
        currency: tenant.settings.currency.clone(),
        email_sealed: keyring.seal(&email, &email_context(id)),
        email_index,
        address_sealed: keyring.seal(&address_json, &address_context(id)),
        country: address.country.clone(),
        region: address.region.clone(),
        shipping_method: req.shipping_method.clone(),
        payment: NewPayment {
            id: PaymentId::new(),
            provider: provider.name().to_owned(),
            reference: reference.clone(),
            amount: total,
        },
        expires_at: storekeep_store::now()
            + chrono::Duration::seconds(tenant.settings.payment_timeout_secs),
        actor: match customer {
            Some(u) => format!("customer:{u}"),
            None => "guest".into(),
        },
        rentals: priced.rentals.iter().map(|r| r.new_contract()).collect(),
        quote: priced.quote,
    };
    let outcome = state.store.checkout(tenant.id, &order).await?;
    let label = match &outcome {
        CheckoutOutcome::Created(_) => "created",
        CheckoutOutcome::Replayed(_) => "replayed",
        CheckoutOutcome::ShortOfStock(_) => "short_of_stock",
        CheckoutOutcome::KeyReused => "key_reused",
        _ => "conflict",
    };
    state.metrics.checkouts.with_label_values(&[label]).inc();
    match outcome {
        CheckoutOutcome::Created(detail) => {
            // Its order.created event goes out now, not at the next poll.
            state.dispatch.wake();
            provider.start(StartPayment {
                reference,
                amount: total,
                currency: order.currency.clone(),
                test_outcome,
            });
            Ok(Checkout::Created(detail))
        }
        CheckoutOutcome::Replayed(detail) => Ok(Checkout::Replayed(detail)),
        other => Err(refusal(other)),
    }
}

fn refusal(outcome: CheckoutOutcome) -> ServiceError {
    match outcome {
        CheckoutOutcome::KeyReused => ValidationErrors::single(
            "Idempotency-Key",
            "was already used for a different checkout request; use a new key",
        )
        .into(),
        CheckoutOutcome::ShortOfStock(lines) => conflict(
            format!(
                "not enough stock for {} line(s); nothing was ordered",
                lines.len()
            ),
            lines
                .iter()
                .map(|s| FieldError {
                    field: format!("items[{}]", s.variant_id),
                    message: format!(
                        "{}: {} requested, {} available",
                        s.sku, s.requested, s.available
                    ),
                })
                .collect(),
        ),
        CheckoutOutcome::DealUnavailable(mut deals) => conflict(
            "a deal in this cart is no longer available (used up or ended); review the cart",
            {
                deals.sort_unstable();
                deals
            }
            .iter()
            .map(|d| FieldError {
                field: format!("deals[{d}]"),
                message: "is no longer available".into(),
            })
            .collect(),
        ),
        CheckoutOutcome::PriceChanged(variants) => conflict(
            "prices changed while checking out; review the cart",
            variants
                .iter()
                .map(|v| FieldError {
                    field: format!("items[{v}]"),
                    message: "price changed".into(),
                })
                .collect(),
        ),
        CheckoutOutcome::CartClosed => conflict(
            "this cart was already checked out",
            vec![FieldError {
                field: "cart".into(),
                message: "already checked out".into(),
            }],
        ),
        // Successes never reach here (the caller answers them); should one,
        // it is a server fault, not a panic.
        CheckoutOutcome::Created(_) | CheckoutOutcome::Replayed(_) => {
            ServiceError::Store(storekeep_store::StoreError::Other(
                "a successful checkout was treated as refused".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    //! Failures are not persisted to files: a shrunk failing case is kept
    //! as an ordinary test instead.
    use proptest::prelude::*;
    use proptest::test_runner::Config;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ -~]{0,210}",
            "[ a-zA-Z0-9]{0,4}",
            Just(String::new())
        ]
    }

    fn address() -> impl Strategy<Value = Address> {
        (
            (text(), text(), proptest::option::of(text()), text()),
            (
                proptest::option::of(text()),
                text(),
                text(),
                proptest::option::of(text()),
            ),
        )
            .prop_map(
                |((name, line1, line2, city), (region, postal_code, country, phone))| Address {
                    name,
                    line1,
                    line2,
                    city,
                    region,
                    postal_code,
                    country,
                    phone,
                },
            )
    }

    /// 1 to `max` characters, trimmed, no control characters.
    fn line(v: &str, max: usize) -> bool {
        (1..=max).contains(&v.chars().count()) && v.trim() == v && !v.chars().any(char::is_control)
    }

    proptest! {
        #![proptest_config(Config { cases: 256, failure_persistence: None, ..Config::default() })]

        #[test]
        fn an_idempotency_key_is_taken_as_sent_or_refused(
            raw in proptest::option::of(prop_oneof![any::<String>(), "[ -~]{0,260}"]),
        ) {
            match parse_key(raw.as_deref()) {
                Ok(k) => {
                    prop_assert_eq!(Some(&k), raw.as_ref());
                    prop_assert!((1..=MAX_KEY_LEN).contains(&k.len()));
                    prop_assert!(k.bytes().all(|b| b.is_ascii_graphic()));
                }
                Err(e) => prop_assert_eq!(e.0[0].field.as_str(), "Idempotency-Key"),
            }
        }

        #[test]
        fn an_address_without_problems_is_within_its_limits(a in address()) {
            let mut errors = ValidationErrors::new();
            let parsed = parse_address(&a, &mut errors);
            if !errors.is_empty() {
                for e in &errors.0 {
                    prop_assert!(e.field.starts_with("shipping_address."), "{}", e.field);
                }
                return Ok(());
            }
            prop_assert!(line(&parsed.name, 200) && line(&parsed.line1, 200));
            prop_assert!(line(&parsed.city, 100) && line(&parsed.postal_code, 20));
            for optional in [&parsed.line2, &parsed.phone].into_iter().flatten() {
                prop_assert!(line(optional, 200));
            }
            prop_assert_eq!(parse_country(&parsed.country), Ok(parsed.country.clone()));
            if let Some(r) = &parsed.region {
                prop_assert_eq!(parse_region(r), Ok(r.clone()));
            }
        }
    }
}
