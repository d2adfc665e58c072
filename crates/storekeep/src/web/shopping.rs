//! What the cart, checkout and order pages do, in terms of the services
//! the JSON API uses (`cart_edits`, `checkout`, `orders`): the pages only
//! read forms and render. Form fields arrive as text and are parsed here,
//! so a bad number is a field message, never a rejection.

use storekeep_domain::{
    CartItemId, CartStatus, FieldError, OrderDetail, OrderId, RentalPlanId, Tenant,
    ValidationErrors, VariantId,
};
use storekeep_store::StoreError;
use subtle::ConstantTimeEq;

use crate::crypto::Keyring;
use crate::services::checkout::{self, Checkout};
use crate::services::{ServiceError, ServiceResult, Services, cart_edits, carts, orders};
use crate::web::session::{CartCookie, Visitor};
use crate::wire::carts::{CartChanges, CartView, NewItem};
use crate::wire::orders::{Address, CheckoutRequest};

/// How a form's action ended when it did not succeed: what the page shows.
#[derive(Debug)]
pub enum Refused {
    /// Field problems: the form is shown again with them (422).
    Fields(Vec<FieldError>),
    /// Valid, but the state forbids it (stock, a closed cart): shown with
    /// the form (409).
    Conflict {
        detail: String,
        errors: Vec<FieldError>,
    },
    /// The thing is not there (or not the visitor's): 404.
    NotFound,
    /// A fault (database down, a sealed value that does not open): the
    /// error page, 503 or 500.
    Fault(ServiceError),
}

impl From<ServiceError> for Refused {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(v) => Self::Fields(v.0),
            ServiceError::Conflict { detail, errors } => Self::Conflict { detail, errors },
            ServiceError::Store(StoreError::NotFound(_)) => Self::NotFound,
            ServiceError::Store(StoreError::Invalid(m)) => Self::Conflict {
                detail: m.to_owned(),
                errors: Vec::new(),
            },
            ServiceError::Store(StoreError::Conflict { field }) => Self::Conflict {
                detail: format!("{field} conflicts with the current state"),
                errors: Vec::new(),
            },
            ServiceError::Store(StoreError::LimitReached(m)) => Self::Conflict {
                detail: format!("the shop allows no more {m}"),
                errors: Vec::new(),
            },
            ServiceError::PlanLimit(m) => Self::Conflict {
                detail: m,
                errors: Vec::new(),
            },
            ServiceError::Store(StoreError::UnknownReference { field }) => {
                Self::Fields(vec![FieldError {
                    field: field.to_owned(),
                    message: "refers to something that does not exist".into(),
                }])
            }
            other => Self::Fault(other),
        }
    }
}

impl From<ValidationErrors> for Refused {
    fn from(v: ValidationErrors) -> Self {
        Self::Fields(v.0)
    }
}

/// The message for `field` among `errors`, if any.
pub fn message_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors
        .iter()
        .find(|e| e.field == field)
        .map(|e| e.message.as_str())
}

/// The visitor's open cart, if the cart cookie names one it may open. A
/// cart already checked out (or gone) is no cart: the next item starts a
/// new one.
pub async fn open_cart(svc: &Services, v: &Visitor) -> ServiceResult<Option<CartView>> {
    let Some(c) = &v.cart else {
        return Ok(None);
    };
    match cart_edits::show(svc, &v.tenant, c.id, &v.access()).await {
        Ok(cart) if cart.status == CartStatus::Open => Ok(Some(cart)),
        Ok(_) | Err(ServiceError::Store(StoreError::NotFound(_))) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The number of units in the visitor's open cart (the header's count):
/// one read, no pricing.
pub async fn cart_count(svc: &Services, v: &Visitor) -> ServiceResult<u32> {
    let Some(c) = &v.cart else {
        return Ok(0);
    };
    match carts::open(svc, &v.tenant, c.id, &v.access()).await {
        Ok(cart) if cart.status == CartStatus::Open => Ok(cart
            .items
            .iter()
            .map(|i| i.quantity)
            .sum::<i64>()
            .clamp(0, i64::from(u32::MAX))
            as u32),
        Ok(_) | Err(ServiceError::Store(StoreError::NotFound(_))) => Ok(0),
        Err(e) => Err(e),
    }
}

/// The add-to-cart form of a product page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct AddForm {
    #[serde(default)]
    pub variant_id: String,
    #[serde(default)]
    pub quantity: Option<String>,
    #[serde(default)]
    pub rental_plan_id: Option<String>,
    #[serde(default)]
    pub rental_term: Option<String>,
}

