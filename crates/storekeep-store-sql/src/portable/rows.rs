//! Reading and writing [`super::Row`]s, written once for both drivers by
//! [`portable_rows!`]: the statements are built from the registry, quote
//! every name, and bind `$n` parameters, which both dialects accept.

use super::registry::{Kind, Table};

/// `SELECT` of one shop's rows of `table` (every row when `whole`, for
/// the whole platform), integers widened to 64 bits (PostgreSQL's
/// `integer` columns decode only as `i32`).
fn select_sql(table: &Table, whole: bool) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|(name, kind)| match kind {
            Kind::Int => format!("CAST(\"{name}\" AS BIGINT)"),
            _ => format!("\"{name}\""),
        })
        .collect();
    let filter = if whole {
        String::new()
    } else {
        format!(" WHERE {}", table.filter())
    };
    format!(
        "SELECT {} FROM \"{}\"{filter} ORDER BY {}",
        columns.join(", "),
        table.name,
        table.order
    )
}

/// `INSERT` of one row of `table`.
fn insert_sql(table: &Table) -> String {
    let names: Vec<String> = table
        .columns
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    let params: Vec<String> = (1..=table.columns.len()).map(|i| format!("${i}")).collect();
    format!(
        "INSERT INTO \"{}\" ({}) VALUES ({})",
        table.name,
        names.join(", "),
        params.join(", ")
    )
}

/// The rows of a platform archive that belong to no shop, by table (the
/// condition selecting them): the operators, their recovery codes, the
/// `platform` audit chain, and every plan. Any other row must be one of
/// the archive's shops' own.
fn platform_rows(table: &str) -> Option<&'static str> {
    Some(match table {
        "plans" => "1 = 1",
        "users" => "tenant_id IS NULL",
        "recovery_codes" => "user_id IN (SELECT id FROM users WHERE tenant_id IS NULL)",
        "audit_log" | "audit_heads" => "scope = 'platform'",
        _ => return None,
    })
}

/// `SELECT COUNT(*)` of the rows of `table` that are the shop `$1`'s own:
/// its registry filter, and, for a table reached through a parent that
/// also names a shop, that shop too (a child row naming another shop than
/// its parent's belongs to neither).
fn count_own_sql(table: &Table) -> String {
    let own_column = !matches!(table.scope, super::registry::Scope::Shop)
        && table.columns.iter().any(|(c, _)| *c == "tenant_id");
    let also = if own_column {
        " AND tenant_id = $1"
    } else {
        ""
    };
    format!(
        "SELECT COUNT(*) FROM \"{}\" WHERE ({}){also}",
        table.name,
        table.filter()
    )
}

/// For each table of [`TABLES`](super::TABLES), `wanted` rows against
/// `found`, one phrase per table where they differ (`what` names where
/// the found rows are).
fn differ(wanted: &super::ShopRows, found: impl Fn(&str) -> usize, what: &str) -> Vec<String> {
    super::TABLES
        .iter()
        .filter_map(|table| {
            let w = wanted.tables.get(table.name).map_or(0, Vec::len);
            let f = found(table.name);
            (w != f).then(|| format!("{}: {w} in the archive, {f} {what}", table.name))
        })
        .collect()
}

/// The portable form of an instant: RFC 3339 in UTC, every stored digit.
pub(crate) fn time_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn text(value: &serde_json::Value, kind: Kind) -> Result<&str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("a {} must be a string, not {value}", kind.name()))
}

