-- Resized image variants (issue 17): the variants made at upload, as a
-- JSON list of {key, width, height, content_type, size_bytes} ('' for an
-- image uploaded before variants existed, until `storekeep media variants`
-- makes them), and their bytes, counted toward the plan's storage with the
-- original's.
ALTER TABLE product_images ADD COLUMN variants TEXT NOT NULL DEFAULT '';
ALTER TABLE product_images ADD COLUMN variants_bytes INTEGER NOT NULL DEFAULT 0;
