//! What both backends do alike around an import batch, beyond the counting
//! (which is `storekeep_store::rules::catalog::ImportBatch`): which rows
//! the batch can decide in memory, and the rows those write.
//!
//! A batch reads first, in three statements, what its rows name that the
//! shop already has ([`Known`]: products by handle, variants by SKU,
//! categories by handle). A row that only creates — its handle and every
//! SKU new to the shop and named by no other row of the batch — can then
//! only fail for reasons known in memory (an unknown category, the plan's
//! room, its variant count), so it needs no savepoint: it is decided here
//! and written with the batch's other new products in a few multi-row
//! statements ([`NewProduct`]). Every other row (an update, a SKU that
//! exists, a handle or SKU twice in the batch) runs as before, alone in a
//! savepoint. Should a multi-row write fail all the same (a concurrent
//! writer took a handle or SKU on PostgreSQL), the backend rolls the batch
//! back and runs it again row by row, so one bad row still fails alone.

use std::collections::{HashMap, HashSet};

use storekeep_domain::{
    ImportOutcome, ImportRow, InventoryAdjustment, NewVariant, ProductId, VariantId,
};
use storekeep_store::rules::catalog as rules;
use storekeep_store::{StoreError, StoreResult};

use super::adjustment;
use crate::DbId;

/// Logs a row that failed for a reason of the store's own (not a refusal
/// the row's data earned), with the line it came from.
pub fn warn_if_broken(result: &StoreResult<ImportOutcome>, line: u64) {
    if let Err(StoreError::Other(cause)) = result {
        tracing::warn!(error = %cause, line, "import row failed");
    }
}

/// What the shop already has of what a batch's rows name, read under the
/// batch's lock.
#[derive(Debug, Default)]
pub struct Known {
    /// Handles of existing products.
    pub products: HashSet<String>,
    /// SKUs of existing variants.
    pub skus: HashSet<String>,
    /// Existing categories, by handle.
    pub categories: HashMap<String, DbId>,
}

/// The handles, SKUs and category handles a batch names, each once: what
/// [`Known`] is read for.
pub fn named(rows: &[ImportRow]) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
    let mut handles = HashSet::new();
    let mut skus = HashSet::new();
    let mut categories = HashSet::new();
    for row in rows {
        handles.insert(row.handle.as_str());
        skus.extend(row.variants.iter().map(|v| v.variant.sku.as_str()));
        categories.extend(row.categories.iter().map(|c| c.as_str()));
    }
    (sorted(handles), sorted(skus), sorted(categories))
}

fn sorted(set: HashSet<&str>) -> Vec<&str> {
    let mut v: Vec<&str> = set.into_iter().collect();
    v.sort_unstable();
    v
}

/// For each row, whether it only creates: its handle and SKUs are new to
/// the shop and appear nowhere else in the batch. Such a row touches
/// nothing another row of the batch touches, so it can be written after
/// them without changing any result.
pub fn only_creates(rows: &[ImportRow], known: &Known) -> Vec<bool> {
    let mut handles: HashMap<&str, usize> = HashMap::new();
    let mut skus: HashMap<&str, usize> = HashMap::new();
    for row in rows {
        *handles.entry(row.handle.as_str()).or_default() += 1;
        for v in &row.variants {
            *skus.entry(v.variant.sku.as_str()).or_default() += 1;
        }
    }
    rows.iter()
        .map(|row| {
            let handle = row.handle.as_str();
            handles[handle] == 1
                && !known.products.contains(handle)
                && row.variants.iter().all(|v| {
                    let sku = v.variant.sku.as_str();
                    skus[sku] == 1 && !known.skus.contains(sku)
                })
        })
        .collect()
}

/// A new product decided in memory: every row it writes.
#[derive(Debug)]
pub struct NewProduct<'a> {
    pub row: &'a ImportRow,
    pub id: DbId,
    /// The cheapest variant's price and the stock on hand, the summary
    /// columns a refresh would compute (nothing is reserved yet).
    pub min_price: i64,
    pub available: i64,
    /// Its tags, each once.
    pub tags: Vec<&'a str>,
    /// Its filings: category and position (a repeat keeps its first).
    pub filings: Vec<(DbId, i64)>,
    /// Its variants: id, the variant and its position.
    pub variants: Vec<(DbId, &'a NewVariant, i64)>,
    /// The ledger entries of the variants' initial stock.
    pub ledger: Vec<InventoryAdjustment>,
}

