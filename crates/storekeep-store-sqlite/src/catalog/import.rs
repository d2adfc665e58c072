//! Bulk import: up to `IMPORT_BATCH` rows in one transaction. Rows that
//! only create are decided in memory and written together in multi-row
//! statements; every other row runs alone in its own savepoint
//! (`storekeep_store_sql::catalog::import` says which and why). The
//! batch's write lock keeps the product count (the plan's room) and what
//! the batch read true for the whole batch.

use sqlx::Sqlite;
use storekeep_domain::{
    AuditContext, CategoryId, Handle, ImportOutcome, ImportRow, ImportVariant, ProductStatus,
    TenantId, search_document, title_key,
};
use storekeep_store::rules::catalog::{self as rules, ImportBatch};
use storekeep_store::{StoreError, StoreResult, now};
use storekeep_store_sql::DbId;
use storekeep_store_sql::catalog::import::{self as plan, Known, NewProduct, ROWS_PER_INSERT};
use storekeep_store_sql::catalog::{ProductFields, sql, warn_if_broken};

use super::products::{insert, product_count, refresh_summary, rewrite};
use super::{Conn, Pool, lock_tenant, map_err, record};
use crate::backend::SqliteBackend as B;
use crate::error::other;
use crate::run::RUN;
use crate::write_tx;
use storekeep_store_sql::catalog::inventory::change_stock;
use storekeep_store_sql::catalog::variants::{insert_variant, variant_count, write_variant};
use storekeep_store_sql::stmt::Stmt;

type Outcomes = Vec<Result<ImportOutcome, StoreError>>;

pub(super) async fn rows(
    pool: &Pool,
    tenant: TenantId,
    rows: &[ImportRow],
    max_products: i64,
    ctx: &AuditContext,
) -> StoreResult<Outcomes> {
    match in_bulk(pool, tenant, rows, max_products, ctx).await? {
        Some(outcomes) => Ok(outcomes),
        None => one_by_one(pool, tenant, rows, max_products, ctx).await,
    }
}

/// The batch with its creating rows written together; `None` if writing
/// them failed, the transaction rolled back (the batch is then run again
/// row by row).
async fn in_bulk(
    pool: &Pool,
    tenant: TenantId,
    rows: &[ImportRow],
    max_products: i64,
    ctx: &AuditContext,
) -> StoreResult<Option<Outcomes>> {
    let mut tx = write_tx(pool).await?;
    lock_tenant(&mut tx, tenant).await?;
    let known = known(&mut tx, tenant, rows).await?;
    let products = product_count(&mut tx, tenant).await?;
    let mut batch = ImportBatch::new(max_products, products, rows.len());
    let mut new = Vec::new();
    for (row, only_creates) in rows.iter().zip(plan::only_creates(rows, &known)) {
        if !only_creates {
            in_savepoint(&mut tx, tenant, row, &mut batch, &ctx.actor).await?;
            continue;
        }
        let planned = plan::categories(row, &known).and_then(|categories| {
            batch.may_create()?;
            plan::new_product(row, &categories, &ctx.actor)
        });
        match planned {
            Ok(p) => {
                new.push(p);
                batch.record(Ok(ImportOutcome::Created))?;
            }
            Err(e) => {
                batch.record(Err(e))?;
            }
        }
    }
    if let Err(e) = write_new(&mut tx, tenant, &new).await {
        if e.is_retryable() {
            return Err(e);
        }
        tracing::warn!(error = %e, "import batch failed as a whole; running it row by row");
        return Ok(None);
    }
    if let Some(event) = batch.audit(rows) {
        record(&mut tx, tenant, ctx, event).await?;
    }
    tx.commit().await.map_err(other)?;
    Ok(Some(batch.into_outcomes()))
}

/// The batch with every row in its own savepoint.
async fn one_by_one(
    pool: &Pool,
    tenant: TenantId,
    rows: &[ImportRow],
    max_products: i64,
    ctx: &AuditContext,
) -> StoreResult<Outcomes> {
    let mut tx = write_tx(pool).await?;
    // Locked once for the batch, outside the savepoints: a row lock taken
    // inside one is dropped when it is rolled back.
    lock_tenant(&mut tx, tenant).await?;
    lock_existing(&mut tx, tenant, rows).await?;
    let products = product_count(&mut tx, tenant).await?;
    let mut batch = ImportBatch::new(max_products, products, rows.len());
    for row in rows {
        in_savepoint(&mut tx, tenant, row, &mut batch, &ctx.actor).await?;
    }
    if let Some(event) = batch.audit(rows) {
        record(&mut tx, tenant, ctx, event).await?;
    }
    tx.commit().await.map_err(other)?;
    Ok(batch.into_outcomes())
}

/// Runs one row alone in a savepoint, rolled back if the row fails.
async fn in_savepoint(
    conn: &mut Conn,
    tenant: TenantId,
    row: &ImportRow,
    batch: &mut ImportBatch,
    actor: &str,
) -> StoreResult<()> {
    RUN.exec(&mut *conn, Stmt::new(sql::SAVEPOINT, ())).await?;
    let result = import_row(conn, tenant, row, batch, actor).await;
    warn_if_broken(&result, row.line);
    if !batch.record(result)? {
        RUN.exec(&mut *conn, Stmt::new(sql::ROLLBACK_TO, ()))
            .await?;
    }
    RUN.exec(&mut *conn, Stmt::new(sql::RELEASE, ())).await?;
    Ok(())
}

