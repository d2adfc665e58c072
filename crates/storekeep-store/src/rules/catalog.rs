//! The catalog's rules: plan limits, variant and stock bounds, the category
//! tree, bulk import counting. A backend reads the figures inside its
//! transaction (under the locks that keep them true until commit) and asks
//! these functions what to do.

use std::collections::HashMap;

use storekeep_domain::{
    Category, CategoryId, CategoryPatch, ImportOutcome, ImportRow, MAX_QUANTITY, MAX_VARIANTS,
    NewCategory, NewVariant, Variant, VariantPatch,
};

use crate::rules::catalog_audit::AuditEvent;
use crate::{StoreError, StoreResult};

/// A variant is low on stock with at most this many units available (on
/// hand less reserved): the console's "low stock" figure. The schema
/// holds it too, in the `variants.low_stock` generated column (migration
/// `20261129000020` of each backend), so the figure is counted on a
/// partial index that a stock reservation does not touch; the store
/// contract test of the figure checks that the two agree.
pub const LOW_STOCK_UNITS: i64 = 2;

/// A product refused for the variants it would have.
pub const TOO_MANY_VARIANTS: &str = "a product has at most 100 variants";
/// An imported product left without variants.
pub const NO_VARIANTS: &str = "a product needs at least one variant";
/// Deleting a product's last variant.
pub const LAST_VARIANT: &str = "a product needs at least one variant; delete the product instead";
/// Deleting a variant that open orders hold stock of.
pub const VARIANT_RESERVED: &str = "the variant has stock reserved for open orders";
/// A stock change outside `0..=MAX_QUANTITY`.
pub const STOCK_OUT_OF_RANGE: &str = "stock would go below zero or above the largest quantity";
/// A stock change below what open orders hold.
pub const STOCK_BELOW_RESERVED: &str = "stock would go below what is reserved for open orders";
/// Moving a category into its own subtree.
pub const CATEGORY_CYCLE: &str = "a category cannot be moved under itself or its subcategories";
/// Deleting a category that still has subcategories.
pub const CATEGORY_HAS_CHILDREN: &str = "the category has subcategories; move or delete them first";

/// A new product is allowed while the shop has fewer than `max_products`.
pub fn product_room(products: i64, max_products: i64) -> StoreResult<()> {
    if products >= max_products {
        return Err(StoreError::LimitReached("products"));
    }
    Ok(())
}

/// An image of `size` bytes is allowed while the shop's images, `used`
/// bytes so far, stay within `limit`.
pub fn image_room(used: i64, size: i64, limit: i64) -> StoreResult<()> {
    if used.saturating_add(size) > limit {
        return Err(StoreError::LimitReached("image storage"));
    }
    Ok(())
}

/// One more variant is allowed on a product that has `variants`.
pub fn variant_room(variants: i64) -> StoreResult<()> {
    if variants >= MAX_VARIANTS as i64 {
        return Err(StoreError::Invalid(TOO_MANY_VARIANTS));
    }
    Ok(())
}

/// What an imported product may end with: at least one variant, at most
/// [`MAX_VARIANTS`].
pub fn variant_count(variants: i64) -> StoreResult<()> {
    if variants == 0 {
        return Err(StoreError::Invalid(NO_VARIANTS));
    }
    if variants > MAX_VARIANTS as i64 {
        return Err(StoreError::Invalid(TOO_MANY_VARIANTS));
    }
    Ok(())
}

/// A variant may be deleted unless it is its product's last (`variants`
/// counts it) or open orders hold some of its stock.
pub fn variant_removable(variants: i64, reserved: i64) -> StoreResult<()> {
    if variants <= 1 {
        return Err(StoreError::Invalid(LAST_VARIANT));
    }
    if reserved > 0 {
        return Err(StoreError::Invalid(VARIANT_RESERVED));
    }
    Ok(())
}

/// On-hand stock after adding `delta`: within `0..=MAX_QUANTITY` and not
/// below what is `reserved`.
pub fn stock_after(on_hand: i64, reserved: i64, delta: i64) -> StoreResult<i64> {
    let after = on_hand
        .checked_add(delta)
        .filter(|a| (0..=MAX_QUANTITY).contains(a))
        .ok_or(StoreError::Invalid(STOCK_OUT_OF_RANGE))?;
    if after < reserved {
        return Err(StoreError::Invalid(STOCK_BELOW_RESERVED));
    }
    Ok(after)
}

