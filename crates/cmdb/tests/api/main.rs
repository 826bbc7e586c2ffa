//! One integration-test binary (fast to link): every test starts the real application on a
//! random port with a fresh database and talks to it over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod association_plans;
mod associations;
mod business;
mod common;
mod durability;
mod events;
mod events_by_kind;
mod host_fixtures;
mod host_queries;
mod host_transfers;
mod hosts;
mod instances;
mod mainline;
mod models;
mod protocol;
mod sets_modules;
mod tidy;
mod topo_fixtures;
mod topology;