macro_rules! portable_rows {
    ($module:ident, $db:ty, $conn:ty) => {
        /// Portable rows on this driver.
        pub mod $module {
            use serde_json::Value;
            use sqlx::Row as _;
            use storekeep_store::{StoreError, StoreResult};

            use super::super::registry::{DEFAULT_PLAN_ID, Kind, TABLES, Table};
            use super::super::{Extent, PortableError, Row, ShopRows, parents_first};
            use super::{
                count_own_sql, differ, insert_sql, platform_rows, select_sql, text, time_text,
            };
            use crate::DbId;

            type Query<'q> = sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>;
            type DbRow = <$db as sqlx::Database>::Row;

            fn decode(row: &DbRow, table: &Table) -> Result<Row, sqlx::Error> {
                let mut out = Row::new();
                for (i, (name, kind)) in table.columns.iter().enumerate() {
                    let value = match kind {
                        Kind::Uuid => row
                            .try_get::<Option<DbId>, _>(i)?
                            .map(|id| Value::String(id.0.to_string())),
                        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::String),
                        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
                        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
                        Kind::Time => row
                            .try_get::<Option<chrono::DateTime<chrono::Utc>>, _>(i)?
                            .map(|t| Value::String(time_text(t))),
                        Kind::Date => row
                            .try_get::<Option<chrono::NaiveDate>, _>(i)?
                            .map(|d| Value::String(d.format("%Y-%m-%d").to_string())),
                        Kind::Json => row
                            .try_get::<Option<sqlx::types::Json<Value>>, _>(i)?
                            .map(|j| j.0),
                    };
                    out.insert((*name).to_owned(), value.unwrap_or(Value::Null));
                }
                Ok(out)
            }

            fn bind<'q>(q: Query<'q>, kind: Kind, value: &Value) -> Result<Query<'q>, String> {
                if value.is_null() {
                    return Ok(match kind {
                        Kind::Uuid => q.bind(None::<DbId>),
                        Kind::Text => q.bind(None::<String>),
                        Kind::Int => q.bind(None::<i64>),
                        Kind::Bool => q.bind(None::<bool>),
                        Kind::Time => q.bind(None::<chrono::DateTime<chrono::Utc>>),
                        Kind::Date => q.bind(None::<chrono::NaiveDate>),
                        Kind::Json => q.bind(None::<sqlx::types::Json<Value>>),
                    });
                }
                Ok(match kind {
                    Kind::Uuid => {
                        let id = uuid::Uuid::parse_str(text(value, kind)?)
                            .map_err(|e| format!("not a uuid: {e}"))?;
                        q.bind(DbId(id))
                    }
                    Kind::Text => q.bind(text(value, kind)?.to_owned()),
                    Kind::Int => q.bind(
                        value
                            .as_i64()
                            .ok_or_else(|| format!("an int must be an integer, not {value}"))?,
                    ),
                    Kind::Bool => q.bind(
                        value
                            .as_bool()
                            .ok_or_else(|| format!("a bool must be true or false, not {value}"))?,
                    ),
                    Kind::Time => {
                        let t = chrono::DateTime::parse_from_rfc3339(text(value, kind)?)
                            .map_err(|e| format!("not an RFC 3339 time: {e}"))?;
                        q.bind(t.with_timezone(&chrono::Utc))
                    }
                    Kind::Date => {
                        let d = chrono::NaiveDate::parse_from_str(text(value, kind)?, "%Y-%m-%d")
                            .map_err(|e| format!("not a YYYY-MM-DD date: {e}"))?;
                        q.bind(d)
                    }
                    Kind::Json => q.bind(sqlx::types::Json(value.clone())),
                })
            }

            /// One shop's rows of `table`, or all of them (`None`: the
            /// whole platform).
            pub async fn read_table(
                conn: &mut $conn,
                table: &Table,
                tenant: Option<uuid::Uuid>,
            ) -> StoreResult<Vec<Row>> {
                let sql = select_sql(table, tenant.is_none());
                let q = sqlx::query(&sql);
                let q = match (tenant, table.scope) {
                    (None, _) => q,
                    (Some(t), super::super::registry::Scope::Chain) => q.bind(t.to_string()),
                    (Some(t), _) => q.bind(DbId(t)),
                };
                let rows = q.fetch_all(&mut *conn).await.map_err(StoreError::other)?;
                rows.iter()
                    .map(|r| decode(r, table))
                    .collect::<Result<_, _>>()
                    .map_err(StoreError::other)
            }

            /// The newest migration applied to the database.
            pub async fn schema_version(conn: &mut $conn) -> StoreResult<i64> {
                let v: Option<i64> =
                    sqlx::query_scalar(storekeep_store::maintenance::SCHEMA_VERSION)
                        .fetch_one(&mut *conn)
                        .await
                        .map_err(StoreError::other)?;
                Ok(v.unwrap_or(0))
            }

            /// Every table of the shop `slug`, read on `conn` (the caller's
            /// read transaction, so the rows describe one moment).
            /// `progress` is told each table's name and row count.
            pub async fn read_shop(
                conn: &mut $conn,
                slug: &str,
                mut progress: impl FnMut(&str, usize),
            ) -> Result<ShopRows, PortableError> {
                let id: Option<DbId> = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
                    .bind(slug)
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(StoreError::other)?;
                let Some(DbId(tenant_id)) = id else {
                    return Err(PortableError::Refused(format!("there is no shop '{slug}'")));
                };
                let mut shop = ShopRows {
                    tenant_id,
                    slug: slug.to_owned(),
                    schema_version: schema_version(conn).await?,
                    ..ShopRows::default()
                };
                for table in TABLES {
                    let rows = read_table(conn, table, Some(tenant_id)).await?;
                    progress(table.name, rows.len());
                    shop.tables.insert(table.name.to_owned(), rows);
                }
                Ok(shop)
            }

            /// How many jobs of the shop `tenant` (every job: `None`) are
            /// still to run (available, running or retrying): the queue
            /// does not travel, so an export warns of them.
            pub async fn pending_jobs(
                conn: &mut $conn,
                tenant: Option<uuid::Uuid>,
            ) -> StoreResult<i64> {
                const PENDING: &str =
                    "SELECT COUNT(*) FROM jobs WHERE state IN ('available', 'running', 'retryable')";
                let (own, all) = (format!("{PENDING} AND tenant_id = $1"), PENDING);
                let q = match tenant {
                    Some(t) => sqlx::query_scalar(&own).bind(DbId(t)),
                    None => sqlx::query_scalar(all),
                };
                q.fetch_one(&mut *conn).await.map_err(StoreError::other)
            }

            /// Every row of every table (`export all`), read on `conn`
            /// (the caller's read transaction).
            pub async fn read_all(
                conn: &mut $conn,
                mut progress: impl FnMut(&str, usize),
            ) -> Result<ShopRows, PortableError> {
                let mut all = ShopRows::platform(schema_version(conn).await?);
                for table in TABLES {
                    let rows = read_table(conn, table, None).await?;
                    progress(table.name, rows.len());
                    all.tables.insert(table.name.to_owned(), rows);
                }
                Ok(all)
            }

            /// Why this database is not empty, one sentence naming the
            /// tables that hold rows (`import all` fills only an empty
            /// one: no row in any table the archive carries, except the
            /// built-in `default` plan); `None` when it is empty. One
            /// `LIMIT 1` probe per table: nothing is counted.
            pub async fn occupied(conn: &mut $conn) -> StoreResult<Option<String>> {
                let mut held = Vec::new();
                for table in TABLES {
                    let sql = if table.name == "plans" {
                        format!("SELECT 1 FROM plans WHERE id <> '{DEFAULT_PLAN_ID}' LIMIT 1")
                    } else {
                        format!("SELECT 1 FROM \"{}\" LIMIT 1", table.name)
                    };
                    let any = sqlx::query(&sql)
                        .fetch_optional(&mut *conn)
                        .await
                        .map_err(StoreError::other)?;
                    if any.is_some() {
                        held.push(table.name);
                    }
                }
                Ok((!held.is_empty()).then(|| {
                    format!(
                        "this installation is not empty (it holds rows in: {}); `import all` \
                         fills only an empty installation: no shop, account, plan other than \
                         the built-in `default`, audit entry or any other row an archive carries",
                        held.join(", ")
                    )
                }))
            }

            /// The archive's one `tenants` row, which must be the shop its
            /// manifest names (id and slug), with at most the one plan that
            /// row's `plan_id` names: an archive that holds another shop's
            /// row is refused before anything is written.
            fn the_shop(shop: &ShopRows) -> Result<&Row, PortableError> {
                let refused = |why: String| Err(PortableError::Refused(why));
                let tenants = shop.tables.get("tenants").map_or(&[][..], Vec::as_slice);
                let [tenant] = tenants else {
                    return refused(format!(
                        "the archive must hold exactly one shop (tenants row), it holds {}",
                        tenants.len()
                    ));
                };
                let id = tenant
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| uuid::Uuid::parse_str(s).ok());
                let slug = tenant.get("slug").and_then(Value::as_str);
                if shop.tenant_id.is_nil() {
                    return refused("a shop archive's shop cannot have the nil id".into());
                }
                if id != Some(shop.tenant_id) || slug != Some(shop.slug.as_str()) {
                    return refused(format!(
                        "the archive's tenants row is not the shop its manifest names ({} '{}')",
                        shop.tenant_id, shop.slug
                    ));
                }
                let plans = shop.tables.get("plans").map_or(&[][..], Vec::as_slice);
                let uuid_of = |row: &Row, column: &str| {
                    row.get(column)
                        .and_then(Value::as_str)
                        .and_then(|s| uuid::Uuid::parse_str(s).ok())
                };
                let plan_id = uuid_of(tenant, "plan_id");
                match plans {
                    [] => {}
                    [plan] if plan_id.is_some() && uuid_of(plan, "id") == plan_id => {}
                    _ => {
                        return refused(
                            "the archive's plans are not the one plan its shop is on".into(),
                        );
                    }
                }
                Ok(tenant)
            }

            async fn taken(
                conn: &mut $conn,
                sql: &str,
                value: Value,
                kind: Kind,
            ) -> StoreResult<Option<String>> {
                let q = bind(sqlx::query(sql), kind, &value)
                    .map_err(|e| StoreError::Other(e.into()))?;
                let row = q
                    .fetch_optional(&mut *conn)
                    .await
                    .map_err(StoreError::other)?;
                Ok(match row {
                    Some(row) => Some(row.try_get::<String, _>(0).map_err(StoreError::other)?),
                    None => None,
                })
            }

            /// What in this database the archive clashes with, one sentence
            /// each; empty when it can be written. A shop: its id, slug or
            /// a domain taken, its plan's name used by another plan. The
            /// platform: why this database is not empty ([`occupied`]).
            pub async fn clashes(
                conn: &mut $conn,
                shop: &ShopRows,
                extent: Extent,
            ) -> Result<Vec<String>, PortableError> {
                if extent == Extent::Platform {
                    return Ok(occupied(conn).await?.into_iter().collect());
                }
                let mut out = Vec::new();
                let empty = Vec::new();
                let rows = |name: &str| shop.tables.get(name).unwrap_or(&empty);
                let tenant = the_shop(shop)?;
                let id = tenant.get("id").cloned().unwrap_or_default();
                if let Some(slug) = taken(
                    conn,
                    "SELECT slug FROM tenants WHERE id = $1",
                    id.clone(),
                    Kind::Uuid,
                )
                .await?
                {
                    out.push(format!(
                        "a shop with the id {} is already here (slug '{slug}')",
                        id.as_str().unwrap_or("?")
                    ));
                }
                let slug = tenant.get("slug").cloned().unwrap_or_default();
                if taken(
                    conn,
                    "SELECT slug FROM tenants WHERE slug = $1",
                    slug.clone(),
                    Kind::Text,
                )
                .await?
                .is_some()
                {
                    out.push(format!(
                        "the slug '{}' is taken by a shop here",
                        slug.as_str().unwrap_or("?")
                    ));
                }
                for domain in rows("tenant_domains") {
                    let name = domain.get("domain").cloned().unwrap_or_default();
                    if taken(
                        conn,
                        "SELECT domain FROM tenant_domains WHERE domain = $1",
                        name.clone(),
                        Kind::Text,
                    )
                    .await?
                    .is_some()
                    {
                        out.push(format!(
                            "the domain {} is taken by a shop here",
                            name.as_str().unwrap_or("?")
                        ));
                    }
                }
                for plan in rows("plans") {
                    let id = plan.get("id").cloned().unwrap_or_default();
                    let name = plan.get("name").cloned().unwrap_or_default();
                    let name = name.as_str().unwrap_or("?");
                    match taken(
                        conn,
                        "SELECT name FROM plans WHERE id = $1",
                        id.clone(),
                        Kind::Uuid,
                    )
                    .await?
                    {
                        Some(here) if here != name => out.push(format!(
                            "the shop's plan {} is named '{name}' in the archive but '{here}' here",
                            id.as_str().unwrap_or("?")
                        )),
                        Some(_) => {}
                        None => {
                            if taken(
                                conn,
                                "SELECT name FROM plans WHERE name = $1",
                                Value::from(name),
                                Kind::Text,
                            )
                            .await?
                            .is_some()
                            {
                                out.push(format!(
                                    "a plan named '{name}' is here with another id than the shop's"
                                ));
                            }
                        }
                    }
                }
                Ok(out)
            }

            /// Inserts `rows` into `table`; a value of the wrong type or a
            /// row the database refuses is a refusal naming the table.
            async fn insert_rows(
                conn: &mut $conn,
                table: &Table,
                rows: &[Row],
            ) -> Result<(), PortableError> {
                let sql = insert_sql(table);
                for (n, row) in rows.iter().enumerate() {
                    let mut q = sqlx::query(&sql);
                    for (name, kind) in table.columns {
                        let value = row.get(*name).unwrap_or(&Value::Null);
                        q = bind(q, *kind, value).map_err(|e| {
                            PortableError::Refused(format!(
                                "{}: row {} column {name}: {e}",
                                table.name,
                                n + 1
                            ))
                        })?;
                    }
                    q.execute(&mut *conn).await.map_err(|e| match e {
                        sqlx::Error::Database(db) => PortableError::Refused(format!(
                            "{}: row {} cannot be written here: {}",
                            table.name,
                            n + 1,
                            db.message()
                        )),
                        e => PortableError::Store(StoreError::other(e)),
                    })?;
                }
                Ok(())
            }

            /// Writes the whole platform on `conn` (the caller's write
            /// transaction, which it rolls back on an error): refused
            /// unless this database is empty ([`occupied`]). The archive's
            /// plans replace the built-in `default` plan the migrations
            /// made (the archive must hold its own: `read_archive_of`).
            /// Before the caller commits, every row must be one of the
            /// archive's shops' own or a platform row, and every audit
            /// head its chain's last entry.
            pub async fn write_all(
                conn: &mut $conn,
                all: &ShopRows,
                mut progress: impl FnMut(&str, usize),
            ) -> Result<(), PortableError> {
                if let Some(why) = occupied(conn).await? {
                    return Err(PortableError::Refused(why));
                }
                if all.tables.get("plans").into_iter().flatten().any(|p| {
                    p.get("id").and_then(Value::as_str) == Some(DEFAULT_PLAN_ID)
                }) {
                    sqlx::query(&format!("DELETE FROM plans WHERE id = '{DEFAULT_PLAN_ID}'"))
                        .execute(&mut *conn)
                        .await
                        .map_err(StoreError::other)?;
                }
                for table in TABLES {
                    let Some(rows) = all.tables.get(table.name) else {
                        return Err(PortableError::Refused(format!(
                            "the archive lacks the table {}",
                            table.name
                        )));
                    };
                    insert_rows(conn, table, &parents_first(table.name, rows)).await?;
                    progress(table.name, rows.len());
                }
                foreign_rows(conn, all).await?;
                audit_heads_match(conn).await?;
                Ok(())
            }

            /// Refuses when a written platform holds a row that is neither
            /// one of the archive's shops' own (its registry filter, with
            /// `$1` each `tenants` row's id in turn) nor a platform row
            /// ([`platform_rows`]): a row naming a shop the archive does not
            /// hold, or a child row naming another shop than its parent.
            async fn foreign_rows(conn: &mut $conn, all: &ShopRows) -> Result<(), PortableError> {
                let tenants: Vec<DbId> = sqlx::query_scalar("SELECT id FROM tenants")
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(StoreError::other)?;
                let mut found = std::collections::BTreeMap::new();
                for table in TABLES {
                    let mut n: i64 = 0;
                    if let Some(cond) = platform_rows(table.name) {
                        let sql = format!("SELECT COUNT(*) FROM \"{}\" WHERE {cond}", table.name);
                        n += sqlx::query_scalar::<_, i64>(&sql)
                            .fetch_one(&mut *conn)
                            .await
                            .map_err(StoreError::other)?;
                    }
                    if table.name != "plans" {
                        let sql = count_own_sql(table);
                        for tenant in &tenants {
                            let q = sqlx::query_scalar::<_, i64>(&sql);
                            let q = match table.scope {
                                super::super::registry::Scope::Chain => q.bind(tenant.0.to_string()),
                                _ => q.bind(DbId(tenant.0)),
                            };
                            n += q.fetch_one(&mut *conn).await.map_err(StoreError::other)?;
                        }
                    }
                    found.insert(table.name, usize::try_from(n).unwrap_or(0));
                }
                let differ = differ(all, |t| found.get(t).copied().unwrap_or(0), "of its shops' own or the platform's");
                if differ.is_empty() {
                    return Ok(());
                }
                Err(PortableError::Refused(format!(
                    "the archive holds rows that belong to none of its shops, or to another shop than their parent's ({}); nothing was written",
                    differ.join(", ")
                )))
            }

            /// Refuses unless every audit chain has a head, and every head
            /// is its chain's last entry (the highest `seq`, the same
            /// hash): the next audited write continues from the head.
            async fn audit_heads_match(conn: &mut $conn) -> Result<(), PortableError> {
                let bad: Vec<String> = sqlx::query_scalar(
                    "SELECT h.scope FROM audit_heads h WHERE NOT EXISTS (\
                       SELECT 1 FROM audit_log l WHERE l.scope = h.scope AND l.seq = h.seq \
                       AND l.hash = h.hash \
                       AND l.seq = (SELECT MAX(m.seq) FROM audit_log m WHERE m.scope = h.scope)) \
                     UNION SELECT DISTINCT l.scope FROM audit_log l WHERE NOT EXISTS (\
                       SELECT 1 FROM audit_heads h WHERE h.scope = l.scope) \
                     ORDER BY 1",
                )
                .fetch_all(&mut *conn)
                .await
                .map_err(StoreError::other)?;
                if bad.is_empty() {
                    return Ok(());
                }
                Err(PortableError::Refused(format!(
                    "the archive's audit heads do not match their chains' last entries (scopes: {}); nothing was written",
                    bad.join(", ")
                )))
            }

            /// Writes the shop on `conn` (the caller's write transaction,
            /// which it rolls back on an error): refused when it
            /// [`clashes`]; the shop's plan is written only if this
            /// database lacks it.
            pub async fn write_shop(
                conn: &mut $conn,
                shop: &ShopRows,
                mut progress: impl FnMut(&str, usize),
            ) -> Result<(), PortableError> {
                let clashes = clashes(conn, shop, Extent::Shop).await?;
                if !clashes.is_empty() {
                    return Err(PortableError::Refused(clashes.join("; ")));
                }
                for table in TABLES {
                    let Some(rows) = shop.tables.get(table.name) else {
                        return Err(PortableError::Refused(format!(
                            "the archive lacks the table {}",
                            table.name
                        )));
                    };
                    let mut rows = parents_first(table.name, rows);
                    if table.name == "plans" {
                        let mut missing = Vec::new();
                        for plan in rows {
                            let id = plan.get("id").cloned().unwrap_or_default();
                            if taken(conn, "SELECT name FROM plans WHERE id = $1", id, Kind::Uuid)
                                .await?
                                .is_none()
                            {
                                missing.push(plan);
                            }
                        }
                        rows = missing;
                    }
                    insert_rows(conn, table, &rows).await?;
                    progress(table.name, rows.len());
                }
                let back = read_shop(conn, &shop.slug, |_, _| {}).await?;
                let found = |t: &str| back.tables.get(t).map_or(0, Vec::len);
                let differ = differ(shop, found, "of the shop's");
                if back.tenant_id != shop.tenant_id || !differ.is_empty() {
                    return Err(PortableError::Refused(format!(
                        "the archive holds rows that are not the shop's own ({}); nothing was written",
                        differ.join(", ")
                    )));
                }
                Ok(())
            }

            /// Writes the archive of `extent` on `conn` (the caller's write
            /// transaction): [`write_shop`] or [`write_all`].
            pub async fn write(
                conn: &mut $conn,
                rows: &ShopRows,
                extent: Extent,
                progress: impl FnMut(&str, usize),
            ) -> Result<(), PortableError> {
                match extent {
                    Extent::Shop => write_shop(conn, rows, progress).await,
                    Extent::Platform => write_all(conn, rows, progress).await,
                }
            }
        }
    };
}

portable_rows!(sqlite, sqlx::Sqlite, sqlx::SqliteConnection);
portable_rows!(postgres, sqlx::Postgres, sqlx::PgConnection);
