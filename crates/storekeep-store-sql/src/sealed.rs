//! The sealed values outside the accounts, read and replaced for a key
//! rotation, the same on both databases; and
//! [`impl_sealed_store!`](crate::impl_sealed_store), the `SealedStore`
//! impl both backends share.
//!
//! A value in a column of its own is replaced by one statement that
//! checks it is still the old one; one inside a JSON document (a shop's
//! settings, a job's payload) by reading the document under the write
//! lock, checking and writing it back, in one transaction.

use serde_json::Value;
use sqlx::Pool;
use sqlx::types::Json;
use storekeep_store::sealed::{SealedField, SealedPage, SealedValue};
use storekeep_store::{StoreError, StoreResult};
use uuid::Uuid;

use crate::DbId;
use crate::backend::Backend;
use crate::stmt::Stmt;

/// A value in a column of its own: the page, and the compare-and-set.
struct Column {
    page: &'static str,
    replace: &'static str,
}

/// A value inside a JSON document: the page, the document read (plain and
/// locked) and written, where in the document the value is, and where the
/// id its context names is (`None`: the row's own).
struct Document {
    page: &'static str,
    read: &'static str,
    read_locked: &'static str,
    write: &'static str,
    pointer: &'static str,
    owner: Option<&'static str>,
}

enum Place {
    Column(Column),
    Document(Document),
}

fn place(field: SealedField) -> Place {
    match field {
        SealedField::OrderEmail => Place::Column(Column {
            page: "SELECT id, email_sealed FROM orders WHERE id > $1 ORDER BY id LIMIT $2",
            replace: "UPDATE orders SET email_sealed = $1 WHERE id = $2 AND email_sealed = $3",
        }),
        SealedField::OrderAddress => Place::Column(Column {
            page: "SELECT id, address_sealed FROM orders WHERE id > $1 ORDER BY id LIMIT $2",
            replace: "UPDATE orders SET address_sealed = $1 WHERE id = $2 AND address_sealed = $3",
        }),
        SealedField::WebhookSecret => Place::Column(Column {
            page: "SELECT id, secret_sealed FROM webhook_endpoints WHERE id > $1 \
                   ORDER BY id LIMIT $2",
            replace: "UPDATE webhook_endpoints SET secret_sealed = $1 \
                      WHERE id = $2 AND secret_sealed = $3",
        }),
        SealedField::WebhookPreviousSecret => Place::Column(Column {
            page: "SELECT id, previous_secret_sealed FROM webhook_endpoints WHERE id > $1 \
                   ORDER BY id LIMIT $2",
            replace: "UPDATE webhook_endpoints SET previous_secret_sealed = $1 \
                      WHERE id = $2 AND previous_secret_sealed = $3",
        }),
        SealedField::TenantDkimKey => Place::Document(Document {
            page: "SELECT id, settings FROM tenants WHERE id > $1 ORDER BY id LIMIT $2",
            read: "SELECT settings FROM tenants WHERE id = $1",
            read_locked: "SELECT settings FROM tenants WHERE id = $1 FOR UPDATE",
            write: "UPDATE tenants SET settings = $1 WHERE id = $2",
            pointer: "/email_dkim/key_sealed",
            owner: None,
        }),
        SealedField::JobResetToken => Place::Document(Document {
            page: "SELECT id, payload FROM jobs WHERE id > $1 ORDER BY id LIMIT $2",
            read: "SELECT payload FROM jobs WHERE id = $1",
            read_locked: "SELECT payload FROM jobs WHERE id = $1 FOR UPDATE",
            write: "UPDATE jobs SET payload = $1 WHERE id = $2",
            pointer: "/token_sealed",
            owner: Some("/user_id"),
        }),
    }
}

