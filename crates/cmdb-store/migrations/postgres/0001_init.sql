-- Schema v1 of cmdb-rs on PostgreSQL: the same tables, columns, constraints and indexes as
-- migrations/sqlite/0001_init.sql, in PostgreSQL types (BIGINT ids, JSONB documents, TEXT).
-- Append-only: never edit a shipped migration, add a new one with the same version number as
-- its SQLite twin (a test fails when the two lists differ).
--
-- Constraint names are `<table>_<distinguishing column(s)>_key`: the operations recognise a
-- refused write with `StoreError::is_unique_on("<column>")`, so each name contains the column it
-- guards and no column name another check of the same table looks for (SQLite reports
-- `table.col, ...` instead).

-- Kept for compatibility with the SQLite schema (and statements that write it); ids come from
-- the native sequences below.
CREATE TABLE id_sequence (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- One native sequence per id kind: `Tx::next_id(name)` is `nextval('cmdb_id_<name>')`, never
-- rolled back, so ids are unique across processes and never reused. Kinds not listed here are
-- created on first use by the backend.
CREATE SEQUENCE cmdb_id_classification;
CREATE SEQUENCE cmdb_id_object;
CREATE SEQUENCE cmdb_id_object_association;
CREATE SEQUENCE cmdb_id_attribute;
CREATE SEQUENCE cmdb_id_attribute_group;
CREATE SEQUENCE cmdb_id_unique_rule;
CREATE SEQUENCE cmdb_id_association_kind;
CREATE SEQUENCE cmdb_id_inst;
CREATE SEQUENCE cmdb_id_biz;
CREATE SEQUENCE cmdb_id_set;
CREATE SEQUENCE cmdb_id_module;
CREATE SEQUENCE cmdb_id_host;
-- Cloud areas 0 and 90000001 are seeded with explicit ids; later ones start at 1.
CREATE SEQUENCE cmdb_id_plat START WITH 1;

CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE classification (
    id       BIGINT PRIMARY KEY,
    cls_id   TEXT NOT NULL,
    cls_name TEXT,                   -- NULL when the classification has no name
    doc      JSONB NOT NULL,
    CONSTRAINT classification_cls_id_key UNIQUE (cls_id),
    CONSTRAINT classification_cls_name_key UNIQUE (cls_name)
);

CREATE TABLE object (
    id       BIGINT PRIMARY KEY,
    obj_id   TEXT NOT NULL,
    obj_name TEXT NOT NULL,
    cls_id   TEXT NOT NULL,
    doc      JSONB NOT NULL,
    CONSTRAINT object_obj_id_key UNIQUE (obj_id),
    CONSTRAINT object_obj_name_key UNIQUE (obj_name),
    CONSTRAINT object_cls_id_fkey FOREIGN KEY (cls_id) REFERENCES classification (cls_id)
);
CREATE INDEX object_cls ON object (cls_id);

CREATE TABLE attribute (
    id            BIGINT PRIMARY KEY,
    obj_id        TEXT NOT NULL,
    biz_id        BIGINT NOT NULL DEFAULT 0,
    property_id   TEXT NOT NULL,
    property_name TEXT NOT NULL,
    doc           JSONB NOT NULL,
    CONSTRAINT attribute_property_id_key UNIQUE (obj_id, biz_id, property_id),
    CONSTRAINT attribute_property_name_key UNIQUE (obj_id, biz_id, property_name),
    CONSTRAINT attribute_obj_id_fkey FOREIGN KEY (obj_id) REFERENCES object (obj_id)
);

CREATE TABLE attribute_group (
    id         BIGINT PRIMARY KEY,
    obj_id     TEXT NOT NULL,
    biz_id     BIGINT NOT NULL DEFAULT 0,
    group_id   TEXT NOT NULL,
    group_name TEXT NOT NULL,
    doc        JSONB NOT NULL,
    CONSTRAINT attribute_group_group_id_key UNIQUE (obj_id, biz_id, group_id),
    CONSTRAINT attribute_group_group_name_key UNIQUE (obj_id, biz_id, group_name),
    CONSTRAINT attribute_group_obj_id_fkey FOREIGN KEY (obj_id) REFERENCES object (obj_id)
);

CREATE TABLE unique_rule (
    id     BIGINT PRIMARY KEY,
    obj_id TEXT NOT NULL,
    doc    JSONB NOT NULL,
    CONSTRAINT unique_rule_obj_id_fkey FOREIGN KEY (obj_id) REFERENCES object (obj_id)
);
CREATE INDEX unique_rule_obj ON unique_rule (obj_id);

CREATE TABLE association_kind (
    id      BIGINT PRIMARY KEY,
    asst_id TEXT NOT NULL,
    doc     JSONB NOT NULL,
    CONSTRAINT association_kind_asst_id_key UNIQUE (asst_id)
);

CREATE TABLE object_association (
    id          BIGINT PRIMARY KEY,
    obj_asst_id TEXT NOT NULL,
    obj_id      TEXT NOT NULL,
    asst_obj_id TEXT NOT NULL,
    asst_id     TEXT NOT NULL,
    doc         JSONB NOT NULL,
    CONSTRAINT object_association_obj_asst_id_key UNIQUE (obj_asst_id),
    CONSTRAINT object_association_obj_id_asst_obj_id_asst_id_key UNIQUE (obj_id, asst_obj_id, asst_id),
    CONSTRAINT object_association_obj_id_fkey FOREIGN KEY (obj_id) REFERENCES object (obj_id),
    CONSTRAINT object_association_asst_obj_id_fkey FOREIGN KEY (asst_obj_id) REFERENCES object (obj_id)
);
CREATE INDEX object_association_dst ON object_association (asst_obj_id);

-- Instances of every model. `data` is the full wire document; the columns copy the fields that
-- are looked up or sorted by most often so they are plain indexed columns.
CREATE TABLE instance (
    obj_id     TEXT NOT NULL,
    inst_id    BIGINT NOT NULL,
    inst_name  TEXT NOT NULL DEFAULT '',
    biz_id     BIGINT NOT NULL DEFAULT 0,
    parent_id  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    data       JSONB NOT NULL,
    CONSTRAINT instance_pkey PRIMARY KEY (obj_id, inst_id),
    -- With the obj_id foreign keys, "delete a model" and "create an instance of it" are
    -- race-safe: the database refuses whichever of the two comes second.
    CONSTRAINT instance_obj_id_fkey FOREIGN KEY (obj_id) REFERENCES object (obj_id)
);
CREATE INDEX instance_name ON instance (obj_id, inst_name);
CREATE INDEX instance_id ON instance (inst_id);
CREATE INDEX instance_parent ON instance (obj_id, parent_id);
CREATE INDEX instance_biz ON instance (obj_id, biz_id);

-- One row per (unique rule, instance) whose key values participate in the rule: the primary key
-- is what makes racing creates lose cleanly, in one process or many.
CREATE TABLE instance_unique (
    rule_id BIGINT NOT NULL,
    key     TEXT NOT NULL,
    obj_id  TEXT NOT NULL,
    inst_id BIGINT NOT NULL,
    CONSTRAINT instance_unique_pkey PRIMARY KEY (rule_id, key)
);
CREATE INDEX instance_unique_inst ON instance_unique (obj_id, inst_id);

-- Instance associations (50-associations.md). Both directions are indexed so association queries
-- are lookups, not scans. (SQLite's INTEGER PRIMARY KEY assigns an id when none is given.)
CREATE TABLE instance_association (
    id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    obj_asst_id  TEXT NOT NULL,
    asst_id      TEXT NOT NULL,
    obj_id       TEXT NOT NULL,
    inst_id      BIGINT NOT NULL,
    asst_obj_id  TEXT NOT NULL,
    asst_inst_id BIGINT NOT NULL,
    supplier     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    doc          JSONB NOT NULL
);
CREATE INDEX instance_association_src ON instance_association (obj_id, inst_id);
CREATE INDEX instance_association_dst ON instance_association (asst_obj_id, asst_inst_id);
CREATE INDEX instance_association_kind ON instance_association (obj_asst_id);

CREATE TABLE audit_log (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    audit_type     TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    action         TEXT NOT NULL,
    operate_from   TEXT NOT NULL,
    user_name      TEXT NOT NULL,
    supplier       TEXT NOT NULL,
    biz_id         BIGINT NOT NULL DEFAULT 0,
    resource_id    TEXT NOT NULL,
    resource_name  TEXT NOT NULL,
    operation_time BIGINT NOT NULL,
    app_code       TEXT NOT NULL,
    detail         JSONB NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (operation_time);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);

CREATE TABLE change_event (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    resource   TEXT NOT NULL,
    event_type TEXT NOT NULL,
    obj_id     TEXT NOT NULL,
    inst_id    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    detail     JSONB NOT NULL
);
CREATE INDEX change_event_resource ON change_event (resource, id);
CREATE INDEX change_event_time ON change_event (created_at);
