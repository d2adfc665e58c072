-- Selling: carts, deals, orders with their lines, transitions, payments
-- and refunds, idempotency keys, and the transactional outbox.
-- Order lines snapshot what was bought (sku, title, prices), so they do not
-- reference the catalog: a product deleted later leaves its orders intact.

CREATE TABLE carts (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id TEXT,
    token_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'checked_out')),
    coupon_code TEXT,
    shipping_method TEXT,
    country TEXT,
    region TEXT,
    order_id TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE cart_items (
    id TEXT PRIMARY KEY NOT NULL,
    cart_id TEXT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id TEXT NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    created_at TEXT NOT NULL,
    UNIQUE (cart_id, variant_id)
) STRICT;

CREATE TABLE deals (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('percentage', 'fixed')),
    value INTEGER NOT NULL,
    target TEXT NOT NULL CHECK (target IN ('order', 'products', 'categories')),
    product_ids TEXT NOT NULL,   -- JSON array of ids
    category_ids TEXT NOT NULL,  -- JSON array of ids
    code TEXT,
    starts_at TEXT,
    ends_at TEXT,
    max_uses INTEGER,
    max_uses_per_customer INTEGER,
    max_units INTEGER,
    uses INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    units_sold INTEGER NOT NULL DEFAULT 0 CHECK (units_sold >= 0),
    active INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, code)
) STRICT;

CREATE INDEX deals_tenant ON deals (tenant_id, id);

CREATE TABLE orders (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    cart_id TEXT NOT NULL,
    customer_id TEXT,
    status TEXT NOT NULL CHECK (status IN
        ('pending_payment', 'paid', 'fulfilled', 'delivered', 'cancelled', 'refunded')),
    currency TEXT NOT NULL,
    subtotal INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    shipping INTEGER NOT NULL,
    tax INTEGER NOT NULL,
    total INTEGER NOT NULL,
    refunded INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= total),
    email_sealed TEXT NOT NULL,
    email_index TEXT NOT NULL,
    address_sealed TEXT NOT NULL,
    country TEXT NOT NULL,
    region TEXT,
    shipping_method TEXT NOT NULL,
    payment_provider TEXT NOT NULL,
    expires_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE INDEX orders_tenant ON orders (tenant_id, id);
CREATE INDEX orders_status ON orders (tenant_id, status, id);
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, id);
CREATE INDEX orders_email ON orders (tenant_id, email_index, id);
-- The expiry sweep: unpaid orders by deadline.
CREATE INDEX orders_expiry ON orders (expires_at) WHERE status = 'pending_payment';

CREATE TABLE order_lines (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    variant_id TEXT NOT NULL,
    product_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    title TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price INTEGER NOT NULL,
    discount INTEGER NOT NULL,
    total INTEGER NOT NULL,
    deal_id TEXT,
    restocked INTEGER NOT NULL DEFAULT 0 CHECK (restocked >= 0 AND restocked <= quantity),
    position INTEGER NOT NULL
) STRICT;

CREATE INDEX order_lines_order ON order_lines (order_id, position);

CREATE TABLE order_transitions (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    at TEXT NOT NULL
) STRICT;

CREATE INDEX order_transitions_order ON order_transitions (order_id, id);

CREATE TABLE payments (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    reference TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined')),
    amount INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (provider, reference)
) STRICT;

CREATE INDEX payments_order ON payments (order_id, id);

-- Provider events already applied, so a replayed webhook changes nothing.
CREATE TABLE payment_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (provider, event_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE refunds (
    id TEXT PRIMARY KEY NOT NULL,
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount INTEGER NOT NULL CHECK (amount > 0),
    reason TEXT,
    restock TEXT NOT NULL,   -- JSON array of {line_id, quantity}
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX refunds_order ON refunds (order_id, id);

-- One row per order and deal it used; released when the order is
-- cancelled, which gives the use back.
CREATE TABLE deal_uses (
    order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    deal_id TEXT NOT NULL,
    customer_key TEXT NOT NULL,
    units INTEGER NOT NULL,
    released INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (order_id, deal_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX deal_uses_customer ON deal_uses (deal_id, customer_key) WHERE released = 0;

CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    order_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, scope, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE outbox_events (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    delivered_at TEXT
) STRICT;

CREATE INDEX outbox_events_tenant ON outbox_events (tenant_id, id);
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE delivered_at IS NULL;
