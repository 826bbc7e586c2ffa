//! Architecture checks that are cheap to keep true mechanically.

use std::path::Path;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("workspace root")
}

/// cmdb-domain must do no I/O: no runtime, web framework or database crate in its manifest.
#[test]
fn domain_crate_has_no_io_dependencies() {
    let manifest = std::fs::read_to_string(workspace().join("crates/cmdb-domain/Cargo.toml"))
        .expect("manifest");
    for banned in [
        "tokio", "axum", "rusqlite", "postgres", "hyper", "reqwest", "sqlx",
    ] {
        assert!(
            !manifest.contains(banned),
            "cmdb-domain depends on {banned}"
        );
    }
}

/// The API never names a concrete backend.
#[test]
fn api_crate_does_not_depend_on_backends() {
    let manifest =
        std::fs::read_to_string(workspace().join("crates/cmdb-api/Cargo.toml")).expect("manifest");
    assert!(!manifest.contains("cmdb-store-sqlite"));
    assert!(!manifest.contains("cmdb-store-postgres"));
}

/// Every Rust source file starts with a `//!` module doc saying why it exists.
#[test]
fn every_source_file_has_a_module_doc() {
    let mut missing = Vec::new();
    let crates = workspace().join("crates");
    let mut stack = vec![crates];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("file");
                if !text.trim_start().starts_with("//!") {
                    missing.push(path.display().to_string());
                }
            }
        }
    }
    assert!(missing.is_empty(), "files without //! doc: {missing:?}");
}
