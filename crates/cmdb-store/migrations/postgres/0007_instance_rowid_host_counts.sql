-- The SQLite migration of this number rebuilds `instance` as a rowid table, because SQLite's
-- WITHOUT ROWID tables read a large row's overflow pages on every key comparison (see
-- migrations/sqlite/0007_instance_rowid_host_counts.sql). PostgreSQL already keeps rows in a heap
-- apart from its indexes (large values in TOAST): `instance` stays as it is here, with the same
-- columns, keys and indexes as the rebuilt SQLite table.

-- Hosts of a business in host order (list_biz_hosts of a whole business: its count and its
-- pages), without sorting the relation rows of hosts that sit in several modules.
CREATE INDEX host_module_biz_host ON host_module (biz_id, host_id);
