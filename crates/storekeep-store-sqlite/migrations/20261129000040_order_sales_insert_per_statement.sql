-- PostgreSQL's sales counters count a statement's new orders once per
-- statement in this version (its migration of the same number). SQLite
-- has no statement-level triggers and its row triggers run in the one
-- writer's transaction: nothing changes here. The migration exists so
-- that both backends' schemas carry the same version, which the portable
-- archives compare.
SELECT 1;
