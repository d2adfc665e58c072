-- PostgreSQL drops `jobs_open` in this version (its migration of the same
-- number): its planner could read a claim's whole backlog through it. On
-- SQLite the claim runs in the one writer and the index stays for the
-- queue figures: nothing changes here. The migration exists so that both
-- backends' schemas carry the same version, which the portable archives
-- compare.
SELECT 1;
