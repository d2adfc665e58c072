//! The portable schema: every table `storekeep export` carries, in the
//! order `storekeep import` writes them (a row's references first), each
//! column with its portable type, and which rows belong to one shop. The
//! tables that must not travel are listed in [`EXCLUDED`] with the
//! reason. [`drift`] compares this registry with a database's real schema,
//! so a migration that adds a table or a column fails the portable tests
//! (and refuses exports) until the registry knows it.

use self::Kind::{Bool, Date, Int, Json, Text, Time, Uuid};
use self::Scope::{Chain, Shop, Where};

/// A column's type in the archive, whatever the database stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A hyphenated uuid string (SQLite TEXT, PostgreSQL `uuid`).
    Uuid,
    /// A string.
    Text,
    /// A 64-bit integer (SQLite INTEGER, PostgreSQL `bigint` or `integer`).
    Int,
    /// `true`/`false` (SQLite INTEGER 0/1, PostgreSQL `boolean`).
    Bool,
    /// An RFC 3339 UTC instant, as precise as stored (SQLite TEXT,
    /// PostgreSQL `timestamptz`, microseconds).
    Time,
    /// A calendar date `YYYY-MM-DD` (SQLite TEXT, PostgreSQL `date`).
    Date,
    /// A JSON value (SQLite TEXT, PostgreSQL `jsonb`).
    Json,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Uuid => "uuid",
            Text => "text",
            Int => "int",
            Bool => "bool",
            Time => "timestamp",
            Date => "date",
            Json => "json",
        }
    }

    /// Whether a column declared `declared` (SQLite's declared type, or
    /// PostgreSQL's `information_schema.columns.data_type`) stores this.
    pub fn matches(self, declared: &str) -> bool {
        let declared = declared.to_ascii_lowercase();
        match self {
            Uuid => matches!(declared.as_str(), "uuid" | "text"),
            Text => declared == "text",
            Int | Bool if declared == "integer" => true,
            Int => declared == "bigint",
            Bool => declared == "boolean",
            Time => matches!(declared.as_str(), "timestamp with time zone" | "text"),
            Date => matches!(declared.as_str(), "date" | "text"),
            Json => matches!(declared.as_str(), "jsonb" | "text"),
        }
    }
}

/// Which rows of a table belong to the shop being exported (`$1` is its
/// id).
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// `tenant_id = $1`.
    Shop,
    /// A condition of its own on `$1` (rows reached through a parent).
    Where(&'static str),
    /// The shop's audit chain: `scope = $1` with the id as text.
    Chain,
}

/// One table of the portable schema.
#[derive(Debug)]
pub struct Table {
    pub name: &'static str,
    pub scope: Scope,
    /// The columns a deterministic export orders rows by.
    pub order: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl Table {
    pub fn get(name: &str) -> Option<&'static Table> {
        TABLES.iter().find(|t| t.name == name)
    }

    /// The condition selecting one shop's rows.
    pub fn filter(&self) -> &'static str {
        match self.scope {
            Shop => "tenant_id = $1",
            Where(cond) => cond,
            Chain => "scope = $1",
        }
    }
}

/// Tables that stay behind, and why.
pub const EXCLUDED: &[(&str, &str)] = &[
    (
        "sessions",
        "sign-ins belong to the installation that issued them; people sign in again",
    ),
    (
        "access_tokens",
        "OAuth access tokens are short-lived; clients (oauth_clients) travel and ask for new ones",
    ),
    (
        "password_resets",
        "reset links are short-lived and single-use; a reset is asked for again",
    ),
    (
        "login_throttle",
        "rate-limit state of the source's sign-in attempts",
    ),
    (
        "idempotency_keys",
        "replay protection of requests retried within minutes; a move is a maintenance window",
    ),
    (
        "jobs",
        "the source's queue (leases, workers); drain it before exporting (`storekeep jobs`)",
    ),
    ("_sqlx_migrations", "each database's own migration history"),
    (
        "product_search",
        "SQLite's FTS5 index (and its product_search_* shadow tables), filled by triggers on insert",
    ),
];

/// Columns a backend adds that do not travel: SQLite's integer key of
/// `products` for its FTS index, assigned again on insert.
pub const LOCAL_COLUMNS: &[(&str, &str)] = &[("products", "rid")];

