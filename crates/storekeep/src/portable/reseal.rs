//! `storekeep import shop FILE --source-keys KEYFILE`: a shop moved into
//! an installation whose encryption keys are not the source's (one that
//! holds other shops cannot adopt another installation's keys).
//!
//! In memory, after the archive is checked and before the one
//! transaction, every sealed value the registry lists
//! (`storekeep_store_sql::portable::sealed`) is opened with the source's
//! keys and sealed again, in the same keyring context, with this
//! installation's newest key; every blind index is recomputed with this
//! installation's blind-index key from the value it indexes (checked
//! first against the source's blind-index key), and every key built from
//! one (a guest's coupon-cap key) becomes its own row's new index (its
//! order's; refused if it was not that index; an erased order's marker if
//! the order was erased). The archive file is never changed. Then every string of every row — the audit log's entries
//! included — is searched for a sealed value (`v1.<kid>.…`, whatever the
//! key id, anywhere inside the string) that this re-seal did not write,
//! and for a source blind index: any left refuses the import (the
//! registry would lack a place; an audit entry cannot be re-sealed
//! without breaking its hash chain, and none holds such a value today).
//!
//! Erased values stay erased: an erasure overwrites the sealed values
//! with sealed placeholders (re-sealed like any value, they open to the
//! placeholder) or NULL (left NULL), and its marker in place of an email
//! index (`rules::privacy::ERASED_INDEX_PREFIX`) is kept as it is. See
//! docs/export.md.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{Context as _, anyhow, bail};
use serde_json::Value;
use storekeep_store::rules::privacy::is_erased_index;
use storekeep_store_sql::portable::sealed::{DERIVED, INDEXED, SEALED, Sealed};
use storekeep_store_sql::portable::{Row, ShopRows};

use crate::crypto::Keyring;

/// What `--source-keys` names: a TOML file with an `[encryption]` section
/// in the configuration's own syntax (`keys` and `blind_index_key`, or
/// their `keys_file` / `blind_index_key_file` forms, a relative path being
/// relative to the key file's folder), such as the source installation's
/// configuration file; nothing else in it is read or checked. The keys
/// are kept in memory only and never printed.
pub fn source_keys(path: &Path) -> anyhow::Result<Keyring> {
    let at = |m: String| anyhow!("--source-keys {}: {m}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(format!("cannot read: {e}")))?;
    // toml's own message quotes the offending line, which may hold a key.
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| at(crate::config::load::toml_problem(&text, &e)))?;
    let encryption = table.get("encryption").and_then(toml::Value::as_table);
    let folder = path.parent().unwrap_or(Path::new(""));
    let setting = |name: &str| -> anyhow::Result<Option<String>> {
        let Some(encryption) = encryption else {
            return Ok(None);
        };
        let file_name = format!("{name}_file");
        let string = |key: &str, value: &toml::Value| {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| at(format!("encryption.{key} must be a string")))
        };
        match (encryption.get(name), encryption.get(&file_name)) {
            (Some(_), Some(_)) => Err(at(format!(
                "encryption.{name} and encryption.{file_name} are both set; keep one"
            ))),
            (Some(value), None) => string(name, value).map(Some),
            (None, Some(value)) => {
                let file = folder.join(string(&file_name, value)?.trim());
                let secret = std::fs::read_to_string(&file).with_context(|| {
                    format!(
                        "--source-keys {}: encryption.{file_name}: cannot read {}",
                        path.display(),
                        file.display()
                    )
                })?;
                Ok(Some(secret.trim_end_matches(['\n', '\r']).to_owned()))
            }
            (None, None) => Ok(None),
        }
    };
    match (setting("keys")?, setting("blind_index_key")?) {
        (Some(keys), Some(index)) => {
            Keyring::parse(&keys, &index).map_err(|m| at(format!("encryption: {m}")))
        }
        _ => Err(at(
            "names no encryption keys: write the source installation's \
             [encryption] keys and blind_index_key in it (see docs/export.md)"
                .to_owned(),
        )),
    }
}

/// What a re-seal changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Resealed {
    /// Sealed values opened with the source's keys and sealed again.
    pub values: u64,
    /// Blind indexes (and keys built from them) recomputed.
    pub indexes: u64,
}

fn text<'r>(row: &'r Row, column: &str) -> Option<&'r str> {
    row.get(column).and_then(Value::as_str)
}

