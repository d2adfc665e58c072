-- Payments that paid no order: a processor confirmed money for an order
-- no longer awaiting it (cancelled meanwhile, or paid by another attempt).
-- The money is taken; staff settle it outside (a refund at the processor,
-- or the goods sent) and mark it resolved. `unmatched_at` is set when the
-- confirmation arrives; `resolved_at`/`resolved_by`/`resolution` when staff
-- mark it. The partial index holds only the open ones: the console's
-- figure and list read at most a page of it.
ALTER TABLE payments ADD COLUMN unmatched_at timestamptz;
ALTER TABLE payments ADD COLUMN resolved_at timestamptz;
ALTER TABLE payments ADD COLUMN resolved_by text;
ALTER TABLE payments ADD COLUMN resolution text;

-- Those confirmed before these columns existed, from their event.
UPDATE payments p SET unmatched_at = e.first
FROM (SELECT tenant_id, (payload->>'payment_id')::uuid AS payment_id, min(created_at) AS first
      FROM outbox_events WHERE topic = 'payment.unmatched'
      GROUP BY 1, 2) e
WHERE p.status = 'confirmed' AND e.tenant_id = p.tenant_id AND e.payment_id = p.id;

CREATE INDEX payments_unmatched ON payments (tenant_id, id)
    WHERE unmatched_at IS NOT NULL AND resolved_at IS NULL;
