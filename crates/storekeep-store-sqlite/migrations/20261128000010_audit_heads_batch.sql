-- A chain's head may move forward by more than one entry in one update
-- (appending a batch of entries writes the head once), but only forward,
-- and only onto an entry the log holds with that hash.
DROP TRIGGER audit_heads_forward_only;

CREATE TRIGGER audit_heads_forward_only BEFORE UPDATE ON audit_heads
WHEN NEW.scope <> OLD.scope OR NEW.seq <= OLD.seq
    OR NOT EXISTS (SELECT 1 FROM audit_log
                   WHERE scope = NEW.scope AND seq = NEW.seq AND hash = NEW.hash)
BEGIN
    SELECT RAISE(ABORT, 'audit_heads only moves forward');
END;
