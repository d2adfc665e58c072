-- The console's "low stock" figure counted on a partial index that a stock
-- reservation does not touch (it replaces `variants_available` of
-- migration 20261128000080).
--
-- `variants_available (tenant_id, (on_hand - reserved))` named `reserved`,
-- so no update of it could be HOT: every checkout's reservation wrote a
-- new version of its variant into each of the table's five indexes, and
-- the dead ones piled up in the shop's index ranges until vacuum (the
-- checkout bench: 0 HOT updates of 5,670; after this, 98.9 %). An index
-- on a generated column that changes only when a variant crosses the
-- threshold leaves the other updates HOT.
--
-- The threshold, 2 units, is `storekeep_store::rules::catalog::
-- LOW_STOCK_UNITS`; the store contract test of the figure checks that the
-- two agree. Adding a stored generated column rewrites the table once.
ALTER TABLE variants
    ADD COLUMN low_stock boolean GENERATED ALWAYS AS (on_hand - reserved <= 2) STORED;
DROP INDEX variants_available;
CREATE INDEX variants_low_stock ON variants (tenant_id) WHERE low_stock;
