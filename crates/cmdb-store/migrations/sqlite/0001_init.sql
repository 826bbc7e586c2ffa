-- Schema v1 of cmdb-rs on SQLite. Append-only: never edit a shipped migration, add a new one.
-- Metadata records are JSON documents (`doc`) beside the columns that carry their identity and
-- uniqueness, because bk-cmdb records have many optional fields and all of them are wire contract.

CREATE TABLE id_sequence (
    name  TEXT PRIMARY KEY,          -- sequence name: inst, biz, set, module, host, plat, ...
    value INTEGER NOT NULL           -- last id handed out
);

CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE classification (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    cls_id   TEXT NOT NULL UNIQUE,
    cls_name TEXT UNIQUE,            -- NULL when the classification has no name
    doc      TEXT NOT NULL
);

CREATE TABLE object (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    obj_id   TEXT NOT NULL UNIQUE,
    obj_name TEXT NOT NULL UNIQUE,
    cls_id   TEXT NOT NULL REFERENCES classification (cls_id),
    doc      TEXT NOT NULL
);
CREATE INDEX object_cls ON object (cls_id);

CREATE TABLE attribute (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    obj_id        TEXT NOT NULL REFERENCES object (obj_id),
    biz_id        INTEGER NOT NULL DEFAULT 0,
    property_id   TEXT NOT NULL,
    property_name TEXT NOT NULL,
    doc           TEXT NOT NULL,
    UNIQUE (obj_id, biz_id, property_id),
    UNIQUE (obj_id, biz_id, property_name)
);

CREATE TABLE attribute_group (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    obj_id     TEXT NOT NULL REFERENCES object (obj_id),
    biz_id     INTEGER NOT NULL DEFAULT 0,
    group_id   TEXT NOT NULL,
    group_name TEXT NOT NULL,
    doc        TEXT NOT NULL,
    UNIQUE (obj_id, biz_id, group_id),
    UNIQUE (obj_id, biz_id, group_name)
);

CREATE TABLE unique_rule (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    obj_id TEXT NOT NULL REFERENCES object (obj_id),
    doc    TEXT NOT NULL
);
CREATE INDEX unique_rule_obj ON unique_rule (obj_id);

CREATE TABLE association_kind (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    asst_id TEXT NOT NULL UNIQUE,
    doc     TEXT NOT NULL
);

CREATE TABLE object_association (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    obj_asst_id TEXT NOT NULL UNIQUE,
    obj_id      TEXT NOT NULL REFERENCES object (obj_id),
    asst_obj_id TEXT NOT NULL REFERENCES object (obj_id),
    asst_id     TEXT NOT NULL,
    doc         TEXT NOT NULL,
    UNIQUE (obj_id, asst_obj_id, asst_id)
);
CREATE INDEX object_association_dst ON object_association (asst_obj_id);

-- Instances of every model. `data` is the full wire document; the columns copy the fields that
-- are looked up or sorted by most often so they are plain indexed columns.
-- The foreign keys on obj_id are what make "delete a model" and "create an instance of it"
-- race-safe: the database refuses whichever of the two comes second.
CREATE TABLE instance (
    obj_id     TEXT NOT NULL REFERENCES object (obj_id),
    inst_id    INTEGER NOT NULL,
    inst_name  TEXT NOT NULL DEFAULT '',
    biz_id     INTEGER NOT NULL DEFAULT 0,
    parent_id  INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (obj_id, inst_id)
) WITHOUT ROWID;
CREATE INDEX instance_name ON instance (obj_id, inst_name);
CREATE INDEX instance_id ON instance (inst_id);
CREATE INDEX instance_parent ON instance (obj_id, parent_id);
CREATE INDEX instance_biz ON instance (obj_id, biz_id);

-- One row per (unique rule, instance) whose key values participate in the rule: the primary key
-- is what makes racing creates lose cleanly, in one process or many.
CREATE TABLE instance_unique (
    rule_id INTEGER NOT NULL,
    key     TEXT NOT NULL,
    obj_id  TEXT NOT NULL,
    inst_id INTEGER NOT NULL,
    PRIMARY KEY (rule_id, key)
) WITHOUT ROWID;
CREATE INDEX instance_unique_inst ON instance_unique (obj_id, inst_id);

-- Instance associations (50-associations.md). Both directions are indexed so association queries
-- are lookups, not scans.
CREATE TABLE instance_association (
    id          INTEGER PRIMARY KEY,
    obj_asst_id TEXT NOT NULL,
    asst_id     TEXT NOT NULL,
    obj_id      TEXT NOT NULL,
    inst_id     INTEGER NOT NULL,
    asst_obj_id TEXT NOT NULL,
    asst_inst_id INTEGER NOT NULL,
    supplier    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    doc         TEXT NOT NULL
);
CREATE INDEX instance_association_src ON instance_association (obj_id, inst_id);
CREATE INDEX instance_association_dst ON instance_association (asst_obj_id, asst_inst_id);
CREATE INDEX instance_association_kind ON instance_association (obj_asst_id);

CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    audit_type     TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    action         TEXT NOT NULL,
    operate_from   TEXT NOT NULL,
    user_name      TEXT NOT NULL,
    supplier       TEXT NOT NULL,
    biz_id         INTEGER NOT NULL DEFAULT 0,
    resource_id    TEXT NOT NULL,
    resource_name  TEXT NOT NULL,
    operation_time INTEGER NOT NULL,
    app_code       TEXT NOT NULL,
    detail         TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (operation_time);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);

CREATE TABLE change_event (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    resource   TEXT NOT NULL,
    event_type TEXT NOT NULL,
    obj_id     TEXT NOT NULL,
    inst_id    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX change_event_resource ON change_event (resource, id);
CREATE INDEX change_event_time ON change_event (created_at);
