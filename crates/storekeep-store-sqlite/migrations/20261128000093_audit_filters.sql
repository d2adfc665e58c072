-- The audit log's filters (issue 18: "who did what, when"), each an index
-- range in the listing's own order (newest first by seq), at any size:
-- a chain's entries by one actor, by one action, and the bounds of a time
-- span (the first entry at or after a time; times grow with seq within a
-- chain, so a span becomes a seq range). See storekeep-store-sql's audit.rs.
CREATE INDEX audit_log_actor ON audit_log (scope, actor, seq);
CREATE INDEX audit_log_action ON audit_log (scope, action, seq);
CREATE INDEX audit_log_at ON audit_log (scope, at, seq);