fn parse_int<T: std::str::FromStr>(
    raw: Option<&str>,
    field: &str,
    errors: &mut ValidationErrors,
) -> Option<T> {
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    raw.parse()
        .map_err(|_| errors.add(field, "must be a whole number"))
        .ok()
}

impl AddForm {
    fn parse(&self) -> Result<NewItem, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let variant_id: Option<VariantId> = self
            .variant_id
            .trim()
            .parse()
            .map_err(|_| errors.add("variant_id", "choose one of the product's options"))
            .ok();
        let quantity = parse_int(self.quantity.as_deref(), "quantity", &mut errors).unwrap_or(1);
        let rental_plan_id: Option<RentalPlanId> = self
            .rental_plan_id
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .and_then(|r| {
                r.parse()
                    .map_err(|_| errors.add("rental_plan_id", "is not one of the plans"))
                    .ok()
            });
        let rental_term = parse_int(self.rental_term.as_deref(), "rental_term", &mut errors);
        errors.into_result()?;
        Ok(NewItem {
            variant_id: variant_id.expect("checked above"),
            quantity,
            rental_plan_id,
            rental_term,
        })
    }
}

/// Adds to the visitor's open cart, or starts one with the item. Returns
/// the cookie of a new cart.
pub async fn add(
    svc: &Services,
    v: &Visitor,
    form: &AddForm,
) -> Result<Option<CartCookie>, Refused> {
    let item = form.parse()?;
    if let Some(cart) = open_cart(svc, v).await? {
        cart_edits::add_item(svc, &v.tenant, cart.id, &v.access(), &item).await?;
        return Ok(None);
    }
    let customer = v.customer.as_ref().map(|c| &c.user);
    let created = cart_edits::create(svc, &v.tenant, customer, std::slice::from_ref(&item))
        .await
        .map_err(|e| match e {
            // A new cart names its one item `items[0]`; the form has it
            // as a field of its own.
            ServiceError::Invalid(v) => ServiceError::Invalid(ValidationErrors(
                v.0.into_iter()
                    .map(|f| FieldError {
                        field: f.field.trim_start_matches("items[0].").to_owned(),
                        message: f.message,
                    })
                    .collect(),
            )),
            other => other,
        })?;
    Ok(Some(CartCookie {
        id: created.id,
        token: created.token.expect("a new cart carries its token"),
    }))
}

/// A line's quantity form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct QuantityForm {
    #[serde(default)]
    pub quantity: String,
}

async fn the_cart(svc: &Services, v: &Visitor) -> Result<CartView, Refused> {
    open_cart(svc, v).await?.ok_or(Refused::NotFound)
}

fn item_id(raw: &str) -> Result<CartItemId, Refused> {
    raw.parse().map_err(|_| Refused::NotFound)
}

pub async fn set_quantity(
    svc: &Services,
    v: &Visitor,
    item: &str,
    form: &QuantityForm,
) -> Result<(), Refused> {
    let item = item_id(item)?;
    let cart = the_cart(svc, v).await?;
    let mut errors = ValidationErrors::new();
    let quantity = parse_int::<i64>(Some(&form.quantity), "quantity", &mut errors);
    errors.into_result()?;
    let Some(quantity) = quantity else {
        return Err(ValidationErrors::single("quantity", "is required").into());
    };
    if quantity == 0 {
        cart_edits::remove_item(svc, &v.tenant, cart.id, &v.access(), item).await?;
    } else {
        cart_edits::set_item(svc, &v.tenant, cart.id, &v.access(), item, quantity).await?;
    }
    Ok(())
}

pub async fn remove(svc: &Services, v: &Visitor, item: &str) -> Result<(), Refused> {
    let item = item_id(item)?;
    let cart = the_cart(svc, v).await?;
    cart_edits::remove_item(svc, &v.tenant, cart.id, &v.access(), item).await?;
    Ok(())
}

/// The cart page's coupon form; an empty code removes the coupon.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CouponForm {
    #[serde(default)]
    pub coupon_code: String,
}

pub async fn set_coupon(svc: &Services, v: &Visitor, form: &CouponForm) -> Result<(), Refused> {
    let cart = the_cart(svc, v).await?;
    let code = form.coupon_code.trim();
    let changes = CartChanges {
        coupon_code: Some((!code.is_empty()).then(|| code.to_owned())),
        ..Default::default()
    };
    cart_edits::change(svc, &v.tenant, cart.id, &v.access(), changes).await?;
    Ok(())
}

