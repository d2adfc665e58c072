//! Deals.

use chrono::{DateTime, Utc};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Database, Encode, Type};
use storekeep_domain::{CategoryId, Deal, DealId, DealKind, DealTarget, NewDeal, ProductId};
use storekeep_store::StoreError;

use super::corrupt;
use crate::DbId;

pub const DEAL_COLUMNS: &str = "id, name, description, kind, value, target, product_ids, \
     category_ids, code, starts_at, ends_at, max_uses, max_uses_per_customer, max_units, uses, \
     units_sold, active, created_at, updated_at";

#[derive(sqlx::FromRow, serde::Deserialize)]
pub struct DealRow {
    pub id: DbId,
    pub name: String,
    pub description: String,
    pub kind: String,
    pub value: i64,
    pub target: String,
    pub product_ids: Json<Vec<ProductId>>,
    pub category_ids: Json<Vec<CategoryId>>,
    pub code: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub max_uses: Option<i64>,
    pub max_uses_per_customer: Option<i64>,
    pub max_units: Option<i64>,
    pub uses: i64,
    pub units_sold: i64,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<DealRow> for Deal {
    type Error = StoreError;
    fn try_from(r: DealRow) -> Result<Self, StoreError> {
        Ok(Deal {
            id: DealId(r.id.0),
            name: r.name,
            description: r.description,
            kind: DealKind::parse(&r.kind).ok_or_else(|| corrupt("deal kind", &r.kind))?,
            value: r.value,
            target: DealTarget::parse(&r.target)
                .ok_or_else(|| corrupt("deal target", &r.target))?,
            product_ids: r.product_ids.0,
            category_ids: r.category_ids.0,
            code: r.code,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            max_uses: r.max_uses,
            max_uses_per_customer: r.max_uses_per_customer,
            max_units: r.max_units,
            uses: r.uses,
            units_sold: r.units_sold,
            active: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// Binds a deal's fields in column order, `name` … `active` (`$3`…`$16`
/// of [`sql::INSERT_DEAL`](super::sql::INSERT_DEAL), `$1`…`$14` of
/// [`sql::UPDATE_DEAL`](super::sql::UPDATE_DEAL)), the same on both
/// databases.
pub fn bind_deal<'q, DB>(
    q: Query<'q, DB, <DB as Database>::Arguments<'q>>,
    deal: &'q NewDeal,
) -> Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    DB: Database,
    &'q str: Encode<'q, DB> + Type<DB>,
    i64: Encode<'q, DB> + Type<DB>,
    bool: Encode<'q, DB> + Type<DB>,
    Option<&'q str>: Encode<'q, DB> + Type<DB>,
    Option<i64>: Encode<'q, DB> + Type<DB>,
    Option<DateTime<Utc>>: Encode<'q, DB> + Type<DB>,
    Json<&'q Vec<ProductId>>: Encode<'q, DB> + Type<DB>,
    Json<&'q Vec<CategoryId>>: Encode<'q, DB> + Type<DB>,
{
    q.bind(deal.name.as_str())
        .bind(deal.description.as_str())
        .bind(deal.kind.as_str())
        .bind(deal.value)
        .bind(deal.target.as_str())
        .bind(Json(&deal.product_ids))
        .bind(Json(&deal.category_ids))
        .bind(deal.code.as_deref())
        .bind(deal.starts_at)
        .bind(deal.ends_at)
        .bind(deal.max_uses)
        .bind(deal.max_uses_per_customer)
        .bind(deal.max_units)
        .bind(deal.active)
}
