-- i16 review: who recorded a rental money movement, as the audit log names
-- actors (`staff:<id>`, `api_key:<id>`, `oauth_client:<id>`,
-- `customer:<id>`, `provider:<name>`, `system`). NULL on rows written
-- before this migration (their audit entries still say who).
ALTER TABLE rental_payments ADD COLUMN actor TEXT;
