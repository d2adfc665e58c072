-- Payments that paid no order: a processor confirmed money for an order
-- no longer awaiting it (cancelled meanwhile, or paid by another attempt).
-- The money is taken; staff settle it outside (a refund at the processor,
-- or the goods sent) and mark it resolved. `unmatched_at` is set when the
-- confirmation arrives; `resolved_at`/`resolved_by`/`resolution` when staff
-- mark it. The partial index holds only the open ones: the console's
-- figure and list read at most a page of it.
ALTER TABLE payments ADD COLUMN unmatched_at TEXT;
ALTER TABLE payments ADD COLUMN resolved_at TEXT;
ALTER TABLE payments ADD COLUMN resolved_by TEXT;
ALTER TABLE payments ADD COLUMN resolution TEXT;

-- Those confirmed before this column existed, from their event.
UPDATE payments SET unmatched_at = (
    SELECT min(e.created_at) FROM outbox_events e
    WHERE e.tenant_id = payments.tenant_id AND e.topic = 'payment.unmatched'
      AND json_extract(e.payload, '$.payment_id') = payments.id)
WHERE status = 'confirmed';

CREATE INDEX payments_unmatched ON payments (tenant_id, id)
    WHERE unmatched_at IS NOT NULL AND resolved_at IS NULL;