/// The checkout form. `idempotency_key` is made when the form is shown
/// (hidden field), so submitting the same form twice makes one order.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct CheckoutForm {
    #[serde(default)]
    pub idempotency_key: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub shipping_method: String,
    #[serde(default)]
    pub payment_provider: String,
}

fn optional(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl CheckoutForm {
    fn request(&self) -> CheckoutRequest {
        CheckoutRequest {
            email: self.email.clone(),
            shipping_address: Address {
                name: self.name.clone(),
                line1: self.line1.clone(),
                line2: optional(&self.line2),
                city: self.city.clone(),
                region: optional(&self.region),
                postal_code: self.postal_code.clone(),
                country: self.country.trim().to_ascii_uppercase(),
                phone: optional(&self.phone),
            },
            shipping_method: self.shipping_method.clone(),
            payment_provider: self.payment_provider.clone(),
            test_outcome: None,
        }
    }
}

/// The form's field a checkout problem belongs to (`shipping_address.city`
/// is the form's `city`).
pub fn form_field(api_field: &str) -> &str {
    api_field
        .strip_prefix("shipping_address.")
        .unwrap_or(match api_field {
            "Idempotency-Key" => "idempotency_key",
            other => other,
        })
}

/// Places the order. A replay of the same form (same key, same fields)
/// answers the order the first submit made.
pub async fn place_order(
    svc: &Services,
    v: &Visitor,
    form: &CheckoutForm,
) -> Result<OrderDetail, Refused> {
    let key = checkout::parse_key(Some(form.idempotency_key.as_str()))?;
    let Some(c) = &v.cart else {
        return Err(Refused::Conflict {
            detail: "your cart is empty".into(),
            errors: Vec::new(),
        });
    };
    let outcome = checkout::checkout(svc, &v.tenant, c.id, &v.access(), key, form.request())
        .await
        .map_err(|e| match e {
            ServiceError::Invalid(errors) => ServiceError::Invalid(ValidationErrors(
                errors
                    .0
                    .into_iter()
                    .map(|f| FieldError {
                        field: form_field(&f.field).to_owned(),
                        message: f.message,
                    })
                    .collect(),
            )),
            other => other,
        })?;
    Ok(match outcome {
        Checkout::Created(d) | Checkout::Replayed(d) => *d,
    })
}

/// The link key that opens a guest's order page: a MAC of the shop and
/// the order under a key of its own, so it cannot be made for another
/// order or shop.
pub fn order_key(keyring: &Keyring, tenant: &Tenant, order: OrderId) -> String {
    use base64::Engine;
    let mac = keyring.mac("web.order", format!("{}\n{order}", tenant.id).as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&mac[..18])
}

/// The order page's order: the signed-in customer's own, the one made from
/// the cart cookie's cart, or the one the link key opens; anything else is
/// not found.
pub async fn order_for(
    svc: &Services,
    v: &Visitor,
    raw_id: &str,
    key: Option<&str>,
) -> Result<OrderDetail, Refused> {
    let id: OrderId = raw_id.parse().map_err(|_| Refused::NotFound)?;
    if let Some(k) = key {
        let expected = order_key(&svc.keyring, &v.tenant, id);
        if bool::from(expected.as_bytes().ct_eq(k.as_bytes())) {
            return Ok(orders::get(svc, &v.tenant, id).await?);
        }
    }
    Ok(orders::own(svc, &v.tenant, &v.access(), id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_add_form_is_parsed_field_by_field() {
        let v = VariantId::new();
        let ok = AddForm {
            variant_id: v.to_string(),
            quantity: Some(" 3 ".into()),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!((ok.variant_id, ok.quantity), (v, 3));
        let default = AddForm {
            variant_id: v.to_string(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(default.quantity, 1);
        let bad = AddForm {
            variant_id: "nope".into(),
            quantity: Some("two".into()),
            rental_plan_id: Some("x".into()),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        let fields: Vec<&str> = bad.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["variant_id", "quantity", "rental_plan_id"]);
    }

    #[test]
    fn checkout_problems_name_the_forms_fields() {
        assert_eq!(form_field("shipping_address.city"), "city");
        assert_eq!(form_field("email"), "email");
        assert_eq!(form_field("Idempotency-Key"), "idempotency_key");
    }
}