/// The keyring context of `s`'s value in the row whose owner column is
/// `owner`: the services' `*_context(owner)` (a unit test keeps them one).
fn context(s: &Sealed, owner: &str) -> String {
    format!("{}:{owner}", s.context)
}

/// What each refusal of a re-seal asks for.
const SOURCE_KEYS: &str = "--source-keys must name the encryption keys and blind-index key \
     of the installation that exported the shop";

/// Re-seals `shop`'s rows (read from an archive) from the `source` keys
/// to the `target` keys, as the module says. Refused, with the rows left
/// half-changed (the caller then writes nothing), when a value does not
/// open with the source's keys, an index is not the source's, a key built
/// from an index is not its row's, or a sealed value this re-seal did not
/// write or a source index is left anywhere.
pub fn reseal(source: &Keyring, target: &Keyring, shop: &mut ShopRows) -> anyhow::Result<Resealed> {
    let mut done = Resealed::default();
    // The values this re-seal wrote, and each source index → its new one.
    let mut fresh: HashSet<String> = HashSet::new();
    let mut indexes: HashMap<String, String> = HashMap::new();
    // Each indexed row's (table, index column, id) → (stored, new) index;
    // an erasure's marker is both.
    let mut of_row: HashMap<(&str, &str, String), (String, String)> = HashMap::new();
    for (table, rows) in &mut shop.tables {
        let sealed: Vec<_> = SEALED
            .iter()
            .filter(|s| s.table == table.as_str())
            .collect();
        let indexed: Vec<_> = INDEXED
            .iter()
            .filter(|i| i.table == table.as_str())
            .collect();
        if sealed.is_empty() && indexed.is_empty() {
            continue;
        }
        for row in rows.iter_mut() {
            let id = text(row, "id").unwrap_or("?").to_owned();
            // The plaintext of each sealed column of this row, for its index.
            let mut plain: HashMap<&str, String> = HashMap::new();
            for s in &sealed {
                let owner = text(row, s.owner)
                    .ok_or_else(|| anyhow!("refused: {table} row {id} lacks its {}", s.owner))?
                    .to_owned();
                let context = context(s, &owner);
                let slot = match s.pointer {
                    None => row.get_mut(s.column),
                    Some(at) => row.get_mut(s.column).and_then(|doc| doc.pointer_mut(at)),
                };
                let Some(slot) = slot else { continue };
                let old = match slot {
                    Value::Null => continue,
                    Value::String(old) => old.as_str(),
                    _ => bail!("refused: {} of row {id} is not a sealed value", s.name()),
                };
                let opened = source.open(old, &context).map_err(|e| {
                    anyhow!(
                        "refused: the source keys cannot open {} of row {id} ({e}): {SOURCE_KEYS}",
                        s.name()
                    )
                })?;
                let new = target.seal(&opened, &context);
                fresh.insert(new.clone());
                *slot = Value::String(new);
                done.values += 1;
                if s.pointer.is_none() {
                    plain.insert(s.column, opened);
                }
            }
            for i in &indexed {
                let Some(old) = text(row, i.column) else {
                    continue;
                };
                if old.starts_with(i.kept_prefix) {
                    of_row.insert((i.table, i.column, id.clone()), (old.into(), old.into()));
                    continue;
                }
                let value = plain.get(i.of).ok_or_else(|| {
                    anyhow!(
                        "refused: {table} row {id} has an {} but no {}",
                        i.column,
                        i.of
                    )
                })?;
                if source.blind_index(i.purpose, value) != old {
                    bail!(
                        "refused: the source's blind-index key does not give the stored \
                         {table}.{} of row {id}: {SOURCE_KEYS}",
                        i.column
                    );
                }
                let new = target.blind_index(i.purpose, value);
                indexes.insert(old.to_owned(), new.clone());
                of_row.insert((i.table, i.column, id.clone()), (old.into(), new.clone()));
                row.insert(i.column.to_owned(), Value::String(new));
                done.indexes += 1;
            }
        }
    }
    for d in DERIVED {
        for row in shop.tables.get_mut(d.table).into_iter().flatten() {
            let Some(index) = text(row, d.column).and_then(|v| v.strip_prefix(d.prefix)) else {
                continue;
            };
            if is_erased_index(index) {
                continue;
            }
            let of = text(row, d.row).unwrap_or("?").to_owned();
            let Some((stored, new)) = of_row.get(&(d.from_table, d.from, of.clone())) else {
                bail!(
                    "refused: {}.{} of {} {of} is built from an index, but the archive holds \
                     no {} row {of} with an {}",
                    d.table,
                    d.column,
                    d.row,
                    d.from_table,
                    d.from
                );
            };
            let key = if is_erased_index(stored) {
                // Its row was erased after the key was written: the key
                // becomes the row's erasure marker, as an erasure of the
                // row by email writes it (services/privacy), so the use
                // counts towards nobody's cap.
                stored.clone()
            } else if stored == index {
                format!("{}{new}", d.prefix)
            } else {
                bail!(
                    "refused: {}.{} of {} {of} is not built from its {} row's {} \
                     (inconsistent data: re-sealing it would drop that customer's cap)",
                    d.table,
                    d.column,
                    d.row,
                    d.from_table,
                    d.from
                );
            };
            row.insert(d.column.to_owned(), Value::String(key));
            done.indexes += 1;
        }
    }
    let new_indexes: HashSet<&String> = indexes.values().collect();
    let stale: HashSet<&str> = indexes
        .keys()
        .filter(|old| !new_indexes.contains(old))
        .map(String::as_str)
        .collect();
    leftovers(shop, &fresh, &stale)?;
    Ok(done)
}