/// A JSON array of `values`, bound as one argument and read with
/// `json_each` (no limit on the number of values).
fn json_list(values: &[&str]) -> String {
    serde_json::to_string(values).expect("strings serialise")
}

/// What the shop has of what the batch names, in three statements.
async fn known(conn: &mut Conn, tenant: TenantId, rows: &[ImportRow]) -> StoreResult<Known> {
    let (handles, skus, categories) = plan::named(rows);
    let t = DbId(tenant.0);
    let products: Vec<String> = sqlx::query_scalar(
        "SELECT handle FROM products WHERE tenant_id = $1 \
         AND handle IN (SELECT value FROM json_each($2))",
    )
    .bind(t)
    .bind(json_list(&handles))
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let skus: Vec<String> = sqlx::query_scalar(
        "SELECT sku FROM variants WHERE tenant_id = $1 \
         AND sku IN (SELECT value FROM json_each($2))",
    )
    .bind(t)
    .bind(json_list(&skus))
    .fetch_all(&mut *conn)
    .await
    .map_err(other)?;
    let categories: Vec<(String, DbId)> = if categories.is_empty() {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT handle, id FROM categories WHERE tenant_id = $1 \
             AND handle IN (SELECT value FROM json_each($2))",
        )
        .bind(t)
        .bind(json_list(&categories))
        .fetch_all(&mut *conn)
        .await
        .map_err(other)?
    };
    Ok(Known {
        products: products.into_iter().collect(),
        skus: skus.into_iter().collect(),
        categories: categories.into_iter().collect(),
    })
}

storekeep_store_sql::import_writer!(Sqlite);

/// Locks the batch's existing products on PostgreSQL. Here the write
/// transaction already holds the database's lock.
async fn lock_existing(
    _conn: &mut Conn,
    _tenant: TenantId,
    _rows: &[ImportRow],
) -> StoreResult<()> {
    Ok(())
}

async fn category_ids(
    conn: &mut Conn,
    tenant: TenantId,
    handles: &[Handle],
) -> StoreResult<Vec<CategoryId>> {
    let mut ids = Vec::with_capacity(handles.len());
    for handle in handles {
        let id: Option<DbId> = RUN
            .scalar_optional(
                &mut *conn,
                Stmt::new(
                    sql::CATEGORY_ID_BY_HANDLE,
                    (DbId(tenant.0), handle.as_str()),
                ),
            )
            .await?;
        ids.push(CategoryId(rules::known_category(id)?.0));
    }
    Ok(ids)
}

/// Applies one import row; runs inside the row's savepoint.
async fn import_row(
    conn: &mut Conn,
    tenant: TenantId,
    row: &ImportRow,
    batch: &ImportBatch,
    actor: &str,
) -> StoreResult<ImportOutcome> {
    let categories = category_ids(conn, tenant, &row.categories).await?;
    let fields = ProductFields::of_import(row);
    let existing: Option<DbId> = RUN
        .scalar_optional(
            &mut *conn,
            Stmt::new(
                "SELECT id FROM products WHERE tenant_id = $1 AND handle = $2",
                (DbId(tenant.0), row.handle.as_str()),
            ),
        )
        .await?;
    let (product, outcome) = match existing {
        Some(id) => {
            rewrite(conn, tenant, id, fields, Some(&row.tags), Some(&categories)).await?;
            (id, ImportOutcome::Updated)
        }
        None => {
            batch.may_create()?;
            let id = insert(conn, tenant, fields, &categories).await?;
            (id, ImportOutcome::Created)
        }
    };
    for v in &row.variants {
        import_variant(conn, tenant, product, v, actor).await?;
    }
    rules::variant_count(variant_count::<B>(conn, product).await?)?;
    refresh_summary(conn, product).await?;
    Ok(outcome)
}

/// Creates or updates a variant of `product`, matched by SKU; its stock is
/// set to the row's figure (through the ledger) when the row gives one.
async fn import_variant(
    conn: &mut Conn,
    tenant: TenantId,
    product: DbId,
    v: &ImportVariant,
    actor: &str,
) -> StoreResult<()> {
    let (variant, set_stock) = (&v.variant, v.set_stock);
    let found: Option<(DbId, DbId, i64)> = sqlx::query_as(
        "SELECT id, product_id, on_hand FROM variants WHERE tenant_id = $1 AND sku = $2",
    )
    .bind(DbId(tenant.0))
    .bind(variant.sku.as_str())
    .fetch_optional(&mut *conn)
    .await
    .map_err(other)?;
    let Some((id, owner, on_hand)) = found else {
        insert_variant::<B>(conn, tenant, product, variant, actor, "import").await?;
        return Ok(());
    };
    rules::sku_owner(&owner, &product)?;
    write_variant::<B>(conn, id, variant).await?;
    if set_stock && variant.on_hand != on_hand {
        change_stock::<B>(
            conn,
            tenant,
            id.0,
            variant.on_hand - on_hand,
            "import",
            actor,
        )
        .await?;
    }
    Ok(())
}
