-- Topology fields every node of an instance tree needs (30-topology §5.17), as plain columns
-- beside the document: reading the business tree of 100,000+ modules must not parse every
-- JSON document. The document stays the wire truth; the instance writers keep these equal to
-- it (`default`, `set_template_id`, `service_template_id`, `host_apply_enabled`).
ALTER TABLE instance ADD COLUMN dflt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instance ADD COLUMN set_tpl INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instance ADD COLUMN svc_tpl INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instance ADD COLUMN host_apply INTEGER NOT NULL DEFAULT 0;
UPDATE instance SET
    dflt = COALESCE(CAST(json_extract(data, '$.default') AS INTEGER), 0),
    set_tpl = COALESCE(CAST(json_extract(data, '$.set_template_id') AS INTEGER), 0),
    svc_tpl = COALESCE(CAST(json_extract(data, '$.service_template_id') AS INTEGER), 0),
    host_apply = CASE WHEN json_type(data, '$.host_apply_enabled') = 'true' THEN 1 ELSE 0 END
WHERE biz_id > 0;
-- Covering index of the tree reads: topology rows always have a business (biz rows their own
-- id), plain model instances mostly none, so they pay nothing for it.
CREATE INDEX instance_topo ON instance
    (obj_id, biz_id, parent_id, inst_id, inst_name, dflt, set_tpl, svc_tpl, host_apply)
    WHERE biz_id > 0;
