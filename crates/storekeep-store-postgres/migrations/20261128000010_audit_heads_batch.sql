-- A chain's head may move forward by more than one entry in one update
-- (appending a batch of entries writes the head once), but only forward,
-- and only onto an entry the log holds with that hash.
CREATE OR REPLACE FUNCTION audit_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.scope <> OLD.scope OR NEW.seq <= OLD.seq
        OR NOT EXISTS (SELECT 1 FROM audit_log
                       WHERE scope = NEW.scope AND seq = NEW.seq AND hash = NEW.hash) THEN
        RAISE EXCEPTION 'audit_heads only moves forward';
    END IF;
    RETURN NEW;
END;
$$;