/// The categories a row is filed under, each of which must exist (checked
/// first, as a row run alone checks it).
pub fn categories(row: &ImportRow, known: &Known) -> StoreResult<Vec<DbId>> {
    row.categories
        .iter()
        .map(|h| rules::known_category(known.categories.get(h.as_str()).copied()))
        .collect()
}

/// The rows a creating import row writes, as a row run alone writes them
/// (`insert`, `insert_variant` with reason `import`, `refresh_summary`).
pub fn new_product<'a>(
    row: &'a ImportRow,
    categories: &[DbId],
    actor: &str,
) -> StoreResult<NewProduct<'a>> {
    rules::variant_count(row.variants.len() as i64)?;
    let id = DbId(ProductId::new().0);
    let mut seen = HashSet::new();
    let tags = row
        .tags
        .iter()
        .map(String::as_str)
        .filter(|t| seen.insert(*t))
        .collect();
    let mut seen = HashSet::new();
    let filings = categories
        .iter()
        .enumerate()
        .filter(|(_, c)| seen.insert(**c))
        .map(|(position, c)| (*c, position as i64))
        .collect();
    let mut variants = Vec::with_capacity(row.variants.len());
    let mut ledger = Vec::new();
    for (position, v) in row.variants.iter().enumerate() {
        let vid = VariantId::new();
        let on_hand = v.variant.on_hand;
        if on_hand != 0 {
            ledger.push(adjustment(vid, on_hand, "import", on_hand, actor));
        }
        variants.push((DbId(vid.0), &v.variant, position as i64));
    }
    let min_price = row
        .variants
        .iter()
        .map(|v| v.variant.price.amount)
        .min()
        .unwrap_or(0);
    let available = row.variants.iter().map(|v| v.variant.on_hand.max(0)).sum();
    Ok(NewProduct {
        row,
        id,
        min_price,
        available,
        tags,
        filings,
        variants,
        ledger,
    })
}

/// Most rows of one multi-row `INSERT`: far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound values at the widest table's 14 columns.
pub const ROWS_PER_INSERT: usize = 1_000;

