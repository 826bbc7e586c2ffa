-- Topology fields every node of an instance tree needs (30-topology §5.17), as plain columns
-- beside the document: reading the business tree of 100,000+ modules must not parse every
-- JSON document. The document stays the wire truth; the instance writers keep these equal to
-- it (`default`, `set_template_id`, `service_template_id`, `host_apply_enabled`).
ALTER TABLE instance
    ADD COLUMN dflt BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN set_tpl BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN svc_tpl BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN host_apply BIGINT NOT NULL DEFAULT 0;
UPDATE instance SET
    dflt = CASE WHEN jsonb_typeof(data -> 'default') = 'number'
                THEN CAST(CAST(data ->> 'default' AS NUMERIC) AS BIGINT) ELSE 0 END,
    set_tpl = CASE WHEN jsonb_typeof(data -> 'set_template_id') = 'number'
                THEN CAST(CAST(data ->> 'set_template_id' AS NUMERIC) AS BIGINT) ELSE 0 END,
    svc_tpl = CASE WHEN jsonb_typeof(data -> 'service_template_id') = 'number'
                THEN CAST(CAST(data ->> 'service_template_id' AS NUMERIC) AS BIGINT) ELSE 0 END,
    host_apply = CASE WHEN data -> 'host_apply_enabled' = 'true'::jsonb THEN 1 ELSE 0 END
WHERE biz_id > 0;
-- Covering index of the tree reads: topology rows always have a business (biz rows their own
-- id), plain model instances mostly none, so they pay nothing for it.
CREATE INDEX instance_topo ON instance
    (obj_id, biz_id, parent_id, inst_id, inst_name, dflt, set_tpl, svc_tpl, host_apply)
    WHERE biz_id > 0;
