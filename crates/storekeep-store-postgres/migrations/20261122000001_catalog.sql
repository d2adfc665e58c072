-- The catalog: categories (a tree), products with summary columns kept by
-- the store (cheapest price, available stock, search document, sort key),
-- variants with stock, the inventory ledger, images, and the full-text
-- index (GIN over the search document).
--
-- Text that lists sort by is COLLATE "C" (bytewise), so orders and cursors
-- are the same as on SQLite whatever the database's locale.

CREATE TABLE categories (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    parent_id uuid REFERENCES categories (id),
    handle text NOT NULL,
    name text COLLATE "C" NOT NULL,
    position bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT categories_handle_key UNIQUE (tenant_id, handle)
);

CREATE INDEX categories_parent ON categories (tenant_id, parent_id);

CREATE TABLE products (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    handle text NOT NULL,
    title text NOT NULL,
    title_key text COLLATE "C" NOT NULL,
    description text NOT NULL,
    status text NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    tags jsonb NOT NULL,
    min_price bigint NOT NULL,
    available bigint NOT NULL,
    -- Terms already split by storekeep (lowercase runs of letters and
    -- digits, space-separated), so the 'simple' parser sees plain words.
    search_doc text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT products_handle_key UNIQUE (tenant_id, handle)
);

CREATE INDEX products_newest ON products (tenant_id, status, id);
CREATE INDEX products_price ON products (tenant_id, status, min_price, id);
CREATE INDEX products_title ON products (tenant_id, status, title_key, id);
CREATE INDEX products_search ON products USING gin (to_tsvector('simple', search_doc));

CREATE TABLE product_tags (
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tenant_id uuid NOT NULL,
    tag text NOT NULL,
    PRIMARY KEY (product_id, tag)
);

CREATE INDEX product_tags_tag ON product_tags (tenant_id, tag, product_id);

CREATE TABLE product_categories (
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    category_id uuid NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    position bigint NOT NULL,
    PRIMARY KEY (product_id, category_id)
);

CREATE INDEX product_categories_category ON product_categories (category_id, product_id);

CREATE TABLE variants (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku text NOT NULL,
    title text NOT NULL,
    options jsonb NOT NULL,
    price bigint NOT NULL CHECK (price >= 0),
    currency text NOT NULL,
    compare_at_price bigint CHECK (compare_at_price >= 0),
    on_hand bigint NOT NULL CHECK (on_hand >= 0),
    reserved bigint NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    position bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT variants_sku_key UNIQUE (tenant_id, sku)
);

CREATE INDEX variants_product ON variants (product_id, position);
CREATE INDEX variants_price ON variants (product_id, price);

CREATE TABLE inventory_ledger (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    variant_id uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    delta bigint NOT NULL,
    reason text NOT NULL,
    on_hand_after bigint NOT NULL,
    actor text NOT NULL,
    at timestamptz NOT NULL
);

CREATE INDEX inventory_ledger_variant ON inventory_ledger (variant_id, id);

CREATE TABLE product_images (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    object_key text NOT NULL,
    content_type text NOT NULL,
    width bigint NOT NULL,
    height bigint NOT NULL,
    size_bytes bigint NOT NULL,
    alt text NOT NULL,
    position bigint NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE INDEX product_images_product ON product_images (product_id, position);
CREATE INDEX product_images_tenant ON product_images (tenant_id);
