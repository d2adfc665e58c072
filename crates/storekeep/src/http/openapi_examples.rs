//! An example request body for every operation that takes one, by
//! operation id: what Swagger UI fills in for "Try it out" and what the
//! contract test's fuzzer sends first. Each is a request the server accepts
//! on a shop set up as the docs describe (ids are placeholders).

use serde_json::{Value, json};

const ID: &str = "0199a3e4-5b6c-7d8e-9f01-23456789abcd";

fn money(amount: i64) -> Value {
    json!({"amount": amount, "currency": "USD"})
}

fn settings() -> Value {
    json!({
        "currency": "USD",
        "payment_timeout_secs": 1800,
        "shipping_methods": [
            {"code": "standard", "name": "Standard", "price": 500},
            {"code": "express", "name": "Express", "price": 1500, "countries": ["US"]}
        ],
        "tax_rates": [{"country": "US", "region": "CA", "rate_bp": 725, "name": "California"}],
        "cors_origins": ["https://shop.example.com"],
        "require_staff_mfa": false,
        "time_zone": "America/New_York"
    })
}

/// The example body of `operation_id`, for its `media` type.
pub fn request(operation_id: &str, media: &str) -> Option<Value> {
    Some(match (operation_id, media) {
        ("create_tenant", _) => json!({"tenant": {
            "slug": "acme", "name": "ACME Refurbished", "plan": "default",
            "domains": ["shop.acme.example"], "settings": settings()
        }}),
        ("update_tenant", _) => {
            json!({"tenant": {"name": "ACME Refurbished Ltd", "status": "active"}})
        }
        ("create_plan", _) => json!({"plan": {"name": "growth", "limits": {
            "max_products": 50_000, "max_staff": 50, "api_requests_per_minute": 12_000
        }}}),
        ("update_plan", _) => json!({"plan": {"limits": {
            "max_products": 100_000, "api_requests_per_minute": 20_000
        }}}),
        ("register", _) => json!({"account": {
            "email": "ann@example.com", "password": "a long and uncommon passphrase", "name": "Ann"
        }}),
        ("login", _) => json!({
            "email": "ann@example.com", "password": "a long and uncommon passphrase", "account": "customer"
        }),
        ("totp_confirm", _) => json!({"code": "123456"}),
        ("totp_disable", _) => {
            json!({"password": "a long and uncommon passphrase", "code": "123456"})
        }
        ("request_reset", _) => json!({"email": "ann@example.com", "account": "customer"}),
        ("confirm_reset", _) => json!({
            "token": "skr_0123456789abcdef", "password": "a new and uncommon passphrase"
        }),
        ("oauth_token", _) => json!({
            "grant_type": "client_credentials", "client_id": "skc_client", "client_secret": "sks_secret",
            "scope": "catalog:read"
        }),
        ("update_settings", _) => json!({"settings": settings()}),
        ("create_staff", _) => json!({"staff": {
            "email": "sam@acme.example", "password": "a long and uncommon passphrase",
            "name": "Sam", "role": "staff"
        }}),
        ("change_staff_role", _) => json!({"staff": {"role": "viewer"}}),
        ("create_api_key", _) => {
            json!({"api_key": {"name": "ERP sync", "scopes": ["catalog:read", "orders:write"]}})
        }
        ("create_client", _) => {
            json!({"oauth_client": {"name": "Warehouse", "scopes": ["orders:read"]}})
        }
        ("create_product", _) => json!({"product": {
            "title": "Lenovo ThinkPad T480", "status": "active",
            "description": "Refurbished, grade A.", "tags": ["laptop", "lenovo"],
            "variants": [{
                "sku": "TP-T480-I5-16-256", "price": money(34_900),
                "options": {"memory": "16 GB"}, "inventory": 12
            }]
        }}),
        ("update_product", _) => {
            json!({"product": {"title": "Lenovo ThinkPad T480 (grade A)", "tags": ["laptop"]}})
        }
        ("add_variant", _) => json!({"variant": {
            "sku": "TP-T480-I7-32-512", "price": money(44_900), "options": {"memory": "32 GB"}, "inventory": 3
        }}),
        ("update_variant", _) => {
            json!({"variant": {"price": money(32_900), "compare_at_price": money(34_900)}})
        }
        ("adjust_inventory", _) => json!({"delta": -2, "reason": "damaged in transit"}),
        ("upload_image", _) => {
            json!({"file": "(a PNG, JPEG, GIF or WebP file)", "alt": "Front view"})
        }
        ("create_category", _) => json!({"category": {"name": "Business laptops", "position": 0}}),
        ("update_category", _) => {
            json!({"category": {"name": "Laptops for work", "parent_id": null}})
        }
        ("import_products", _) => Value::String(
            "handle,title,status,sku,price,inventory\n\
             thinkpad-t480,Lenovo ThinkPad T480,active,TP-T480-I5-16-256,349.00,12\n"
                .into(),
        ),
        ("fulfil" | "deliver" | "cancel", _) => json!({"reason": "handed to the carrier"}),
        ("refund", _) => json!({"amount": money(5_000), "reason": "scratched lid"}),
        ("resolve_unmatched", _) => json!({"resolution": "refunded at the processor, ref re_1042"}),
        ("pay_installment", _) => json!({"reference": "receipt 1042, cash at the counter"}),
        ("create_deal" | "replace_deal", _) => json!({"deal": {
            "name": "Spring sale", "applies_to": "order", "percent_off": 10,
            "starts_at": "2026-03-01T00:00:00Z", "ends_at": "2026-03-31T23:59:59Z", "active": true
        }}),
        ("create_cart", _) => json!({"items": [{"variant_id": ID, "quantity": 1}]}),
        ("update_cart", _) => json!({
            "country": "US", "region": "CA", "shipping_method": "standard", "coupon_code": null
        }),
        ("add_item", _) => json!({"variant_id": ID, "quantity": 2}),
        ("update_item", _) => json!({"quantity": 3}),
        ("checkout_cart", _) => json!({
            "email": "ann@example.com",
            "shipping_address": {
                "name": "Ann Example", "line1": "1 Market St", "city": "San Francisco",
                "region": "CA", "postal_code": "94105", "country": "US"
            },
            "shipping_method": "standard",
            "payment_provider": "manual"
        }),
        ("pay_order", _) => json!({"payment_provider": "manual"}),
        ("create_webhook", _) => json!({"webhook": {
            "url": "https://93.184.216.34/storekeep-events", "description": "ERP",
            "events": ["order.paid", "refund.created"]
        }}),
        ("update_webhook", _) => json!({"webhook": {"events": [], "status": "enabled"}}),
        ("replay_webhook", _) => json!({
            "since": "2026-11-27T09:00:00Z", "until": "2026-11-27T10:00:00Z"
        }),
        ("create_rental_plan", _) => json!({"rental_plan": {
            "variant_id": ID, "name": "Laptop, rent to own", "kind": "rent_to_own",
            "term": 12, "min_term": 6, "max_term": 24,
            "price_per_period": money(4_900),
            "deposit": {"type": "percent", "bps": 1_000},
            "late_fee": {"type": "fixed", "amount": 500, "grace_days": 5},
            "buyout": {"type": "cash_price_minus_rent", "bps": 5_000},
            "extension_allowed": true, "maintainer": "shop", "default_after_days": 30
        }}),
        ("update_rental_plan", _) => {
            json!({"rental_plan": {"name": "Laptop, 12 months", "active": true}})
        }
        ("create_rental_unit", _) => json!({"rental_unit": {
            "variant_id": ID, "serial": "C02XK1ABJGH5", "condition": "a", "notes": "new battery"
        }}),
        ("update_rental_unit", _) => {
            json!({"rental_unit": {"condition": "b", "notes": "scuffed lid"}})
        }
        ("move_rental_unit", _) => {
            json!({"status": "repair", "note": "cracked screen", "condition": "b"})
        }
        // i15 phase 3, buy-out and returns.
        ("buy_out_contract", _) => json!({"reference": "receipt 2001"}),
        ("return_contract", _) => json!({"outcome": "ok", "notes": "all parts present"}),
        // i15 phase 3, payments and extension.
        ("extend_contract", _) => json!({"periods": 2}),
        // i15 phase 3: customers paying installments.
        ("pay_rental", _) => json!({}),
        // i16: a customer's own erasure asks for the password again.
        ("erase_account", _) => json!({"password": "a long and uncommon passphrase"}),
        // i16: staff's export and erasure by email.
        ("export_by_email" | "erase_by_email", _) => json!({"email": "guest@example.com"}),
        _ => return None,
    })
}
