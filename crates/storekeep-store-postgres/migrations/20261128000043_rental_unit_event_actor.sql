-- Who wrote a rental unit's history row, as the audit log names actors
-- (`staff:<id>`, `api_key:<id>`, `oauth_client:<id>`, `customer:<id>`,
-- `guest`, `provider:<name>`, `system`): `actor_id` holds only a staff
-- account's id, so rows written at checkout, by a payment, by expiry or
-- through an API key named no one. Rows written before this migration by
-- staff get `staff:<actor_id>`; the others stay NULL (their audit entries
-- still say who).
ALTER TABLE rental_unit_events ADD COLUMN actor TEXT;
UPDATE rental_unit_events SET actor = 'staff:' || CAST(actor_id AS text) WHERE actor_id IS NOT NULL;
