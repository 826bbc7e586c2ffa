-- Hosts (40-hosts.md): the same tables and indexes as migrations/sqlite/0004_hosts.sql. A host
-- is a row of `instance` with obj_id = 'host'; its list fields are JSON arrays in the document.

-- Host <-> module relations (40-hosts §3); `dflt` copies the module's `default` flag. The
-- primary key forbids duplicate (host, module) rows.
CREATE TABLE host_module (
    host_id   BIGINT NOT NULL,
    module_id BIGINT NOT NULL,
    biz_id    BIGINT NOT NULL,
    set_id    BIGINT NOT NULL,
    dflt      BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT host_module_pkey PRIMARY KEY (host_id, module_id)
);
CREATE INDEX host_module_biz ON host_module (biz_id, module_id, host_id);
CREATE INDEX host_module_module ON host_module (module_id, host_id);
CREATE INDEX host_module_set ON host_module (set_id, host_id);

-- Inner addresses, one row per element; the partial unique index is the element-wise
-- (cloud area, inner IP) unique rule among static hosts.
CREATE TABLE host_ip (
    host_id  BIGINT NOT NULL,
    kind     TEXT NOT NULL,
    ip       TEXT NOT NULL,
    cloud_id BIGINT NOT NULL,
    static   BIGINT NOT NULL,
    CONSTRAINT host_ip_pkey PRIMARY KEY (host_id, kind, ip)
);
CREATE UNIQUE INDEX host_ip_static_ip_key ON host_ip (kind, cloud_id, ip) WHERE static = 1;
CREATE INDEX host_ip_lookup ON host_ip (ip, cloud_id);
