-- The console's "low stock" figure on a partial index of a generated
-- column, as on PostgreSQL (its migration of the same number, where the
-- old expression index kept stock reservations from being HOT updates).
-- SQLite computes the VIRTUAL column when it reads or indexes it; the
-- count's query and index are the same on both databases.
--
-- The threshold, 2 units, is `storekeep_store::rules::catalog::
-- LOW_STOCK_UNITS`; the store contract test of the figure checks that the
-- two agree.
ALTER TABLE variants
    ADD COLUMN low_stock INTEGER GENERATED ALWAYS AS (on_hand - reserved <= 2) VIRTUAL;
DROP INDEX variants_available;
CREATE INDEX variants_low_stock ON variants (tenant_id) WHERE low_stock;
