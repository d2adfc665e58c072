-- PostgreSQL's sales counters moved to one bucket per committing
-- connection in this version (its migration of the same number). SQLite
-- has one writer and keeps one row per slot (bucket 0): nothing changes
-- here. The migration exists so that both backends' schemas carry the
-- same version, which the portable archives compare.
SELECT 1;
