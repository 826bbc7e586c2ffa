//! Every operation the API performs, written once over [`crate::Tx`] so both backends run the
//! same logic. An operation is a plain function taking the transaction, the caller's
//! [`OpContext`] and already-decoded input; it returns domain values or a [`crate::StoreError`]
//! (domain rule failures travel as `StoreError::Domain`).
//!
//! Writes append their audit record and change event through [`audit::record`] inside the same
//! transaction, so no acknowledged write lacks them and no rolled-back write has them.

pub mod associations;
pub mod attributes;
pub mod audit;
pub mod business;
pub mod classifications;
pub mod cloud_areas;
pub mod events;
pub mod groups;
pub mod host_queries;
pub mod host_transfer;
pub mod hosts;
pub mod instances;
pub mod mainline;
pub mod objects;
pub mod schema_cache;
pub mod seed;
pub mod sets_modules;
pub mod topo_tree;
pub mod topology;
pub mod uniques;
pub(crate) mod util;

/// Outcome of a per-item batch create (`batch_create_inst`, `batch_create_instance_association`):
/// not atomic, as upstream -- each item runs in its own savepoint, so a failing item leaves the
/// others in place, and the whole batch is still one durable commit.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Index → the new object's id.
    pub created: Vec<(usize, i64)>,
    /// Index → why the item failed.
    pub errors: Vec<(usize, crate::StoreError)>,
}

impl BatchOutcome {
    /// Runs `create` for every item in its own savepoint ([`util::in_savepoint`]) and sorts the
    /// outcomes by index; an error that is not the item's own aborts the whole call.
    pub(crate) fn run<T>(
        tx: &mut dyn crate::Tx,
        items: &[T],
        mut create: impl FnMut(&mut dyn crate::Tx, &T) -> Result<i64, crate::StoreError>,
    ) -> Result<BatchOutcome, crate::StoreError> {
        let mut out = BatchOutcome::default();
        for (index, item) in items.iter().enumerate() {
            match util::in_savepoint(tx, |tx| create(tx, item))? {
                Ok(id) => out.created.push((index, id)),
                Err(e) => out.errors.push((index, e)),
            }
        }
        Ok(out)
    }
}

/// Who is asking, on whose behalf, and when. Built by the API from credentials and headers.
#[derive(Debug, Clone)]
pub struct OpContext {
    /// Resolved operator (`bk_username`); recorded as creator and in audit.
    pub user: String,
    /// Tenant (`bk_supplier_account`), normally `"0"`.
    pub supplier: String,
    /// Calling application (`bk_app_code`), recorded in audit.
    pub app_code: String,
    /// The request's clock reading in Unix milliseconds: one reading per request so every
    /// timestamp a write produces is the same instant.
    pub now: i64,
}