/// A variant as a patch leaves it: what the patch gives, the rest as it
/// was (stock is not the patch's to change).
pub fn patched_variant(before: &Variant, patch: &VariantPatch) -> NewVariant {
    NewVariant {
        sku: patch.sku.clone().unwrap_or_else(|| before.sku.clone()),
        title: patch.title.clone().unwrap_or_else(|| before.title.clone()),
        options: patch
            .options
            .clone()
            .unwrap_or_else(|| before.options.clone()),
        price: patch.price.clone().unwrap_or_else(|| before.price.clone()),
        compare_at_price: patch
            .compare_at_price
            .clone()
            .unwrap_or_else(|| before.compare_at_price.clone()),
        on_hand: before.inventory.on_hand,
    }
}

/// A SKU found on `owner` may be written for `product` only if it is the
/// same product: SKUs are unique in the shop.
pub fn sku_owner<T: PartialEq>(owner: &T, product: &T) -> StoreResult<()> {
    if owner != product {
        return Err(StoreError::Conflict { field: "sku" });
    }
    Ok(())
}

/// Every category a product is filed under must be one of the shop's.
pub fn known_category<T>(found: Option<T>) -> StoreResult<T> {
    found.ok_or(StoreError::UnknownReference {
        field: "categories",
    })
}

/// The parent a category is created under must be one of the shop's.
pub fn known_parent<T>(lookup: StoreResult<T>) -> StoreResult<T> {
    match lookup {
        Err(StoreError::NotFound(_)) => Err(StoreError::UnknownReference { field: "parent_id" }),
        other => other,
    }
}

/// Whether `id` may move under `parent`, given the shop's whole tree
/// (each category's parent): the parent must exist, and walking up from it
/// must not meet `id`, which would make a cycle.
pub fn category_move(
    id: CategoryId,
    parent: Option<CategoryId>,
    tree: &HashMap<CategoryId, Option<CategoryId>>,
) -> StoreResult<()> {
    let mut cursor = parent;
    // A stored tree has no cycle; the bound only guards against one.
    for _ in 0..=tree.len() {
        let Some(c) = cursor else {
            return Ok(());
        };
        if c == id {
            return Err(StoreError::Invalid(CATEGORY_CYCLE));
        }
        cursor = *tree
            .get(&c)
            .ok_or(StoreError::UnknownReference { field: "parent_id" })?;
    }
    Err(StoreError::Invalid(CATEGORY_CYCLE))
}

/// A category as a patch leaves it: what the patch gives, the rest as it
/// was.
pub fn patched_category(before: &Category, patch: &CategoryPatch) -> NewCategory {
    NewCategory {
        parent_id: patch.parent_id.unwrap_or(before.parent_id),
        handle: patch
            .handle
            .clone()
            .unwrap_or_else(|| before.handle.clone()),
        name: patch.name.clone().unwrap_or_else(|| before.name.clone()),
        position: patch.position.unwrap_or(before.position),
    }
}

/// A category may be deleted once it has no subcategories.
pub fn category_removable(children: i64) -> StoreResult<()> {
    if children > 0 {
        return Err(StoreError::Invalid(CATEGORY_HAS_CHILDREN));
    }
    Ok(())
}

/// One import batch's bookkeeping: the plan's room for new products
/// (counted once, when the batch starts, under the lock the batch holds),
/// what each row did, and the batch's audit entry.
#[derive(Debug)]
pub struct ImportBatch {
    room: i64,
    outcomes: Vec<Result<ImportOutcome, StoreError>>,
}

impl ImportBatch {
    /// A batch of `rows` for a shop that has `products` of `max_products`.
    pub fn new(max_products: i64, products: i64, rows: usize) -> Self {
        Self {
            room: max_products - products,
            outcomes: Vec::with_capacity(rows),
        }
    }

    /// Whether the next row may create a product.
    pub fn may_create(&self) -> StoreResult<()> {
        if self.room <= 0 {
            return Err(StoreError::LimitReached("products"));
        }
        Ok(())
    }

