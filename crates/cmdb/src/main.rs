//! The `cmdb` binary: parse the command line, start tracing, hand over to [`cmdb::run`].

use clap::Parser;

/// mimalloc instead of the system allocator: request handling allocates many small JSON values
/// across threads, and glibc malloc showed up as ~20% of the writer thread's profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cmdb::Cli::parse();
    cmdb::init_tracing();
    match cmdb::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmdb: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
