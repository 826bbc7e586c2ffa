//! The `cmdb` binary: parse the command line, start tracing, hand over to [`cmdb::run`].

use clap::Parser;

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