    /// Records a row's result: `Ok(true)` if it applied (release its
    /// savepoint), `Ok(false)` if it failed (roll back to it). An outage or
    /// a collision with another transaction is not the row's fault: it comes
    /// back as the error, and the whole batch stops and rolls back rather
    /// than blaming every row after it.
    pub fn record(&mut self, result: StoreResult<ImportOutcome>) -> StoreResult<bool> {
        let result = match result {
            Err(e) if e.is_retryable() => return Err(e),
            result => result,
        };
        if matches!(result, Ok(ImportOutcome::Created)) {
            self.room -= 1;
        }
        let applied = result.is_ok();
        self.outcomes.push(result);
        Ok(applied)
    }

    fn count(&self, outcome: ImportOutcome) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o, Ok(x) if *x == outcome))
            .count()
    }

    /// The batch's audit entry, if any row applied: the lines it spans and
    /// how many rows created, updated and failed.
    pub fn audit(&self, rows: &[ImportRow]) -> Option<AuditEvent> {
        let created = self.count(ImportOutcome::Created);
        let updated = self.count(ImportOutcome::Updated);
        if created + updated == 0 {
            return None;
        }
        let failed = self.outcomes.len() - created - updated;
        Some(AuditEvent::import(rows, created, updated, failed))
    }

    /// Each row's result, in the order recorded.
    pub fn into_outcomes(self) -> Vec<Result<ImportOutcome, StoreError>> {
        self.outcomes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stock_stays_within_range_and_above_reservations() {
        assert_eq!(stock_after(5, 2, -3).unwrap(), 2);
        assert!(matches!(
            stock_after(5, 3, -3),
            Err(StoreError::Invalid(STOCK_BELOW_RESERVED))
        ));
        assert!(matches!(
            stock_after(1, 0, -2),
            Err(StoreError::Invalid(STOCK_OUT_OF_RANGE))
        ));
        assert!(matches!(
            stock_after(i64::MAX, 0, 1),
            Err(StoreError::Invalid(STOCK_OUT_OF_RANGE))
        ));
        assert!(stock_after(0, 0, MAX_QUANTITY + 1).is_err());
    }

    #[test]
    fn category_moves_refuse_cycles_and_unknown_parents() {
        let (a, b, c) = (CategoryId::new(), CategoryId::new(), CategoryId::new());
        let tree = HashMap::from([(a, None), (b, Some(a)), (c, Some(b))]);
        assert!(category_move(c, Some(a), &tree).is_ok());
        assert!(category_move(a, None, &tree).is_ok());
        assert!(matches!(
            category_move(a, Some(c), &tree),
            Err(StoreError::Invalid(CATEGORY_CYCLE))
        ));
        assert!(matches!(
            category_move(a, Some(a), &tree),
            Err(StoreError::Invalid(CATEGORY_CYCLE))
        ));
        assert!(matches!(
            category_move(a, Some(CategoryId::new()), &tree),
            Err(StoreError::UnknownReference { field: "parent_id" })
        ));
    }

    #[test]
    fn an_import_batch_counts_room_and_stops_on_an_outage() {
        let mut batch = ImportBatch::new(2, 1, 3);
        assert!(batch.may_create().is_ok());
        assert!(batch.record(Ok(ImportOutcome::Created)).unwrap());
        assert!(matches!(
            batch.may_create(),
            Err(StoreError::LimitReached("products"))
        ));
        assert!(!batch.record(Err(StoreError::NotFound("x"))).unwrap());
        assert!(batch.record(Ok(ImportOutcome::Updated)).unwrap());
        let outage = StoreError::unavailable("down");
        assert!(batch.record(Err(outage)).unwrap_err().is_unavailable());
        let event = batch.audit(&[]).unwrap();
        assert_eq!(
            event.after.unwrap(),
            serde_json::json!({"created": 1, "updated": 1, "failed": 1})
        );
        assert_eq!(batch.into_outcomes().len(), 3);
        assert!(ImportBatch::new(1, 0, 0).audit(&[]).is_none());
    }

    #[test]
    fn the_last_or_a_reserved_variant_stays() {
        assert!(variant_removable(2, 0).is_ok());
        assert!(matches!(
            variant_removable(1, 0),
            Err(StoreError::Invalid(LAST_VARIANT))
        ));
        assert!(matches!(
            variant_removable(2, 1),
            Err(StoreError::Invalid(VARIANT_RESERVED))
        ));
        assert!(variant_room(99).is_ok());
        assert!(variant_room(100).is_err());
        assert!(variant_count(0).is_err());
        assert!(variant_count(101).is_err());
        assert!(variant_count(100).is_ok());
    }
}