/// Whether `table` is one of [`EXCLUDED`] (SQLite's FTS shadow tables
/// count as the index's).
pub fn excluded(table: &str) -> bool {
    EXCLUDED.iter().any(|(name, _)| *name == table) || table.starts_with("product_search_")
}

/// What differs between the registry and a database's real columns
/// (`(table, column, declared type)`); empty when they agree.
pub fn drift(actual: &[(String, String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (table, column, declared) in actual {
        if excluded(table) || LOCAL_COLUMNS.iter().any(|(t, c)| t == table && c == column) {
            continue;
        }
        let Some(known) = Table::get(table) else {
            if !problems
                .iter()
                .any(|p: &String| p.contains(&format!("table {table} ")))
            {
                problems.push(format!(
                    "table {table} is neither exported nor listed as excluded"
                ));
            }
            continue;
        };
        match known.columns.iter().find(|(name, _)| name == column) {
            None => problems.push(format!("column {table}.{column} is not in the registry")),
            Some((_, kind)) if !kind.matches(declared) => problems.push(format!(
                "column {table}.{column} is {declared}, the registry says {}",
                kind.name()
            )),
            Some(_) => {}
        }
    }
    for table in TABLES {
        for (column, _) in table.columns {
            if !actual
                .iter()
                .any(|(t, c, _)| t == table.name && c == column)
            {
                problems.push(format!(
                    "column {}.{column} of the registry is not in the database",
                    table.name
                ));
            }
        }
    }
    problems
}

/// Every exported table, in insert order.
pub static TABLES: &[Table] = &[
    Table {
        name: "plans",
        scope: Where("\"id\" = (SELECT plan_id FROM tenants WHERE id = $1)"),
        order: "id",
        columns: &[
            ("id", Uuid),
            ("name", Text),
            ("max_products", Int),
            ("max_staff", Int),
            ("storage_bytes", Int),
            ("api_requests_per_minute", Int),
            ("auth_requests_per_minute", Int),
            ("search_requests_per_minute", Int),
            ("admin_requests_per_minute", Int),
            ("created_at", Time),
        ],
    },
    Table {
        name: "tenants",
        scope: Where("\"id\" = $1"),
        order: "id",
        columns: &[
            ("id", Uuid),
            ("slug", Text),
            ("name", Text),
            ("status", Text),
            ("plan_id", Uuid),
            ("settings", Json),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "tenant_domains",
        scope: Shop,
        order: "domain",
        columns: &[("domain", Text), ("tenant_id", Uuid)],
    },
    Table {
        name: "users",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("kind", Text),
            ("role", Text),
            ("email_index", Text),
            ("email_sealed", Text),
            ("name_sealed", Text),
            ("phone_sealed", Text),
            ("password_hash", Text),
            ("totp_sealed", Text),
            ("totp_pending_sealed", Text),
            ("totp_last_step", Int),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "recovery_codes",
        scope: Where("user_id IN (SELECT id FROM users WHERE tenant_id = $1)"),
        order: "user_id, code_hash",
        columns: &[("user_id", Uuid), ("code_hash", Text), ("used_at", Time)],
    },
    Table {
        name: "api_keys",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("name", Text),
            ("prefix", Text),
            ("key_hash", Text),
            ("scopes", Text),
            ("created_by", Text),
            ("created_at", Time),
            ("last_used_at", Time),
            ("revoked_at", Time),
        ],
    },
    Table {
        name: "oauth_clients",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("client_id", Text),
            ("name", Text),
            ("secret_hash", Text),
            ("scopes", Text),
            ("created_at", Time),
            ("revoked_at", Time),
        ],
    },
    Table {
        name: "categories",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("parent_id", Uuid),
            ("handle", Text),
            ("name", Text),
            ("position", Int),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "products",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("handle", Text),
            ("title", Text),
            ("title_key", Text),
            ("description", Text),
            ("status", Text),
            ("tags", Json),
            ("min_price", Int),
            ("available", Int),
            ("search_doc", Text),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "product_tags",
        scope: Shop,
        order: "product_id, tag",
        columns: &[("product_id", Uuid), ("tenant_id", Uuid), ("tag", Text)],
    },
    Table {
        name: "product_categories",
        scope: Where("product_id IN (SELECT id FROM products WHERE tenant_id = $1)"),
        order: "product_id, category_id",
        columns: &[
            ("product_id", Uuid),
            ("category_id", Uuid),
            ("position", Int),
        ],
    },
    Table {
        name: "variants",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("product_id", Uuid),
            ("sku", Text),
            ("title", Text),
            ("options", Json),
            ("price", Int),
            ("currency", Text),
            ("compare_at_price", Int),
            ("on_hand", Int),
            ("reserved", Int),
            ("position", Int),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "inventory_ledger",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("variant_id", Uuid),
            ("delta", Int),
            ("reason", Text),
            ("on_hand_after", Int),
            ("actor", Text),
            ("at", Time),
        ],
    },
    Table {
        name: "product_images",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("product_id", Uuid),
            ("object_key", Text),
            ("content_type", Text),
            ("width", Int),
            ("height", Int),
            ("size_bytes", Int),
            ("alt", Text),
            ("position", Int),
            ("created_at", Time),
        ],
    },
    Table {
        name: "carts",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("customer_id", Uuid),
            ("token_hash", Text),
            ("status", Text),
            ("coupon_code", Text),
            ("shipping_method", Text),
            ("country", Text),
            ("region", Text),
            ("order_id", Uuid),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "cart_items",
        scope: Where("cart_id IN (SELECT id FROM carts WHERE tenant_id = $1)"),
        order: "id",
        columns: &[
            ("id", Uuid),
            ("cart_id", Uuid),
            ("variant_id", Uuid),
            ("quantity", Int),
            ("created_at", Time),
            ("rental_plan_id", Uuid),
            ("rental_term", Int),
        ],
    },
    Table {
        name: "deals",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("name", Text),
            ("description", Text),
            ("kind", Text),
            ("value", Int),
            ("target", Text),
            ("product_ids", Json),
            ("category_ids", Json),
            ("code", Text),
            ("starts_at", Time),
            ("ends_at", Time),
            ("max_uses", Int),
            ("max_uses_per_customer", Int),
            ("max_units", Int),
            ("uses", Int),
            ("units_sold", Int),
            ("active", Bool),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "orders",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("cart_id", Uuid),
            ("customer_id", Uuid),
            ("status", Text),
            ("currency", Text),
            ("subtotal", Int),
            ("discount", Int),
            ("shipping", Int),
            ("tax", Int),
            ("total", Int),
            ("refunded", Int),
            ("email_sealed", Text),
            ("email_index", Text),
            ("address_sealed", Text),
            ("country", Text),
            ("region", Text),
            ("shipping_method", Text),
            ("payment_provider", Text),
            ("expires_at", Time),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "order_lines",
        scope: Where("order_id IN (SELECT id FROM orders WHERE tenant_id = $1)"),
        order: "id",
        columns: &[
            ("id", Uuid),
            ("order_id", Uuid),
            ("variant_id", Uuid),
            ("product_id", Uuid),
            ("sku", Text),
            ("title", Text),
            ("quantity", Int),
            ("unit_price", Int),
            ("discount", Int),
            ("total", Int),
            ("deal_id", Uuid),
            ("restocked", Int),
            ("position", Int),
        ],
    },
    Table {
        name: "order_transitions",
        scope: Where("order_id IN (SELECT id FROM orders WHERE tenant_id = $1)"),
        order: "id",
        columns: &[
            ("id", Uuid),
            ("order_id", Uuid),
            ("from_status", Text),
            ("to_status", Text),
            ("actor", Text),
            ("reason", Text),
            ("at", Time),
        ],
    },
    Table {
        name: "payments",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("order_id", Uuid),
            ("provider", Text),
            ("reference", Text),
            ("status", Text),
            ("amount", Int),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "payment_events",
        scope: Where("payment_id IN (SELECT id FROM payments WHERE tenant_id = $1)"),
        order: "provider, event_id",
        columns: &[
            ("provider", Text),
            ("event_id", Text),
            ("payment_id", Uuid),
            ("received_at", Time),
        ],
    },
    Table {
        name: "refunds",
        scope: Where("order_id IN (SELECT id FROM orders WHERE tenant_id = $1)"),
        order: "id",
        columns: &[
            ("id", Uuid),
            ("order_id", Uuid),
            ("amount", Int),
            ("reason", Text),
            ("restock", Json),
            ("actor", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "deal_uses",
        scope: Where("order_id IN (SELECT id FROM orders WHERE tenant_id = $1)"),
        order: "order_id, deal_id",
        columns: &[
            ("order_id", Uuid),
            ("deal_id", Uuid),
            ("customer_key", Text),
            ("units", Int),
            ("released", Bool),
        ],
    },
    Table {
        name: "outbox_events",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("topic", Text),
            ("subject", Text),
            ("payload", Json),
            ("created_at", Time),
            ("dispatched_at", Time),
        ],
    },
    Table {
        name: "webhook_endpoints",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("url", Text),
            ("description", Text),
            ("events", Json),
            ("secret_sealed", Text),
            ("previous_secret_sealed", Text),
            ("previous_secret_expires_at", Time),
            ("status", Text),
            ("disabled_reason", Text),
            ("failing_since", Time),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "webhook_deliveries",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("endpoint_id", Uuid),
            ("event_id", Text),
            ("event_type", Text),
            ("attempt", Int),
            ("at", Time),
            ("status_code", Int),
            ("error", Text),
            ("latency_ms", Int),
            ("response_excerpt", Text),
            ("outcome", Text),
        ],
    },
    Table {
        name: "rental_plans",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("variant_id", Uuid),
            ("name", Text),
            ("kind", Text),
            ("term_unit", Text),
            ("term", Int),
            ("min_term", Int),
            ("max_term", Int),
            ("price_per_period", Int),
            ("deposit", Json),
            ("late_fee", Json),
            ("buyout", Json),
            ("extension_allowed", Bool),
            ("maintainer", Text),
            ("default_after_days", Int),
            ("active", Bool),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "rental_units",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("variant_id", Uuid),
            ("serial", Text),
            ("condition", Text),
            ("notes", Text),
            ("status", Text),
            ("contract_id", Uuid),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "rental_contracts",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("order_id", Uuid),
            ("order_line_id", Uuid),
            ("plan_id", Uuid),
            ("variant_id", Uuid),
            ("unit_id", Uuid),
            ("customer_id", Uuid),
            ("status", Text),
            ("terms", Json),
            ("cash_price", Int),
            ("currency", Text),
            ("deposit", Int),
            ("deposit_held", Int),
            ("term", Int),
            ("time_zone", Text),
            ("start_date", Date),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "rental_unit_events",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("unit_id", Uuid),
            ("kind", Text),
            ("contract_id", Uuid),
            ("condition", Text),
            ("note", Text),
            ("actor_id", Uuid),
            ("at", Time),
        ],
    },
    Table {
        name: "rental_installments",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("contract_id", Uuid),
            ("seq", Int),
            ("due_date", Date),
            ("amount", Int),
            ("late_fee", Int),
            ("late_fee_at", Time),
            ("paid_at", Time),
            ("reminders", Json),
        ],
    },
    Table {
        name: "rental_payments",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("contract_id", Uuid),
            ("installment_id", Uuid),
            ("kind", Text),
            ("amount", Int),
            ("provider", Text),
            ("reference", Text),
            ("reason", Text),
            ("actor_id", Uuid),
            ("key", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "rental_payment_attempts",
        scope: Shop,
        order: "id",
        columns: &[
            ("id", Uuid),
            ("tenant_id", Uuid),
            ("contract_id", Uuid),
            ("installment_id", Uuid),
            ("customer_id", Uuid),
            ("provider", Text),
            ("reference", Text),
            ("amount", Int),
            ("late_fee", Int),
            ("status", Text),
            ("idempotency_key", Text),
            ("event_id", Text),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "audit_log",
        scope: Chain,
        order: "scope, seq",
        columns: &[
            ("scope", Text),
            ("seq", Int),
            ("actor", Text),
            ("action", Text),
            ("target", Text),
            ("before", Json),
            ("after", Json),
            ("ip", Text),
            ("request_id", Text),
            ("at", Time),
            ("prev_hash", Text),
            ("hash", Text),
        ],
    },
    Table {
        name: "audit_heads",
        scope: Chain,
        order: "scope",
        columns: &[("scope", Text), ("seq", Int), ("hash", Text)],
    },
];
