-- The console's "low stock" figure: a shop's variants by units available,
-- so counting those at or under a threshold reads only them.
CREATE INDEX variants_available ON variants (tenant_id, (on_hand - reserved));
