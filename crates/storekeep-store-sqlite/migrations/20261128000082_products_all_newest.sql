-- A shop's products newest first in every status (the admin list and the
-- console's products page without a status filter): the other product
-- indexes lead with (tenant_id, status), made for the storefront's active
-- products, so a list of all statuses sorted the shop's whole catalogue
-- (200 ms at 100,000 products on SQLite; 2 ms with this index).
CREATE INDEX products_all_newest ON products (tenant_id, id);
