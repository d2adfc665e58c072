//! What the audit log records of catalog changes: the action names and the
//! before/after each entry keeps. Both backends append exactly these.

use serde_json::{Value, json};
use storekeep_domain::{
    Category, ImportRow, InventoryAdjustment, NewImage, Product, ProductImage, Variant,
};

use crate::catalog::{product_summary, variant_summary};

/// The catalog's audit action names.
pub mod action {
    pub const CATEGORY_CREATE: &str = "category.create";
    pub const CATEGORY_UPDATE: &str = "category.update";
    pub const CATEGORY_DELETE: &str = "category.delete";
    pub const PRODUCT_CREATE: &str = "product.create";
    pub const PRODUCT_UPDATE: &str = "product.update";
    pub const PRODUCT_DELETE: &str = "product.delete";
    pub const PRODUCT_IMPORT: &str = "product.import";
    pub const VARIANT_CREATE: &str = "variant.create";
    pub const VARIANT_UPDATE: &str = "variant.update";
    pub const VARIANT_DELETE: &str = "variant.delete";
    pub const INVENTORY_ADJUST: &str = "inventory.adjust";
    pub const IMAGE_CREATE: &str = "image.create";
    pub const IMAGE_DELETE: &str = "image.delete";
}

/// One audit entry to append in the change's own transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub action: &'static str,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl AuditEvent {
    fn new(
        action: &'static str,
        target: String,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        Self {
            action,
            target,
            before,
            after,
        }
    }

    pub fn category_created(c: &Category) -> Self {
        Self::new(
            action::CATEGORY_CREATE,
            format!("category:{}", c.id),
            None,
            Some(json!(c)),
        )
    }

    pub fn category_updated(before: &Category, after: &Category) -> Self {
        let target = format!("category:{}", after.id);
        Self::new(
            action::CATEGORY_UPDATE,
            target,
            Some(json!(before)),
            Some(json!(after)),
        )
    }

    pub fn category_deleted(c: &Category) -> Self {
        Self::new(
            action::CATEGORY_DELETE,
            format!("category:{}", c.id),
            Some(json!(c)),
            None,
        )
    }

    pub fn product_created(p: &Product) -> Self {
        let target = format!("product:{}", p.id);
        Self::new(
            action::PRODUCT_CREATE,
            target,
            None,
            Some(product_summary(p)),
        )
    }

    pub fn product_updated(before: &Product, after: &Product) -> Self {
        let target = format!("product:{}", after.id);
        let (before, after) = (product_summary(before), product_summary(after));
        Self::new(action::PRODUCT_UPDATE, target, Some(before), Some(after))
    }

    pub fn product_deleted(p: &Product) -> Self {
        let target = format!("product:{}", p.id);
        Self::new(
            action::PRODUCT_DELETE,
            target,
            Some(product_summary(p)),
            None,
        )
    }

    pub fn variant_created(v: &Variant) -> Self {
        let target = format!("variant:{}", v.id);
        Self::new(
            action::VARIANT_CREATE,
            target,
            None,
            Some(variant_summary(v)),
        )
    }

    pub fn variant_updated(before: &Variant, after: &Variant) -> Self {
        let target = format!("variant:{}", after.id);
        let (before, after) = (variant_summary(before), variant_summary(after));
        Self::new(action::VARIANT_UPDATE, target, Some(before), Some(after))
    }

    pub fn variant_deleted(v: &Variant) -> Self {
        let target = format!("variant:{}", v.id);
        Self::new(
            action::VARIANT_DELETE,
            target,
            Some(variant_summary(v)),
            None,
        )
    }

    /// A manual stock change: on-hand before and after, with the change and
    /// its reason.
    pub fn inventory_adjusted(before: &Variant, after: &Variant, a: &InventoryAdjustment) -> Self {
        Self::new(
            action::INVENTORY_ADJUST,
            format!("variant:{}", after.id),
            Some(json!({"on_hand": before.inventory.on_hand})),
            Some(json!({
                "on_hand": after.inventory.on_hand, "delta": a.delta, "reason": a.reason
            })),
        )
    }

    pub fn image_added(image: &NewImage) -> Self {
        Self::new(
            action::IMAGE_CREATE,
            format!("image:{}", image.id),
            None,
            Some(json!({
                "product_id": image.product_id, "content_type": image.content_type,
                "size_bytes": image.size_bytes, "width": image.width, "height": image.height
            })),
        )
    }

    pub fn image_deleted(image: &ProductImage) -> Self {
        Self::new(
            action::IMAGE_DELETE,
            format!("image:{}", image.id),
            Some(json!({"product_id": image.product_id})),
            None,
        )
    }

    /// One import batch: the lines it spans and what its rows did.
    pub fn import(rows: &[ImportRow], created: usize, updated: usize, failed: usize) -> Self {
        Self::new(
            action::PRODUCT_IMPORT,
            format!(
                "lines:{}-{}",
                rows.first().map_or(0, |r| r.line),
                rows.last().map_or(0, |r| r.line)
            ),
            None,
            Some(json!({"created": created, "updated": updated, "failed": failed})),
        )
    }
}
