//! Catalog deletes that rental contracts refuse (i15 phase 2, glue). A
//! contract is a record the shop keeps: it names its variant and the unit
//! it rented (`rental_contracts.unit_id` references `rental_units`, which
//! go with their variant), so a product or variant with any contract is
//! not deleted — a `409` problem; the product is archived instead.

use storekeep_domain::{ProductId, TenantId, VariantId};
use storekeep_store::{StoreError, StoreResult};

use crate::DbId;
use crate::backend::{Backend, Conn};
use crate::stmt::Stmt;

pub const PRODUCT_HAS_CONTRACTS: &str =
    "the product has rental contracts: archive it instead of deleting it";
pub const VARIANT_HAS_CONTRACTS: &str = "the variant has rental contracts: it cannot be deleted";

const PRODUCT_CONTRACT: &str = "SELECT c.id FROM rental_contracts c \
     JOIN variants v ON v.id = c.variant_id \
     WHERE v.product_id = $1 AND c.tenant_id = $2 LIMIT 1";
const VARIANT_CONTRACT: &str =
    "SELECT id FROM rental_contracts WHERE variant_id = $1 AND tenant_id = $2 LIMIT 1";

/// `Invalid` (a `409`) if any contract names one of the product's variants.
pub async fn product_deletable<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    product: ProductId,
) -> StoreResult<()> {
    let found: Option<(DbId,)> = B::optional(
        conn,
        Stmt::new(PRODUCT_CONTRACT, (DbId(product.0), DbId(tenant.0))),
    )
    .await?;
    match found {
        Some(_) => Err(StoreError::Invalid(PRODUCT_HAS_CONTRACTS)),
        None => Ok(()),
    }
}

/// `Invalid` (a `409`) if any contract names the variant.
pub async fn variant_deletable<B: Backend>(
    conn: &mut Conn<B::Db>,
    tenant: TenantId,
    variant: VariantId,
) -> StoreResult<()> {
    let found: Option<(DbId,)> = B::optional(
        conn,
        Stmt::new(VARIANT_CONTRACT, (DbId(variant.0), DbId(tenant.0))),
    )
    .await?;
    match found {
        Some(_) => Err(StoreError::Invalid(VARIANT_HAS_CONTRACTS)),
        None => Ok(()),
    }
}
