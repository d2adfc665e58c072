//! Tenants' SQLite dialect: how domains are folded and filed. The store
//! functions are written once in `storekeep_store_sql::tenants`.

use storekeep_domain::DomainName;
use storekeep_store::StoreResult;
use storekeep_store::rules::platform::{FIELD_DOMAINS, FIELD_SLUG};
use storekeep_store_sql::DbId;
use storekeep_store_sql::platform::TenantStatements;
use storekeep_store_sql::stmt::Stmt;

use crate::Conn;
use crate::error;

/// SQLite names the unique column a taken slug or domain violates.
pub(crate) const UNIQUES: &[(&str, &str)] = &[
    ("tenants.slug", FIELD_SLUG),
    ("tenant_domains.domain", FIELD_DOMAINS),
];

/// A tenant's domains, folded (in any order) into one column.
pub(crate) const STATEMENTS: TenantStatements =
    storekeep_store_sql::tenant_statements!("group_concat(d.domain, ' ')");

/// One insert per domain (a tenant has a handful).
pub(crate) async fn insert_domains(
    conn: &mut Conn,
    tenant: DbId,
    domains: &[DomainName],
) -> StoreResult<()> {
    for d in domains {
        Stmt::new(
            "INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)",
            (d.as_str(), tenant),
        )
        .query()
        .execute(&mut *conn)
        .await
        .map_err(|e| error::map(e, UNIQUES))?;
    }
    Ok(())
}