/// The writer of a batch's new products (`write_new`, with its helper
/// `insert_many`), the same statements on both databases: expanded in each
/// backend's `catalog/import.rs` with its sqlx database type, where `Conn`,
/// `map_err`, `now`, `title_key`, `search_document`, `DbId`, `TenantId`,
/// `ProductStatus`, `NewProduct`, `ROWS_PER_INSERT` and `StoreResult` are in
/// scope.
#[macro_export]
macro_rules! import_writer {
    ($db:ty) => {
        /// Runs `push` for each chunk of `items` as one multi-row `INSERT`.
        async fn insert_many<T>(
            conn: &mut Conn,
            head: &str,
            items: &[T],
            push: impl Fn(sqlx::query_builder::Separated<'_, '_, $db, &'static str>, &T),
        ) -> StoreResult<()> {
            for chunk in items.chunks(ROWS_PER_INSERT) {
                let mut q = sqlx::QueryBuilder::<$db>::new(head);
                q.push_values(chunk, &push);
                q.build().execute(&mut *conn).await.map_err(map_err)?;
            }
            Ok(())
        }

        /// Writes the batch's new products, their tags, filings, variants and
        /// ledger entries: one statement per table (per thousand rows).
        async fn write_new(conn: &mut Conn, tenant: TenantId, new: &[NewProduct<'_>]) -> StoreResult<()> {
            if new.is_empty() {
                return Ok(());
            }
            let t = DbId(tenant.0);
            let at = now();
            insert_many(
                conn,
                "INSERT INTO products (id, tenant_id, handle, title, title_key, description, status, \
                 tags, min_price, available, search_doc, created_at, updated_at) ",
                new,
                |mut b, p| {
                    let r = p.row;
                    let status = r.status.unwrap_or(ProductStatus::Draft);
                    b.push_bind(p.id)
                        .push_bind(t)
                        .push_bind(r.handle.as_str().to_owned())
                        .push_bind(r.title.clone())
                        .push_bind(title_key(&r.title))
                        .push_bind(r.description.clone())
                        .push_bind(status.as_str())
                        .push_bind(sqlx::types::Json(r.tags.clone()))
                        .push_bind(p.min_price)
                        .push_bind(p.available)
                        .push_bind(search_document(&r.title, &r.tags, &r.description))
                        .push_bind(at)
                        .push_bind(at);
                },
            )
            .await?;
            let tags: Vec<(DbId, &str)> = new
                .iter()
                .flat_map(|p| p.tags.iter().map(|t| (p.id, *t)))
                .collect();
            insert_many(
                conn,
                "INSERT INTO product_tags (product_id, tenant_id, tag) ",
                &tags,
                |mut b, (product, tag)| {
                    b.push_bind(*product)
                        .push_bind(t)
                        .push_bind(tag.to_string());
                },
            )
            .await?;
            let filings: Vec<(DbId, DbId, i64)> = new
                .iter()
                .flat_map(|p| p.filings.iter().map(|(c, pos)| (p.id, *c, *pos)))
                .collect();
            insert_many(
                conn,
                "INSERT INTO product_categories (product_id, category_id, position) ",
                &filings,
                |mut b, (product, category, position)| {
                    b.push_bind(*product)
                        .push_bind(*category)
                        .push_bind(*position);
                },
            )
            .await?;
            let variants: Vec<(DbId, DbId, &storekeep_domain::NewVariant, i64)> = new
                .iter()
                .flat_map(|p| p.variants.iter().map(|(id, v, pos)| (*id, p.id, *v, *pos)))
                .collect();
            insert_many(
                conn,
                "INSERT INTO variants (id, tenant_id, product_id, sku, title, options, price, \
                 currency, compare_at_price, on_hand, reserved, position, created_at, updated_at) ",
                &variants,
                |mut b, (id, product, v, position)| {
                    b.push_bind(*id)
                        .push_bind(t)
                        .push_bind(*product)
                        .push_bind(v.sku.as_str().to_owned())
                        .push_bind(v.title.clone())
                        .push_bind(sqlx::types::Json(v.options.clone()))
                        .push_bind(v.price.amount)
                        .push_bind(v.price.currency.clone())
                        .push_bind(v.compare_at_price.as_ref().map(|m| m.amount))
                        .push_bind(v.on_hand)
                        .push_bind(0_i64)
                        .push_bind(*position)
                        .push_bind(at)
                        .push_bind(at);
                },
            )
            .await?;
            let ledger: Vec<&storekeep_domain::InventoryAdjustment> =
                new.iter().flat_map(|p| p.ledger.iter()).collect();
            insert_many(
                conn,
                "INSERT INTO inventory_ledger (id, tenant_id, variant_id, delta, reason, \
                 on_hand_after, actor, at) ",
                &ledger,
                |mut b, a| {
                    b.push_bind(DbId(a.id))
                        .push_bind(t)
                        .push_bind(DbId(a.variant_id.0))
                        .push_bind(a.delta)
                        .push_bind(a.reason.clone())
                        .push_bind(a.on_hand_after)
                        .push_bind(a.actor.clone())
                        .push_bind(a.at);
                },
            )
            .await?;
            Ok(())
        }
    };
}

/// The batch runner (`rows`: the batch with its creating rows written
/// together by `in_bulk`, or, if that write fails, again row by row by
/// `one_by_one`, each row in its own savepoint by `in_savepoint`), the same
/// steps on both databases: expanded in each backend's `catalog/import.rs`,
/// where `Pool`, `Conn`, `write_tx`, `lock_tenant`, `lock_existing`,
/// `known`, `B` (the backend), `import_row`, `write_new` (from
/// [`import_writer!`]), `record`, `other`, `RUN`, `sql`, `Stmt`, `plan`,
/// `ImportBatch`, `ImportOutcome`, `ImportRow`, `warn_if_broken`,
/// `AuditContext`, `TenantId`, `StoreError` and `StoreResult` are in scope.
#[macro_export]
macro_rules! import_batches {
    () => {
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
            let products = $crate::catalog::products::product_count::<B>(&mut tx, tenant).await?;
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
            let products = $crate::catalog::products::product_count::<B>(&mut tx, tenant).await?;
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
    };
}