pub async fn values<B: Backend>(
    pool: &Pool<B::Db>,
    field: SealedField,
    after: Option<Uuid>,
    limit: i64,
) -> StoreResult<SealedPage> {
    let after = DbId(after.unwrap_or(Uuid::nil()));
    let mut conn = B::conn(pool).await?;
    let mut page = SealedPage::default();
    match place(field) {
        Place::Column(c) => {
            let rows: Vec<(DbId, Option<String>)> =
                B::all(&mut *conn, Stmt::new(c.page, (after, limit))).await?;
            page.last_row = rows.last().map(|(id, _)| id.0);
            page.values = rows
                .into_iter()
                .filter_map(|(id, sealed)| {
                    sealed.map(|sealed| SealedValue {
                        row: id.0,
                        owner: id.0,
                        sealed,
                    })
                })
                .collect();
        }
        Place::Document(d) => {
            let rows: Vec<(DbId, Json<Value>)> =
                B::all(&mut *conn, Stmt::new(d.page, (after, limit))).await?;
            page.last_row = rows.last().map(|(id, _)| id.0);
            for (id, doc) in rows {
                let Some(sealed) = doc.0.pointer(d.pointer).and_then(Value::as_str) else {
                    continue;
                };
                let owner = match d.owner {
                    None => id.0,
                    Some(at) => doc
                        .0
                        .pointer(at)
                        .and_then(Value::as_str)
                        .and_then(|o| Uuid::parse_str(o).ok())
                        .ok_or(StoreError::Invalid("a sealed value names no owner"))?,
                };
                page.values.push(SealedValue {
                    row: id.0,
                    owner,
                    sealed: sealed.to_owned(),
                });
            }
        }
    }
    Ok(page)
}

pub async fn replace<B: Backend>(
    pool: &Pool<B::Db>,
    field: SealedField,
    row: Uuid,
    old: &str,
    new: &str,
) -> StoreResult<bool> {
    match place(field) {
        Place::Column(c) => {
            let stmt = Stmt::new(c.replace, (new, DbId(row), old));
            Ok(B::exec(&mut *B::conn(pool).await?, stmt).await? == 1)
        }
        Place::Document(d) => {
            let mut tx = B::write_tx(pool).await?;
            let read = B::read_for_update(d.read, d.read_locked);
            let doc: Option<Json<Value>> =
                B::scalar_optional(&mut tx, Stmt::new(read, (DbId(row),))).await?;
            let Some(Json(mut doc)) = doc else {
                return Ok(false);
            };
            match doc.pointer_mut(d.pointer) {
                Some(v) if v.as_str() == Some(old) => *v = Value::String(new.to_owned()),
                _ => return Ok(false),
            }
            B::exec(&mut tx, Stmt::new(d.write, (Json(doc), DbId(row)))).await?;
            B::commit(tx).await?;
            Ok(true)
        }
    }
}

/// Implements `SealedStore` for a backend's store type (with a `pool`
/// field) by calling this module's functions with `$backend`.
#[macro_export]
macro_rules! impl_sealed_store {
    ($store:ty, $backend:ty) => {
        const _: () = {
            use $crate::sealed::reexports::*;

            #[async_trait]
            impl SealedStore for $store {
                async fn sealed_values(
                    &self,
                    field: SealedField,
                    after: Option<Uuid>,
                    limit: i64,
                ) -> StoreResult<SealedPage> {
                    $crate::sealed::values::<$backend>(&self.pool, field, after, limit).await
                }
                async fn replace_sealed(
                    &self,
                    field: SealedField,
                    row: Uuid,
                    old: &str,
                    new: &str,
                ) -> StoreResult<bool> {
                    $crate::sealed::replace::<$backend>(&self.pool, field, row, old, new).await
                }
            }
        };
    };
}

/// The names [`impl_sealed_store!`](crate::impl_sealed_store) uses
/// (public only for the macro).
pub mod reexports {
    pub use async_trait::async_trait;
    pub use storekeep_store::StoreResult;
    pub use storekeep_store::sealed::{SealedField, SealedPage, SealedStore};
    pub use uuid::Uuid;
}
