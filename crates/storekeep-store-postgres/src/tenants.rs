//! Tenants' PostgreSQL dialect: how domains are folded and filed. The
//! store functions are written once in `storekeep_store_sql::tenants`.

use storekeep_domain::DomainName;
use storekeep_store::StoreResult;
use storekeep_store::rules::platform::{FIELD_DOMAINS, FIELD_SLUG};
use storekeep_store_sql::DbId;
use storekeep_store_sql::platform::TenantStatements;
use storekeep_store_sql::stmt::Stmt;

use crate::Conn;
use crate::error;

/// The unique constraint a taken slug or domain violates.
pub(crate) const UNIQUES: &[(&str, &str)] = &[
    ("tenants_slug_key", FIELD_SLUG),
    ("tenant_domains_pkey", FIELD_DOMAINS),
];

/// A tenant's domains, folded into one column.
pub(crate) const STATEMENTS: TenantStatements =
    storekeep_store_sql::tenant_statements!("string_agg(d.domain, ' ' ORDER BY d.domain)");

/// One insert for all the domains.
pub(crate) async fn insert_domains(
    conn: &mut Conn,
    tenant: DbId,
    domains: &[DomainName],
) -> StoreResult<()> {
    let names: Vec<&str> = domains.iter().map(DomainName::as_str).collect();
    Stmt::new(
        "INSERT INTO tenant_domains (domain, tenant_id) SELECT unnest($1::text[]), $2",
        (&names, tenant),
    )
    .query()
    .execute(conn)
    .await
    .map_err(|e| error::map(e, UNIQUES))?;
    Ok(())
}