/// The shortest text after `v1.<kid>.` of a sealed value: a nonce and a
/// tag (28 bytes) in unpadded base64url.
const SEALED_BODY_MIN: usize = 38;

fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Every substring of `s` shaped like a sealed value (`Keyring::seal`'s
/// `v1.<kid>.<base64url>`, any key id of 1 to 32 characters), wherever it
/// starts and whatever follows it.
fn sealed_in(s: &str) -> impl Iterator<Item = &str> {
    s.match_indices("v1.").filter_map(move |(at, _)| {
        let rest = &s.as_bytes()[at + 3..];
        let kid = rest.iter().take_while(|b| base64url(**b)).count();
        if kid == 0 || kid > 32 || rest.get(kid) != Some(&b'.') {
            return None;
        }
        let body = rest[kid + 1..]
            .iter()
            .take_while(|b| base64url(**b))
            .count();
        (body >= SEALED_BODY_MIN).then(|| &s[at..at + 3 + kid + 1 + body])
    })
}

/// Refuses when any string of any row holds, anywhere in it, a sealed
/// value this re-seal did not write (`fresh`), whichever key sealed it, or
/// a source blind index (`stale`, alone or inside a key such as
/// `email:<index>`).
fn leftovers(
    shop: &ShopRows,
    fresh: &HashSet<String>,
    stale: &HashSet<&str>,
) -> anyhow::Result<()> {
    let left = |s: &str| {
        sealed_in(s).any(|v| !fresh.contains(v))
            || s.split(|c: char| !(c.is_ascii() && base64url(c as u8)))
                .any(|word| stale.contains(word))
    };
    for (table, rows) in &shop.tables {
        for row in rows {
            for (column, value) in row {
                if !any_string(value, &left) {
                    continue;
                }
                if table.starts_with("audit_") {
                    bail!(
                        "refused: the shop's {table}.{column} holds a sealed value (or one of the \
                         source's blind indexes); audit entries are hash-chained, so it cannot be \
                         re-sealed without breaking `audit verify`: import into an installation \
                         that runs with the source's keys instead"
                    );
                }
                bail!(
                    "refused: {table}.{column} holds a sealed value (or one of the source's blind \
                     indexes) that the re-seal does not know \
                     (storekeep_store_sql::portable::sealed does not list it)"
                );
            }
        }
    }
    Ok(())
}

/// Whether `found` holds for a string anywhere in `value`.
fn any_string(value: &Value, found: &impl Fn(&str) -> bool) -> bool {
    match value {
        Value::String(s) => found(s),
        Value::Array(items) => items.iter().any(|v| any_string(v, found)),
        Value::Object(map) => map.iter().any(|(k, v)| found(k) || any_string(v, found)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;
    use storekeep_domain::{OrderId, TenantId, UserId, WebhookEndpointId};

    use super::*;
    use crate::services;

    const K1: (&str, &str) = (
        "src1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
    );
    const K2: (&str, &str) = (
        "dst1:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=",
        "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8=",
    );
    /// A third installation's keys.
    const K3: (&str, &str) = (
        "other:gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8=",
        "oKGio6SlpqeoqaqrrK2ur7CxsrO0tba3uLm6u7y9vr8=",
    );

    fn ring((keys, index): (&str, &str)) -> Keyring {
        Keyring::parse(keys, index).unwrap()
    }

    fn row(value: Value) -> Row {
        value.as_object().unwrap().clone()
    }

    /// A shop with a customer, an erased customer, a guest order with a
    /// coupon use, an erased guest order whose coupon use still has its
    /// key (an erasure that left it) and one whose key is the order's
    /// marker (as an erasure by email writes it), a customer's coupon use,
    /// a DKIM key and a product text that merely mentions "v1.".
    fn shop(k: &Keyring) -> ShopRows {
        let (user, erased, order, tenant) = ("u1", "u2", "o1", "t1");
        let mut tables = BTreeMap::new();
        tables.insert(
            "users".to_owned(),
            vec![
                row(json!({
                    "id": user,
                    "email_sealed": k.seal("ada@example.com", &format!("users.email:{user}")),
                    "email_index": k.blind_index("email", "ada@example.com"),
                    "name_sealed": k.seal("Ada", &format!("users.name:{user}")),
                    "phone_sealed": null,
                    "totp_sealed": k.seal("JBSWY3DP", &format!("users.totp:{user}")),
                    "totp_pending_sealed": null,
                })),
                row(json!({
                    "id": erased,
                    "email_sealed": k.seal("erased+u2@erased.invalid", &format!("users.email:{erased}")),
                    "email_index": "erased:u2",
                    "name_sealed": null, "phone_sealed": null,
                    "totp_sealed": null, "totp_pending_sealed": null,
                })),
            ],
        );
        tables.insert(
            "orders".to_owned(),
            vec![
                row(json!({
                    "id": order,
                    "email_sealed": k.seal("guest@example.com", &format!("orders.email:{order}")),
                    "email_index": k.blind_index("email", "guest@example.com"),
                    "address_sealed": k.seal("{\"line1\":\"1 Road\"}", &format!("orders.address:{order}")),
                })),
                row(json!({
                    "id": "o2",
                    "email_sealed": k.seal("erased@erased.invalid", "orders.email:o2"),
                    "email_index": "erased:o2",
                    "address_sealed": null,
                })),
                row(json!({
                    "id": "o4",
                    "email_sealed": k.seal("erased@erased.invalid", "orders.email:o4"),
                    "email_index": "erased:o4",
                    "address_sealed": null,
                })),
            ],
        );
        tables.insert(
            "deal_uses".to_owned(),
            vec![
                row(json!({
                    "order_id": order,
                    "customer_key": format!("email:{}", k.blind_index("email", "guest@example.com")),
                })),
                row(json!({
                    "order_id": "o2",
                    "customer_key": format!("email:{}", k.blind_index("email", "gone@example.com")),
                })),
                row(json!({"order_id": "o3", "customer_key": "user:u1"})),
                row(json!({"order_id": "o4", "customer_key": "erased:o4"})),
            ],
        );
        tables.insert(
            "tenants".to_owned(),
            vec![row(json!({
                "id": tenant,
                "settings": {"currency": "EUR", "email_dkim": {
                    "selector": "sk1",
                    "key_sealed": k.seal("PEM", &format!("tenants.email_dkim:{tenant}")),
                }},
            }))],
        );
        tables.insert(
            "products".to_owned(),
            vec![row(json!({
                "id": "p1",
                "description": "Firmware v1.2.3 (see v1.changes.txt); api/v1.k20260101.",
            }))],
        );
        tables.insert(
            "audit_log".to_owned(),
            vec![row(
                json!({"scope": tenant, "after": {"id": user, "kind": "customer"}}),
            )],
        );
        ShopRows {
            tables,
            ..ShopRows::default()
        }
    }

    fn get<'a>(shop: &'a ShopRows, table: &str, n: usize, column: &str) -> &'a str {
        text(&shop.tables[table][n], column).unwrap()
    }

    fn refusal(source: &Keyring, target: &Keyring, mut shop: ShopRows) -> String {
        reseal(source, target, &mut shop).unwrap_err().to_string()
    }

    #[test]
    fn every_value_opens_with_the_target_keys_and_indexes_are_the_targets() {
        let (k1, k2) = (ring(K1), ring(K2));
        let mut moved = shop(&k1);
        let done = reseal(&k1, &k2, &mut moved).unwrap();
        assert_eq!(
            done,
            Resealed {
                values: 9,
                indexes: 4
            }
        );
        let email = get(&moved, "users", 0, "email_sealed");
        assert_eq!(Keyring::key_id_of(email), Some("dst1"));
        assert_eq!(k2.open(email, "users.email:u1").unwrap(), "ada@example.com");
        assert_eq!(
            get(&moved, "users", 0, "email_index"),
            k2.blind_index("email", "ada@example.com")
        );
        let totp = get(&moved, "users", 0, "totp_sealed");
        assert_eq!(k2.open(totp, "users.totp:u1").unwrap(), "JBSWY3DP");
        let dkim = moved.tables["tenants"][0]["settings"]
            .pointer("/email_dkim/key_sealed")
            .and_then(Value::as_str)
            .unwrap();
        assert_eq!(k2.open(dkim, "tenants.email_dkim:t1").unwrap(), "PEM");
        // An erasure stays one: the placeholder, the marker, the NULLs.
        assert_eq!(get(&moved, "users", 1, "email_index"), "erased:u2");
        let placeholder = get(&moved, "users", 1, "email_sealed");
        assert_eq!(
            k2.open(placeholder, "users.email:u2").unwrap(),
            "erased+u2@erased.invalid"
        );
        assert!(moved.tables["users"][1]["name_sealed"].is_null());
        assert_eq!(get(&moved, "orders", 1, "email_index"), "erased:o2");
        // A guest's coupon-cap key follows its order's index; an erased
        // order's becomes the order's marker, as an erasure by email
        // writes it; other keys are left.
        assert_eq!(
            get(&moved, "deal_uses", 0, "customer_key"),
            format!("email:{}", k2.blind_index("email", "guest@example.com"))
        );
        assert_eq!(get(&moved, "deal_uses", 1, "customer_key"), "erased:o2");
        assert_eq!(get(&moved, "deal_uses", 2, "customer_key"), "user:u1");
        assert_eq!(get(&moved, "deal_uses", 3, "customer_key"), "erased:o4");
    }

    #[test]
    fn a_coupon_key_that_is_not_its_orders_index_is_refused() {
        let (k1, k2) = (ring(K1), ring(K2));
        // Another guest's index: before, it became an erasure marker and
        // that guest's cap was lost.
        let mut other = shop(&k1);
        other.tables.get_mut("deal_uses").unwrap()[0]["customer_key"] = json!(format!(
            "email:{}",
            k1.blind_index("email", "someone@example.com")
        ));
        let err = refusal(&k1, &k2, other);
        assert!(
            err.contains("deal_uses.customer_key of order_id o1 is not built from its orders row's email_index"),
            "{err}"
        );
        // A coupon use whose order is not in the archive.
        let mut orphan = shop(&k1);
        orphan.tables.get_mut("deal_uses").unwrap()[0]["order_id"] = json!("o9");
        let err = refusal(&k1, &k2, orphan);
        assert!(err.contains("no orders row o9"), "{err}");
    }

    #[test]
    fn wrong_source_keys_are_refused_naming_the_place_once() {
        let (k1, k2) = (ring(K1), ring(K2));
        let err = refusal(&k2, &k2, shop(&k1));
        assert!(
            err.starts_with("refused: the source keys cannot open orders.email of row o1"),
            "{err}"
        );
        assert!(!err.contains(K1.0.split(':').nth(1).unwrap()), "{err}");
        let mut odd = shop(&k1);
        odd.tables.get_mut("users").unwrap()[0]["email_sealed"] = json!(7);
        let err = refusal(&k1, &k2, odd);
        assert!(
            err.starts_with("refused: users.email of row u1 is not a sealed value"),
            "{err}"
        );
        // The right encryption key but another blind-index key.
        let err = refusal(&ring((K1.0, K2.1)), &k2, shop(&k1));
        assert!(err.contains("blind-index key does not give"), "{err}");
    }

    #[test]
    fn a_sealed_value_the_registry_does_not_list_is_refused_wherever_it_is() {
        let (k1, k2) = (ring(K1), ring(K2));
        let mut unlisted = shop(&k1);
        unlisted.tables.get_mut("orders").unwrap()[0]
            .insert("note".into(), json!(k1.seal("x", "orders.note:o1")));
        let err = refusal(&k1, &k2, unlisted);
        assert!(err.contains("orders.note holds a sealed value"), "{err}");
        // Inside a longer string, deep in a document, sealed by a key the
        // key file does not name, or by the target's key but not by this
        // re-seal: each is a leftover.
        for sealed in [
            k1.seal("x", "products.note:p1"),
            ring(K3).seal("x", "products.note:p1"),
            k2.seal("x", "products.note:p1"),
        ] {
            let mut hidden = shop(&k1);
            hidden.tables.get_mut("products").unwrap()[0].insert(
                "meta".into(),
                json!({"notes": [format!("kept: {sealed}!")]}),
            );
            let err = refusal(&k1, &k2, hidden);
            assert!(err.contains("products.meta holds a sealed value"), "{err}");
        }
        // A source index inside an audit entry's text.
        let mut audited = shop(&k1);
        let index = k1.blind_index("email", "ada@example.com");
        audited.tables.get_mut("audit_log").unwrap()[0]["after"]["note"] =
            json!(format!("looked up {index} today"));
        let err = refusal(&k1, &k2, audited);
        assert!(err.contains("audit entries are hash-chained"), "{err}");
    }

    #[test]
    fn each_sealed_context_is_the_one_the_services_seal_under() {
        let id = uuid::Uuid::now_v7();
        for s in SEALED {
            let services = match (s.table, s.column) {
                ("users", "email_sealed") => services::accounts::email_context(UserId(id)),
                ("users", "name_sealed") => services::accounts::name_context(UserId(id)),
                ("users", "phone_sealed") => services::accounts::phone_context(UserId(id)),
                ("users", "totp_sealed" | "totp_pending_sealed") => {
                    services::accounts::totp_context(UserId(id))
                }
                ("orders", "email_sealed") => services::orders::email_context(OrderId(id)),
                ("orders", "address_sealed") => services::orders::address_context(OrderId(id)),
                ("webhook_endpoints", "secret_sealed" | "previous_secret_sealed") => {
                    services::webhooks::secret_context(WebhookEndpointId(id))
                }
                ("tenants", "settings") => services::notify::dkim_context(TenantId(id)),
                _ => panic!("{s:?}: name the services' context function for it here"),
            };
            assert_eq!(context(s, &id.to_string()), services, "{s:?}");
        }
    }

    fn write_keys(file: &Path, encryption: &str) {
        std::fs::write(file, format!("[encryption]\n{encryption}\n")).unwrap();
    }

    #[test]
    fn the_key_file_gives_only_its_encryption_keys_and_never_echoes_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("source-keys.toml");
        write_keys(
            &file,
            &format!("keys = \"{}\"\nblind_index_key = \"{}\"", K1.0, K1.1),
        );
        assert_eq!(source_keys(&file).unwrap().key_ids(), ["src1"]);
        // A whole configuration file: its other settings, even wrong ones
        // and secret files that do not exist, are not read.
        std::fs::write(
            &file,
            "listen = \"nowhere\"\n[mail]\nsmtp_password_file = \"/nonexistent/smtp\"\n\
             [encryption]\nkeys_file = \"keys\"\nblind_index_key_file = \"index\"\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("keys"), format!("{}\n", K1.0)).unwrap();
        std::fs::write(dir.path().join("index"), format!("{}\n", K1.1)).unwrap();
        assert_eq!(source_keys(&file).unwrap().key_ids(), ["src1"]);
        // Malformed: both keys are given, one entry is wrong each time
        // (a key too short, a key pasted where the id goes, an index key
        // that is not one); no part of either is printed.
        let (key, index) = (K1.0.split_once(':').unwrap().1, K1.1);
        for (keys, index_key) in [
            (format!("{},src2:c2hvcnQ=", K1.0), index.to_owned()),
            (format!("{key}:{key}"), index.to_owned()),
            (K1.0.to_owned(), format!("{index}!")),
        ] {
            write_keys(
                &file,
                &format!("keys = \"{keys}\"\nblind_index_key = \"{index_key}\""),
            );
            let err = source_keys(&file).unwrap_err().to_string();
            assert!(err.contains("encryption:"), "{err}");
            for secret in [key, index, "c2hvcnQ"] {
                assert!(!err.contains(secret), "{err}");
            }
        }
        // Not TOML: the line is named, not quoted.
        std::fs::write(&file, format!("[encryption]\nkeys = {key}\n")).unwrap();
        let err = source_keys(&file).unwrap_err().to_string();
        assert!(err.contains("not valid TOML at line 2"), "{err}");
        assert!(!err.contains(key), "{err}");
        for lacking in [
            "listen = \"127.0.0.1:1\"\n".to_owned(),
            format!("[encryption]\nkeys = \"{}\"\n", K1.0),
        ] {
            std::fs::write(&file, lacking).unwrap();
            let err = source_keys(&file).unwrap_err().to_string();
            assert!(err.contains("names no encryption keys"), "{err}");
        }
    }
}
