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
//! one (a guest's coupon-cap key) follows it. The archive file is never
//! changed. Then every string of every row — the audit log's entries
//! included — is searched for a value still sealed with a source key or
//! a source index: any left refuses the import (the registry would lack
//! a place; an audit entry cannot be re-sealed without breaking its hash
//! chain, and none holds such a value today).
//!
//! Erased values stay erased: an erasure overwrites the sealed values
//! with sealed placeholders (re-sealed like any value, they open to the
//! placeholder) or NULL (left NULL), and its `erased:` marker in place of
//! an email index is kept as it is. See docs/export.md.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{anyhow, bail};
use serde_json::Value;
use storekeep_store_sql::portable::sealed::{DERIVED, INDEXED, SEALED};
use storekeep_store_sql::portable::{Row, ShopRows};

use crate::crypto::Keyring;

/// What `--source-keys` names: a TOML file with an `[encryption]` section
/// in the configuration's own syntax (`keys` and `blind_index_key`, or
/// their `keys_file` / `blind_index_key_file` forms), such as the source
/// installation's configuration file; nothing else in it is used. The
/// keys are kept in memory only and never printed.
pub fn source_keys(path: &Path) -> anyhow::Result<Keyring> {
    let loaded = crate::config::load(Some(path), std::iter::empty());
    let settings = loaded
        .settings
        .map_err(|problems| anyhow!("--source-keys {}: {}", path.display(), problems.join("; ")))?;
    match (&settings.encryption_keys, &settings.blind_index_key) {
        (Some(keys), Some(index)) => Keyring::parse(keys.expose(), index.expose())
            .map_err(|m| anyhow!("--source-keys {}: encryption: {m}", path.display())),
        _ => bail!(
            "--source-keys {}: names no encryption keys: write the source installation's \
             [encryption] keys and blind_index_key in it (see docs/export.md)",
            path.display()
        ),
    }
}

/// What a re-seal changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Sealed values opened with the source's keys and sealed again.
    pub values: u64,
    /// Blind indexes (and keys built from them) recomputed.
    pub indexes: u64,
}

fn text<'r>(row: &'r Row, column: &str) -> Option<&'r str> {
    row.get(column).and_then(Value::as_str)
}

/// What each refusal of a re-seal asks for.
const SOURCE_KEYS: &str = "--source-keys must name the encryption keys and blind-index key \
     of the installation that exported the shop";

