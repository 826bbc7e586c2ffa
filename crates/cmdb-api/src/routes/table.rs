//! THE route table: one row per endpoint, naming its ESB api name (if it has one), its v3
//! method and path, and its handler. Both routers are generated from it, and ESB path
//! placeholders are filled from body fields of the same name (00-protocol §1.2).

use std::future::Future;
use std::pin::Pin;

use crate::envelope::Data;
use crate::error::ApiError;
use crate::handlers::{associations, instances, models, topology};
use crate::request::ApiRequest;
use crate::AppState;
use axum::http::Method;

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Data, ApiError>> + Send>>;
/// A handler: state and request in, `data` or an error out.
pub type Handler = fn(AppState, ApiRequest) -> HandlerFuture;

/// One endpoint.
pub struct Route {
    /// ESB api name, `None` for v3-only routes.
    pub esb: Option<&'static str>,
    /// v3 HTTP method.
    pub method: Method,
    /// v3 path template with `{placeholders}` (axum syntax).
    pub path: &'static str,
    /// What serves it.
    pub handler: Handler,
}

impl Route {
    /// Placeholder names of the path template, in order.
    pub fn params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

macro_rules! route {
    ($esb:expr, $method:ident, $path:expr, $handler:path) => {
        Route {
            esb: $esb,
            method: Method::$method,
            path: $path,
            handler: |state, req| {
                Box::pin(async move { $handler(state, req).await.map(Data::from) })
            },
        }
    };
}

/// Every endpoint cmdb-rs serves.
pub static ROUTES: &[Route] = &[
    // 10-models: classifications
    route!(
        Some("search_classifications"),
        POST,
        "/api/v3/find/objectclassification",
        models::search_classifications
    ),
    route!(
        Some("create_classification"),
        POST,
        "/api/v3/create/objectclassification",
        models::create_classification
    ),
    route!(
        Some("update_classification"),
        PUT,
        "/api/v3/update/objectclassification/{id}",
        models::update_classification
    ),
    route!(
        Some("delete_classification"),
        DELETE,
        "/api/v3/delete/objectclassification/{id}",
        models::delete_classification
    ),
    // 10-models: models
    route!(
        Some("search_objects"),
        POST,
        "/api/v3/find/object",
        models::search_objects
    ),
    route!(
        Some("create_object"),
        POST,
        "/api/v3/create/object",
        models::create_object
    ),
    route!(
        Some("update_object"),
        PUT,
        "/api/v3/update/object/{id}",
        models::update_object
    ),
    route!(
        Some("delete_object"),
        DELETE,
        "/api/v3/delete/object/{id}",
        models::delete_object
    ),
    route!(
        None,
        POST,
        "/api/v3/create/topomodelmainline",
        models::create_mainline_level
    ),
    route!(
        None,
        DELETE,
        "/api/v3/delete/topomodelmainline/object/{bk_obj_id}",
        models::delete_mainline_level
    ),
    route!(
        Some("search_object_topo"),
        POST,
        "/api/v3/find/objecttopology",
        models::search_object_topo
    ),
    route!(
        Some("update_object_topo_graphics"),
        POST,
        "/api/v3/update/objecttopo/scope_type/{scope_type}/scope_id/{scope_id}",
        models::update_topo_graphics
    ),
    route!(
        None,
        POST,
        "/api/v3/find/objecttopo/scope_type/{scope_type}/scope_id/{scope_id}",
        models::find_topo_graphics
    ),
    // 10-models: attributes
    route!(
        Some("search_object_attribute"),
        POST,
        "/api/v3/find/objectattr",
        models::search_attributes
    ),
    route!(
        Some("create_object_attribute"),
        POST,
        "/api/v3/create/objectattr",
        models::create_attribute
    ),
    route!(
        None,
        POST,
        "/api/v3/create/objectattr/biz/{bk_biz_id}",
        models::create_attribute
    ),
    route!(
        Some("update_object_attribute"),
        PUT,
        "/api/v3/update/objectattr/{id}",
        models::update_attribute
    ),
    route!(
        None,
        PUT,
        "/api/v3/update/objectattr/biz/{bk_biz_id}/id/{id}",
        models::update_attribute
    ),
    route!(
        Some("delete_object_attribute"),
        DELETE,
        "/api/v3/delete/objectattr/{id}",
        models::delete_attribute
    ),
    // 10-models: attribute groups (v3 only)
    route!(
        None,
        POST,
        "/api/v3/create/objectattgroup",
        models::create_group
    ),
    route!(
        None,
        PUT,
        "/api/v3/update/objectattgroup",
        models::update_group
    ),
    route!(
        None,
        DELETE,
        "/api/v3/delete/objectattgroup/{id}",
        models::delete_group
    ),
    route!(
        None,
        PUT,
        "/api/v3/update/objectattgroupproperty",
        models::move_group_properties
    ),
    route!(
        None,
        POST,
        "/api/v3/find/objectattgroup/object/{bk_obj_id}",
        models::find_groups
    ),
    route!(
        None,
        PUT,
        "/api/v3/update/objectattgroup/groupindex",
        models::swap_group_index
    ),
    // 10-models: unique rules (v3 only)
    route!(
        None,
        POST,
        "/api/v3/create/objectunique/object/{bk_obj_id}",
        models::create_unique
    ),
    route!(
        None,
        PUT,
        "/api/v3/update/objectunique/object/{bk_obj_id}/unique/{id}",
        models::update_unique
    ),
    route!(
        None,
        POST,
        "/api/v3/delete/objectunique/object/{bk_obj_id}/unique/{id}",
        models::delete_unique
    ),
    route!(
        None,
        POST,
        "/api/v3/find/objectunique/object/{bk_obj_id}",
        models::find_uniques
    ),
    // 20-instances
    route!(
        Some("create_inst"),
        POST,
        "/api/v3/create/instance/object/{bk_obj_id}",
        instances::create_inst
    ),
    route!(
        Some("batch_create_inst"),
        POST,
        "/api/v3/createmany/instance/object/{bk_obj_id}",
        instances::batch_create_inst
    ),
    route!(
        Some("update_inst"),
        PUT,
        "/api/v3/update/instance/object/{bk_obj_id}/inst/{bk_inst_id}",
        instances::update_inst
    ),
    route!(
        Some("batch_update_inst"),
        PUT,
        "/api/v3/updatemany/instance/object/{bk_obj_id}",
        instances::batch_update_inst
    ),
    route!(
        Some("delete_inst"),
        DELETE,
        "/api/v3/delete/instance/object/{bk_obj_id}/inst/{bk_inst_id}",
        instances::delete_inst
    ),
    route!(
        Some("batch_delete_inst"),
        DELETE,
        "/api/v3/deletemany/instance/object/{bk_obj_id}",
        instances::batch_delete_inst
    ),
    route!(
        Some("search_inst"),
        POST,
        "/api/v3/find/instassociation/object/{bk_obj_id}",
        instances::search_inst
    ),
    route!(
        Some("search_inst_by_object"),
        POST,
        "/api/v3/inst/search/{bk_supplier_account}/{bk_obj_id}",
        instances::search_inst_by_object
    ),
    // The API-gateway path of search_inst_by_object (same handler; ESB names are unique).
    route!(
        None,
        POST,
        "/api/v3/inst/search/owner/{bk_supplier_account}/object/{bk_obj_id}",
        instances::search_inst_by_object
    ),
    route!(
        Some("search_object_instances"),
        POST,
        "/api/v3/search/instances/object/{bk_obj_id}",
        instances::search_object_instances
    ),
    route!(
        Some("count_object_instances"),
        POST,
        "/api/v3/count/instances/object/{bk_obj_id}",
        instances::count_object_instances
    ),
    // 50-associations: kinds (v3 only), model associations, instance associations;
    // 20-instances §11: the association topology of one instance.
    route!(
        None,
        POST,
        "/api/v3/find/associationtype",
        associations::search_kinds
    ),
    route!(
        None,
        POST,
        "/api/v3/create/associationtype",
        associations::create_kind
    ),
    route!(
        None,
        PUT,
        "/api/v3/update/associationtype/{id}",
        associations::update_kind
    ),
    route!(
        None,
        DELETE,
        "/api/v3/delete/associationtype/{id}",
        associations::delete_kind
    ),
    route!(
        Some("find_object_association"),
        POST,
        "/api/v3/find/objectassociation",
        associations::find_object_association
    ),
    route!(
        None,
        POST,
        "/api/v3/create/objectassociation",
        associations::create_object_association
    ),
    route!(
        None,
        PUT,
        "/api/v3/update/objectassociation/{id}",
        associations::update_object_association
    ),
    route!(
        None,
        DELETE,
        "/api/v3/delete/objectassociation/{id}",
        associations::delete_object_association
    ),
    route!(
        Some("add_instance_association"),
        POST,
        "/api/v3/create/instassociation",
        associations::add_instance_association
    ),
    route!(
        Some("batch_create_instance_association"),
        POST,
        "/api/v3/createmany/instassociation",
        associations::batch_create_instance_association
    ),
    route!(
        Some("delete_instance_association"),
        DELETE,
        "/api/v3/delete/instassociation/{bk_obj_id}/{id}",
        associations::delete_instance_association
    ),
    route!(
        Some("delete_related_inst_asso"),
        DELETE,
        "/api/v3/delete/instassociation/batch",
        associations::delete_related_inst_asso
    ),
    route!(
        Some("find_instance_association"),
        POST,
        "/api/v3/find/instassociation",
        associations::find_instance_association
    ),
    route!(
        Some("find_instassociation_with_inst"),
        POST,
        "/api/v3/find/instassociation/object/{bk_obj_id}/inst/detail",
        associations::find_instassociation_with_inst
    ),
    route!(
        Some("search_instance_associations"),
        POST,
        "/api/v3/search/instance_associations/object/{bk_obj_id}",
        associations::search_instance_associations
    ),
    route!(
        Some("count_instance_associations"),
        POST,
        "/api/v3/count/instance_associations/object/{bk_obj_id}",
        associations::count_instance_associations
    ),
    route!(
        Some("search_related_inst_asso"),
        POST,
        "/api/v3/find/instassociation/related",
        associations::search_related_inst_asso
    ),
    route!(
        Some("search_inst_asst_object_inst_base_info"),
        POST,
        "/api/v3/findmany/inst/association/association_object/inst_base_info",
        associations::search_inst_asst_object_inst_base_info
    ),
    route!(
        Some("search_inst_association_topo"),
        POST,
        "/api/v3/find/insttopo/object/{bk_obj_id}/inst/{bk_inst_id}",
        associations::search_inst_association_topo
    ),
    // 30-topology: businesses
    route!(
        Some("search_business"),
        POST,
        "/api/v3/biz/search/{bk_supplier_account}",
        topology::search_business
    ),
    route!(
        Some("create_business"),
        POST,
        "/api/v3/biz/{bk_supplier_account}",
        topology::create_business
    ),
    route!(
        Some("update_business"),
        PUT,
        "/api/v3/biz/{bk_supplier_account}/{bk_biz_id}",
        topology::update_business
    ),
    route!(
        Some("update_business_enable_status"),
        PUT,
        "/api/v3/biz/status/{flag}/{bk_supplier_account}/{bk_biz_id}",
        topology::update_business_enable_status
    ),
    route!(
        Some("delete_business"),
        POST,
        "/api/v3/deletemany/biz",
        topology::delete_business
    ),
    route!(
        Some("get_biz_internal_module"),
        GET,
        "/api/v3/topo/internal/{bk_supplier_account}/{bk_biz_id}",
        topology::get_biz_internal_module
    ),
    // 30-topology: sets and modules
    route!(
        Some("create_set"),
        POST,
        "/api/v3/set/{bk_biz_id}",
        topology::create_set
    ),
    route!(
        Some("search_set"),
        POST,
        "/api/v3/set/search/{bk_supplier_account}/{bk_biz_id}",
        topology::search_set
    ),
    route!(
        Some("update_set"),
        PUT,
        "/api/v3/set/{bk_biz_id}/{bk_set_id}",
        topology::update_set
    ),
    route!(
        Some("delete_set"),
        DELETE,
        "/api/v3/set/{bk_biz_id}/{bk_set_id}",
        topology::delete_set
    ),
    route!(
        Some("batch_delete_set"),
        DELETE,
        "/api/v3/set/{bk_biz_id}/batch",
        topology::batch_delete_set
    ),
    route!(
        Some("find_set_batch"),
        POST,
        "/api/v3/findmany/set/bk_biz_id/{bk_biz_id}",
        topology::find_set_batch
    ),
    route!(
        Some("create_module"),
        POST,
        "/api/v3/module/{bk_biz_id}/{bk_set_id}",
        topology::create_module
    ),
    route!(
        Some("search_module"),
        POST,
        "/api/v3/module/search/{bk_supplier_account}/{bk_biz_id}/{bk_set_id}",
        topology::search_module
    ),
    route!(
        Some("update_module"),
        PUT,
        "/api/v3/module/{bk_biz_id}/{bk_set_id}/{bk_module_id}",
        topology::update_module
    ),
    route!(
        Some("delete_module"),
        DELETE,
        "/api/v3/module/{bk_biz_id}/{bk_set_id}/{bk_module_id}",
        topology::delete_module
    ),
    route!(
        Some("find_module_batch"),
        POST,
        "/api/v3/findmany/module/bk_biz_id/{bk_biz_id}",
        topology::find_module_batch
    ),
    // 30-topology: topology reads
    route!(
        Some("search_biz_inst_topo"),
        POST,
        "/api/v3/find/topoinst/biz/{bk_biz_id}",
        topology::search_biz_inst_topo
    ),
    // The Python client sends GET for this api; the v3 route takes both methods.
    route!(
        None,
        GET,
        "/api/v3/find/topoinst/biz/{bk_biz_id}",
        topology::search_biz_inst_topo
    ),
    route!(
        Some("get_mainline_object_topo"),
        POST,
        "/api/v3/find/topomodelmainline",
        topology::get_mainline_object_topo
    ),
    route!(
        Some("find_topo_node_paths"),
        POST,
        "/api/v3/cache/find/cache/topo/node_path/biz/{bk_biz_id}",
        topology::find_topo_node_paths
    ),
    route!(
        Some("find_module_with_relation"),
        POST,
        "/api/v3/findmany/module/with_relation/biz/{bk_biz_id}",
        topology::find_module_with_relation
    ),
    route!(
        Some("find_brief_biz_topo_node_relation"),
        POST,
        "/api/v3/find/topo/biz/brief_node_relation",
        topology::find_brief_biz_topo_node_relation
    ),
];

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn esb_names_and_v3_routes_are_unique() {
        let mut names = HashSet::new();
        let mut routes = HashSet::new();
        for r in ROUTES {
            if let Some(n) = r.esb {
                assert!(names.insert(n), "ESB name {n} twice");
            }
            assert!(
                routes.insert((r.method.clone(), r.path)),
                "v3 route {} {} twice",
                r.method,
                r.path
            );
        }
    }
}
