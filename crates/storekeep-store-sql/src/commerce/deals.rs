//! Deals.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use storekeep_domain::{CategoryId, Deal, DealId, DealKind, DealTarget, ProductId};
use storekeep_store::StoreError;

use super::corrupt;
use crate::DbId;

pub const DEAL_COLUMNS: &str = "id, name, description, kind, value, target, product_ids, \
     category_ids, code, starts_at, ends_at, max_uses, max_uses_per_customer, max_units, uses, \
     units_sold, active, created_at, updated_at";

#[derive(sqlx::FromRow)]
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
