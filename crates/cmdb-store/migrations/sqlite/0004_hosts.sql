-- Hosts (40-hosts.md). A host is a row of `instance` with obj_id = 'host' (inst_id = bk_host_id,
-- sequence `host`); its list fields (IPs, operators) are JSON arrays in the document. Two side
-- tables carry what must be indexed or enforced by the database.

-- Host <-> module relations (40-hosts §3). `dflt` copies the module's `default` flag (it never
-- changes after a module is created), so "internal or normal module" checks and the resource
-- pool's directories need no join. The primary key forbids duplicate (host, module) rows.
CREATE TABLE host_module (
    host_id   INTEGER NOT NULL,
    module_id INTEGER NOT NULL,
    biz_id    INTEGER NOT NULL,
    set_id    INTEGER NOT NULL,
    dflt      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (host_id, module_id)
) WITHOUT ROWID;
-- Hosts of a business / of modules of a business, in host order (list_biz_hosts pages, counts).
CREATE INDEX host_module_biz ON host_module (biz_id, module_id, host_id);
-- Hosts of a module (delete_module check, find_host_by_topo), of a set.
CREATE INDEX host_module_module ON host_module (module_id, host_id);
CREATE INDEX host_module_set ON host_module (set_id, host_id);

-- Inner addresses of every host, one row per element (`kind` 'v4' = bk_host_innerip, 'v6' =
-- bk_host_innerip_v6). The partial unique index IS the element-wise unique rule (cloud area,
-- inner IP) among static hosts: two static hosts of one cloud area cannot share an address,
-- whichever process writes them; dynamic hosts are exempt.
CREATE TABLE host_ip (
    host_id  INTEGER NOT NULL,
    kind     TEXT NOT NULL,
    ip       TEXT NOT NULL,
    cloud_id INTEGER NOT NULL,
    static   INTEGER NOT NULL,
    PRIMARY KEY (host_id, kind, ip)
) WITHOUT ROWID;
CREATE UNIQUE INDEX host_ip_static_ip_key ON host_ip (kind, cloud_id, ip) WHERE static = 1;
CREATE INDEX host_ip_lookup ON host_ip (ip, cloud_id);