/// Re-seals `shop`'s rows (read from an archive) from the `source` keys
/// to the `target` keys, as the module says. Refused, with the rows left
/// half-changed (the caller then writes nothing), when a value does not
/// open with the source's keys, an index is not the source's, or a value
/// sealed with a source key or a source index is left anywhere.
pub fn reseal(source: &Keyring, target: &Keyring, shop: &mut ShopRows) -> anyhow::Result<Resealed> {
    let mut done = Resealed::default();
    // The values this re-seal wrote, and each source index → its new one.
    let mut fresh: HashSet<String> = HashSet::new();
    let mut indexes: HashMap<String, String> = HashMap::new();
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
                let context = format!("{}:{owner}", s.context);
                let slot = match s.pointer {
                    None => row.get_mut(s.column),
                    Some(at) => row.get_mut(s.column).and_then(|doc| doc.pointer_mut(at)),
                };
                let Some(slot) = slot else { continue };
                let old = match slot {
                    Value::Null => continue,
                    Value::String(old) => old.as_str(),
                    _ => bail!(
                        "refused: {table}.{} of row {id} is not a sealed value",
                        s.name()
                    ),
                };
                let opened = source.open(old, &context).map_err(|e| {
                    anyhow!(
                        "refused: the source keys cannot open {table}.{} of row {id} ({e}): {SOURCE_KEYS}",
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
            if index.starts_with("erased:") {
                continue;
            }
            // An index no row holds any more is an erased guest's (their
            // orders' indexes became `erased:<id>`): no key can compute it
            // again, so it becomes an erasure marker of its own.
            let new = match indexes.get(index) {
                Some(new) => new.clone(),
                None => format!("erased:{}", text(row, d.row).unwrap_or("?")),
            };
            row.insert(
                d.column.to_owned(),
                Value::String(format!("{}{new}", d.prefix)),
            );
            done.indexes += 1;
        }
    }
    let new_indexes: HashSet<&String> = indexes.values().collect();
    let stale: HashSet<&str> = indexes
        .keys()
        .filter(|old| !new_indexes.contains(old))
        .map(String::as_str)
        .collect();
    leftovers(source, shop, &fresh, &stale)?;
    Ok(done)
}

/// Refuses when any string of any row still holds a value sealed with a
/// source key that this re-seal did not write, or a source blind index.
fn leftovers(
    source: &Keyring,
    shop: &ShopRows,
    fresh: &HashSet<String>,
    stale: &HashSet<&str>,
) -> anyhow::Result<()> {
    let kids: HashSet<&str> = source.key_ids().into_iter().collect();
    let left = |s: &str| {
        let sealed = Keyring::key_id_of(s).is_some_and(|k| kids.contains(k)) && !fresh.contains(s);
        let index = stale.contains(s)
            || DERIVED
                .iter()
                .any(|d| s.strip_prefix(d.prefix).is_some_and(|i| stale.contains(i)));
        sealed || index
    };
    for (table, rows) in &shop.tables {
        for row in rows {
            for (column, value) in row {
                if !any_string(value, &left) {
                    continue;
                }
                if table.starts_with("audit_") {
                    bail!(
                        "refused: the shop's {table}.{column} holds a value sealed with the source's \
                         keys (or one of its blind indexes); audit entries are hash-chained, so it \
                         cannot be re-sealed without breaking `audit verify`: import into an \
                         installation that runs with the source's keys instead"
                    );
                }
                bail!(
                    "refused: {table}.{column} holds a value sealed with the source's keys (or one \
                     of its blind indexes) that the re-seal does not know \
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

    use super::*;

    const K1: (&str, &str) = (
        "src1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
    );
    const K2: (&str, &str) = (
        "dst1:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=",
        "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8=",
    );

    fn ring((keys, index): (&str, &str)) -> Keyring {
        Keyring::parse(keys, index).unwrap()
    }

    fn row(value: Value) -> Row {
        value.as_object().unwrap().clone()
    }

    /// A shop with a customer, an erased customer, a guest order with a
    /// coupon use, an erased guest's coupon use and a DKIM key.
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
            vec![row(json!({
                "id": order,
                "email_sealed": k.seal("guest@example.com", &format!("orders.email:{order}")),
                "email_index": k.blind_index("email", "guest@example.com"),
                "address_sealed": k.seal("{\"line1\":\"1 Road\"}", &format!("orders.address:{order}")),
            }))],
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

    #[test]
    fn every_value_opens_with_the_target_keys_and_indexes_are_the_targets() {
        let (k1, k2) = (ring(K1), ring(K2));
        let mut moved = shop(&k1);
        let done = reseal(&k1, &k2, &mut moved).unwrap();
        assert_eq!(done.values, 7, "{done:?}");
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
        // Coupon-cap keys follow their index; an erased guest's is no index.
        assert_eq!(
            get(&moved, "deal_uses", 0, "customer_key"),
            format!("email:{}", k2.blind_index("email", "guest@example.com"))
        );
        assert_eq!(
            get(&moved, "deal_uses", 1, "customer_key"),
            "email:erased:o2"
        );
        assert_eq!(get(&moved, "deal_uses", 2, "customer_key"), "user:u1");
    }

    #[test]
    fn wrong_source_keys_are_refused() {
        let (k1, k2) = (ring(K1), ring(K2));
        let err = reseal(&k2, &k2, &mut shop(&k1)).unwrap_err().to_string();
        assert!(
            err.starts_with("refused: the source keys cannot open"),
            "{err}"
        );
        assert!(!err.contains(K1.0.split(':').nth(1).unwrap()), "{err}");
        // The right encryption key but another blind-index key.
        let other_index = ring((K1.0, K2.1));
        let err = reseal(&other_index, &k2, &mut shop(&k1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("blind-index key does not give"), "{err}");
    }

    #[test]
    fn a_sealed_value_the_registry_does_not_list_is_refused() {
        let (k1, k2) = (ring(K1), ring(K2));
        let mut unlisted = shop(&k1);
        unlisted.tables.get_mut("orders").unwrap()[0]
            .insert("note".into(), json!(k1.seal("x", "orders.note:o1")));
        let err = reseal(&k1, &k2, &mut unlisted).unwrap_err().to_string();
        assert!(err.contains("orders.note holds a value sealed"), "{err}");
        let mut audited = shop(&k1);
        let index = k1.blind_index("email", "ada@example.com");
        audited.tables.get_mut("audit_log").unwrap()[0]["after"]["email_index"] = json!(index);
        let err = reseal(&k1, &k2, &mut audited).unwrap_err().to_string();
        assert!(err.contains("audit entries are hash-chained"), "{err}");
    }

    #[test]
    fn the_key_file_is_a_configuration_file_and_never_echoes_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("source-keys.toml");
        std::fs::write(
            &file,
            format!(
                "[encryption]\nkeys = \"{}\"\nblind_index_key = \"{}\"\n",
                K1.0, K1.1
            ),
        )
        .unwrap();
        assert_eq!(source_keys(&file).unwrap().key_ids(), ["src1"]);
        std::fs::write(&file, "[encryption]\nkeys = \"src1:c2hvcnQ=\"\n").unwrap();
        let err = source_keys(&file).unwrap_err().to_string();
        assert!(!err.contains("c2hvcnQ"), "{err}");
        std::fs::write(&file, "listen = \"127.0.0.1:1\"\n").unwrap();
        let err = source_keys(&file).unwrap_err().to_string();
        assert!(err.contains("names no encryption keys"), "{err}");
    }
}
