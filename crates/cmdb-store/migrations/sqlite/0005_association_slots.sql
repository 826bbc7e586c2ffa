-- Instance-association cardinality enforced by the database (50-associations §3), so racing
-- creates cannot both give a 1:1 source (or a 1:n / 1:1 target) a second link, in one process
-- or many. A new link writes its "slots": `src_slot` = the source instance when the model
-- association is 1:1, `dst_slot` = the target instance when it is 1:1 or 1:n, NULL otherwise
-- (`Mapping::slots` in cmdb-domain). The UNIQUE indexes below let only one link hold a slot per
-- model association; NULL slots never collide.
ALTER TABLE instance_association ADD COLUMN src_slot INTEGER;
ALTER TABLE instance_association ADD COLUMN dst_slot INTEGER;
UPDATE instance_association SET
    src_slot = CASE WHEN (SELECT json_extract(o.doc, '$.mapping') FROM object_association o
                          WHERE o.obj_asst_id = instance_association.obj_asst_id) = '1:1'
                    THEN inst_id END,
    dst_slot = CASE WHEN (SELECT json_extract(o.doc, '$.mapping') FROM object_association o
                          WHERE o.obj_asst_id = instance_association.obj_asst_id) IN ('1:1', '1:n')
                    THEN asst_inst_id END;
CREATE UNIQUE INDEX instance_association_src_slot ON instance_association (obj_asst_id, src_slot)
    WHERE src_slot IS NOT NULL;
CREATE UNIQUE INDEX instance_association_dst_slot ON instance_association (obj_asst_id, dst_slot)
    WHERE dst_slot IS NOT NULL;
-- One link per (model association, source, target): the exact-duplicate rule (1199014).
CREATE UNIQUE INDEX instance_association_pair ON instance_association (obj_asst_id, inst_id, asst_inst_id);
-- Lookups by instance id alone, whatever the model: the association filters of
-- find_instassociation_with_inst / search_instance_associations name `bk_inst_id` or
-- `bk_asst_inst_id` with the model on either side, so these keep them index lookups.
CREATE INDEX instance_association_inst ON instance_association (inst_id);
CREATE INDEX instance_association_asst_inst ON instance_association (asst_inst_id);
