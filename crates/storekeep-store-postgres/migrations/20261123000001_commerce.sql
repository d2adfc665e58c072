-- Selling: carts, deals, orders with their lines, transitions, payments
-- and refunds, idempotency keys, and the transactional outbox.
-- Order lines snapshot what was bought (sku, title, prices), so they do not
-- reference the catalog: a product deleted later leaves its orders intact.

CREATE TABLE carts (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    customer_id uuid,
    token_hash text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'checked_out')),
    coupon_code text,
    shipping_method text,
    country text,
    region text,
    order_id uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE cart_items (
    id uuid PRIMARY KEY,
    cart_id uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    quantity bigint NOT NULL CHECK (quantity > 0),
    created_at timestamptz NOT NULL,
    CONSTRAINT cart_items_variant_key UNIQUE (cart_id, variant_id)
);

-- A variant's delete cascades to the cart lines holding it.
CREATE INDEX cart_items_variant ON cart_items (variant_id);

CREATE TABLE deals (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name text NOT NULL,
    description text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('percentage', 'fixed')),
    value bigint NOT NULL,
    target text NOT NULL CHECK (target IN ('order', 'products', 'categories')),
    product_ids jsonb NOT NULL,   -- JSON array of ids
    category_ids jsonb NOT NULL,  -- JSON array of ids
    code text,
    starts_at timestamptz,
    ends_at timestamptz,
    max_uses bigint,
    max_uses_per_customer bigint,
    max_units bigint,
    uses bigint NOT NULL DEFAULT 0 CHECK (uses >= 0),
    units_sold bigint NOT NULL DEFAULT 0 CHECK (units_sold >= 0),
    active boolean NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT deals_code_key UNIQUE (tenant_id, code)
);

CREATE INDEX deals_tenant ON deals (tenant_id, id);

CREATE TABLE orders (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    cart_id uuid NOT NULL,
    customer_id uuid,
    status text NOT NULL CHECK (status IN
        ('pending_payment', 'paid', 'fulfilled', 'delivered', 'cancelled', 'refunded')),
    currency text NOT NULL,
    subtotal bigint NOT NULL,
    discount bigint NOT NULL,
    shipping bigint NOT NULL,
    tax bigint NOT NULL,
    total bigint NOT NULL,
    refunded bigint NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= total),
    email_sealed text NOT NULL,
    email_index text NOT NULL,
    address_sealed text NOT NULL,
    country text NOT NULL,
    region text,
    shipping_method text NOT NULL,
    payment_provider text NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX orders_tenant ON orders (tenant_id, id);
CREATE INDEX orders_status ON orders (tenant_id, status, id);
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, id);
CREATE INDEX orders_email ON orders (tenant_id, email_index, id);
-- The expiry sweep: unpaid orders by deadline.
CREATE INDEX orders_expiry ON orders (expires_at) WHERE status = 'pending_payment';

CREATE TABLE order_lines (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    variant_id uuid NOT NULL,
    product_id uuid NOT NULL,
    sku text NOT NULL,
    title text NOT NULL,
    quantity bigint NOT NULL CHECK (quantity > 0),
    unit_price bigint NOT NULL,
    discount bigint NOT NULL,
    total bigint NOT NULL,
    deal_id uuid,
    restocked bigint NOT NULL DEFAULT 0 CHECK (restocked >= 0 AND restocked <= quantity),
    position bigint NOT NULL
);

CREATE INDEX order_lines_order ON order_lines (order_id, position);

CREATE TABLE order_transitions (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status text,
    to_status text NOT NULL,
    actor text NOT NULL,
    reason text,
    at timestamptz NOT NULL
);

CREATE INDEX order_transitions_order ON order_transitions (order_id, id);

CREATE TABLE payments (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    provider text NOT NULL,
    reference text NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'declined')),
    amount bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT payments_reference_key UNIQUE (provider, reference)
);

CREATE INDEX payments_order ON payments (order_id, id);

-- Provider events already applied, so a replayed webhook changes nothing.
CREATE TABLE payment_events (
    provider text NOT NULL,
    event_id text NOT NULL,
    payment_id uuid NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (provider, event_id)
);

CREATE TABLE refunds (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount bigint NOT NULL CHECK (amount > 0),
    reason text,
    restock jsonb NOT NULL,   -- JSON array of {line_id, quantity}
    actor text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX refunds_order ON refunds (order_id, id);

-- One row per order and deal it used; released when the order is
-- cancelled, which gives the use back.
CREATE TABLE deal_uses (
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    deal_id uuid NOT NULL,
    customer_key text NOT NULL,
    units bigint NOT NULL,
    released boolean NOT NULL DEFAULT false,
    PRIMARY KEY (order_id, deal_id)
);

CREATE INDEX deal_uses_customer ON deal_uses (deal_id, customer_key) WHERE NOT released;

CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL,
    scope text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    order_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, scope, key)
);

CREATE TABLE outbox_events (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    topic text NOT NULL,
    subject text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz
);

CREATE INDEX outbox_events_tenant ON outbox_events (tenant_id, id);
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE delivered_at IS NULL;
