//! Handlers, one module per spec file. Each is parse → one store operation → shape.

pub mod associations;
pub mod audit;
pub mod hosts;
pub mod instances;
pub mod models;
pub mod topology;

use cmdb_store::ops::BatchOutcome;
use cmdb_store::{Store, StoreError, Tx};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::error::codes::{describe, Lang};
use crate::error::ApiError;

/// Runs a write operation in one transaction.
pub(crate) async fn write<T, F>(store: &Store, job: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    cmdb_store::write(store.as_ref(), job)
        .await
        .map_err(ApiError::from)
}

/// Runs a read operation on a snapshot.
pub(crate) async fn read<T, F>(store: &Store, job: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    cmdb_store::read(store.as_ref(), job)
        .await
        .map_err(ApiError::from)
}

/// Serialises a result for `data`.
pub(crate) fn to_data<T: Serialize>(value: &T) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Store(StoreError::Backend(e.to_string())))
}

/// `data` of the per-item batch creates (`batch_create_inst`,
/// `batch_create_instance_association`): `{"success_created":{"<index>":<id>},
/// "error_msg":{"<index>":"<message>"}}`, messages in the caller's language. One shape for
/// both, as upstream answers both with `metadata.BatchCreateResult`-style maps.
pub(crate) fn batch_answer(outcome: BatchOutcome, lang: Lang) -> Value {
    let created: Map<String, Value> = outcome
        .created
        .iter()
        .map(|(i, id)| (i.to_string(), Value::from(*id)))
        .collect();
    let errors: Map<String, Value> = outcome
        .errors
        .into_iter()
        .map(|(i, e)| {
            (
                i.to_string(),
                Value::String(describe(&ApiError::from(e), lang).2),
            )
        })
        .collect();
    json!({ "success_created": created, "error_msg": errors })
}
