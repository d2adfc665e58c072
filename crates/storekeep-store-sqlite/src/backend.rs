//! [`SqliteBackend`]: what SQLite does its own way in the store code both backends
//! share (`storekeep_store_sql::backend`).

use sqlx::{Pool, Sqlite, Transaction};
use storekeep_domain::{AuditContext, Cart, CartId, CategoryId, DomainName, Product, TenantId};
use storekeep_store::audit::Change;
use storekeep_store::rules::platform::FIELD_NAME;
use storekeep_store::{StoreError, StoreResult};
use storekeep_store_sql::DbId;
use storekeep_store_sql::backend::{Backend, BoxFut, Conn};
use storekeep_store_sql::catalog::ProductRow;
use storekeep_store_sql::contracts::daily::DailyStatements;
use storekeep_store_sql::platform::TenantStatements;

use crate::{audit, catalog, error, tenants, users};

/// This backend, for the shared generic store code.
pub(crate) struct SqliteBackend;

impl Backend for SqliteBackend {
    type Db = Sqlite;

    const CATALOG_UNIQUES: &'static [(&'static str, &'static str)] = catalog::UNIQUES;
    const ROW_LOCKS: bool = false;
    const COMPLETE_MANY: &'static str = "UPDATE jobs SET state = 'completed', finished_at = $2, \
         lease_token = NULL, locked_until = NULL \
         WHERE state = 'running' AND (id, lease_token) IN \
         (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($1)) \
         RETURNING id";
    const INSERT_INSTALLMENTS: &'static str = "INSERT INTO rental_installments \
         (id, tenant_id, contract_id, seq, due_date, amount) \
         SELECT json_extract(value, '$[0]'), $1, $2, json_extract(value, '$[1]'), \
         json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each($3)";
    const PLAN_UNIQUES: &'static [(&'static str, &'static str)] = &[("plans.name", FIELD_NAME)];
    const TENANT_UNIQUES: &'static [(&'static str, &'static str)] = tenants::UNIQUES;
    const TENANTS: TenantStatements = tenants::STATEMENTS;
    const USER_UNIQUES: &'static [(&'static str, &'static str)] = users::UNIQUES;
    const USER_BY_EMAIL: &'static str = users::BY_EMAIL;
    const DAILY: DailyStatements = DAILY;

    fn classify(e: sqlx::Error) -> StoreError {
        error::classify(e)
    }

    fn map_unique(e: sqlx::Error, uniques: &[(&str, &'static str)]) -> StoreError {
        error::map(e, uniques)
    }

    fn write_tx(pool: &Pool<Sqlite>) -> BoxFut<'_, StoreResult<Transaction<'static, Sqlite>>> {
        Box::pin(crate::write_tx(pool))
    }

    fn snapshot_tx(pool: &Pool<Sqlite>) -> BoxFut<'_, StoreResult<Transaction<'static, Sqlite>>> {
        Box::pin(crate::snapshot_tx(pool))
    }

    fn lock_tenant(conn: &mut Conn<Sqlite>, tenant: TenantId) -> BoxFut<'_, StoreResult<()>> {
        Box::pin(catalog::lock_tenant(conn, tenant))
    }

    fn insert_domains<'a>(
        conn: &'a mut Conn<Sqlite>,
        tenant: DbId,
        domains: &'a [DomainName],
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(tenants::insert_domains(conn, tenant, domains))
    }

    fn refresh_summary(conn: &mut Conn<Sqlite>, product: DbId) -> BoxFut<'_, StoreResult<()>> {
        Box::pin(catalog::refresh_summary(conn, product))
    }

    fn fetch_cart(
        conn: &mut Conn<Sqlite>,
        tenant: TenantId,
        id: CartId,
    ) -> BoxFut<'_, StoreResult<Cart>> {
        Box::pin(crate::commerce::carts::fetch_cart(conn, tenant, id))
    }

    fn assemble(
        conn: &mut Conn<Sqlite>,
        rows: Vec<ProductRow>,
    ) -> BoxFut<'_, StoreResult<Vec<Product>>> {
        Box::pin(catalog::assemble(conn, rows))
    }

    fn set_tags<'a>(
        conn: &'a mut Conn<Sqlite>,
        tenant: TenantId,
        product: DbId,
        tags: &'a [String],
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(catalog::set_tags(conn, tenant, product, tags))
    }

    fn set_categories<'a>(
        conn: &'a mut Conn<Sqlite>,
        tenant: TenantId,
        product: DbId,
        categories: &'a [CategoryId],
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(catalog::set_categories(conn, tenant, product, categories))
    }

    fn record_change<'a>(
        conn: &'a mut Conn<Sqlite>,
        ctx: &'a AuditContext,
        change: Change,
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(async move {
            audit::record(conn, ctx, change).await?;
            Ok(())
        })
    }

    fn record_changes<'a>(
        conn: &'a mut Conn<Sqlite>,
        ctx: &'a AuditContext,
        changes: Vec<Change>,
    ) -> BoxFut<'a, StoreResult<()>> {
        Box::pin(async move {
            audit::record_many(conn, ctx, changes).await?;
            Ok(())
        })
    }
}

/// The daily pass's statements, reading a JSON array's rows with
/// `json_each` (`$.field` of each element).
pub const DAILY: DailyStatements = storekeep_store_sql::daily_statements!(
    "(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.fee') AS fee \
     FROM json_each($1))",
    "(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.prev') AS prev, \
     json_extract(value, '$.next') AS next FROM json_each($1))",
    "(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.cutoff') AS cutoff \
     FROM json_each($1))",
    "(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.tenant_id') AS tenant_id, \
     json_extract(value, '$.topic') AS topic, json_extract(value, '$.subject') AS subject, \
     json_extract(value, '$.payload') AS payload FROM json_each($1))",
    "(SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.kind') AS kind, \
     json_extract(value, '$.queue') AS queue, json_extract(value, '$.tenant_id') AS tenant_id, \
     json_extract(value, '$.payload') AS payload, json_extract(value, '$.priority') AS priority, \
     json_extract(value, '$.max_attempts') AS max_attempts, \
     json_extract(value, '$.unique_key') AS unique_key FROM json_each($1))"
);
