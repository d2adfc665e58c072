-- The catalog: categories (a tree), products with summary columns kept by
-- the store (cheapest price, available stock, search document, sort key),
-- variants with stock, the inventory ledger, images, and the FTS5 index.

CREATE TABLE categories (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    parent_id TEXT REFERENCES categories (id),
    handle TEXT NOT NULL,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, handle)
) STRICT;

CREATE INDEX categories_parent ON categories (tenant_id, parent_id);

-- `rid` is a stable integer key (an alias of the rowid) for the FTS index.
CREATE TABLE products (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    handle TEXT NOT NULL,
    title TEXT NOT NULL,
    title_key TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'active', 'archived')),
    tags TEXT NOT NULL,
    min_price INTEGER NOT NULL,
    available INTEGER NOT NULL,
    search_doc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, handle)
) STRICT;

CREATE INDEX products_newest ON products (tenant_id, status, id);
CREATE INDEX products_price ON products (tenant_id, status, min_price, id);
CREATE INDEX products_title ON products (tenant_id, status, title_key, id);

CREATE TABLE product_tags (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (product_id, tag)
) STRICT, WITHOUT ROWID;

CREATE INDEX product_tags_tag ON product_tags (tenant_id, tag, product_id);

CREATE TABLE product_categories (
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    category_id TEXT NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (product_id, category_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX product_categories_category ON product_categories (category_id, product_id);

CREATE TABLE variants (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku TEXT NOT NULL,
    title TEXT NOT NULL,
    options TEXT NOT NULL,
    price INTEGER NOT NULL CHECK (price >= 0),
    currency TEXT NOT NULL,
    compare_at_price INTEGER CHECK (compare_at_price >= 0),
    on_hand INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved INTEGER NOT NULL DEFAULT 0 CHECK (reserved >= 0 AND reserved <= on_hand),
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (tenant_id, sku)
) STRICT;

CREATE INDEX variants_product ON variants (product_id, position);
CREATE INDEX variants_price ON variants (product_id, price);

CREATE TABLE inventory_ledger (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    variant_id TEXT NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    delta INTEGER NOT NULL,
    reason TEXT NOT NULL,
    on_hand_after INTEGER NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL
) STRICT;

CREATE INDEX inventory_ledger_variant ON inventory_ledger (variant_id, id);

CREATE TABLE product_images (
    id TEXT PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    product_id TEXT NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    object_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    alt TEXT NOT NULL,
    position INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX product_images_product ON product_images (product_id, position);
CREATE INDEX product_images_tenant ON product_images (tenant_id);

-- Documents are split into terms by storekeep (lowercase runs of letters
-- and digits), so unicode61 sees words it does not split further.
CREATE VIRTUAL TABLE product_search USING fts5 (doc, tokenize = 'unicode61 remove_diacritics 0');

CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO product_search (rowid, doc) VALUES (new.rid, new.search_doc);
END;

CREATE TRIGGER products_search_update AFTER UPDATE OF search_doc ON products BEGIN
    UPDATE product_search SET doc = new.search_doc WHERE rowid = new.rid;
END;

CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN
    DELETE FROM product_search WHERE rowid = old.rid;
END;
