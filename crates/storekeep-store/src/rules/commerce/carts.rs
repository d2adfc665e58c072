//! Cart limits and the state a cart must be in to change.

use storekeep_domain::{Cart, CartPatch, CartStatus, MAX_CART_LINES, MAX_LINE_QUANTITY};

use crate::{StoreError, StoreResult};

/// A cart that became an order does not change any more.
pub const CHECKED_OUT: &str = "the cart is checked out";
pub const LINE_NEEDS_A_UNIT: &str = "a cart line needs at least one unit";
/// [`MAX_LINE_QUANTITY`] in words.
pub const LINE_TOO_LARGE: &str = "a cart line holds at most 1000 units of a variant";
/// [`MAX_CART_LINES`] in words.
pub const TOO_MANY_LINES: &str = "a cart holds at most 100 lines";

/// A cart line holds 1 to [`MAX_LINE_QUANTITY`] units.
pub fn check_line_quantity(quantity: i64) -> StoreResult<()> {
    if quantity < 1 {
        return Err(StoreError::Invalid(LINE_NEEDS_A_UNIT));
    }
    if quantity > MAX_LINE_QUANTITY {
        return Err(StoreError::Invalid(LINE_TOO_LARGE));
    }
    Ok(())
}

/// The units a line holding `held` has once `adding` more are added.
pub fn add_to_line(held: i64, adding: i64) -> StoreResult<i64> {
    let quantity = held.saturating_add(adding);
    check_line_quantity(quantity)?;
    Ok(quantity)
}

/// A cart holding `lines` lines may take another one.
pub fn check_room_for_line(lines: i64) -> StoreResult<()> {
    if lines >= MAX_CART_LINES as i64 {
        return Err(StoreError::Invalid(TOO_MANY_LINES));
    }
    Ok(())
}

/// A cart may change only while open; `status` is the stored one, `None`
/// when the shop has no such cart.
pub fn require_open(status: Option<&str>) -> StoreResult<()> {
    match status {
        None => Err(StoreError::NotFound("cart")),
        Some(s) if s == CartStatus::Open.as_str() => Ok(()),
        Some(_) => Err(StoreError::Invalid(CHECKED_OUT)),
    }
}

/// Applies a patch to a cart's choices: a field the patch names is
/// replaced (or cleared), the others stay.
pub fn apply_patch(cart: &mut Cart, patch: &CartPatch) {
    let fields = [
        (&mut cart.coupon_code, &patch.coupon_code),
        (&mut cart.shipping_method, &patch.shipping_method),
        (&mut cart.country, &patch.country),
        (&mut cart.region, &patch.region),
    ];
    for (field, new) in fields {
        if let Some(new) = new {
            field.clone_from(new);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_messages_state_the_limits() {
        assert!(LINE_TOO_LARGE.contains(&MAX_LINE_QUANTITY.to_string()));
        assert!(TOO_MANY_LINES.contains(&MAX_CART_LINES.to_string()));
    }

    #[test]
    fn a_line_holds_one_to_the_most_units() {
        assert!(check_line_quantity(1).is_ok());
        assert!(check_line_quantity(MAX_LINE_QUANTITY).is_ok());
        for bad in [0, -1, MAX_LINE_QUANTITY + 1] {
            assert!(matches!(
                check_line_quantity(bad),
                Err(StoreError::Invalid(_))
            ));
        }
        assert_eq!(add_to_line(999, 1).unwrap(), 1000);
        assert!(add_to_line(999, 2).is_err());
        assert!(add_to_line(i64::MAX, 1).is_err());
    }

    #[test]
    fn only_an_open_cart_changes_and_a_full_one_takes_no_line() {
        assert!(require_open(Some("open")).is_ok());
        assert!(matches!(
            require_open(Some("checked_out")),
            Err(StoreError::Invalid(CHECKED_OUT))
        ));
        assert!(matches!(
            require_open(None),
            Err(StoreError::NotFound("cart"))
        ));
        assert!(check_room_for_line(MAX_CART_LINES as i64 - 1).is_ok());
        assert!(check_room_for_line(MAX_CART_LINES as i64).is_err());
    }
}
