-- An erasure (issue 16) overwrites the request hash of its orders'
-- checkout idempotency rows (the hash is a digest of the checkout body,
-- email and address included): find them by order, not by a scan of the
-- shop's rows inside the erasure's write transaction.
CREATE INDEX idempotency_keys_order ON idempotency_keys (order_id);
