use clap::Parser;
use meetbridge_server::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "meetbridge_server=info,warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(config) => {
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async move {
                let print = config.print_addr;
                let demo = config.demo;
                let server = meetbridge_server::start(config).await?;
                tracing::info!(addr = %server.addr, demo, "listening");
                if demo {
                    tracing::warn!("demo mode: the DEV-ONLY login POST /api/dev/login is ON; never expose this server");
                }
                if print {
                    println!("listening on {}", server.addr);
                }
                server.run_until_signal().await;
                anyhow::Ok(())
            })
        }
        Command::Token(cmd) => {
            restore_sigpipe();
            meetbridge_server::cli::token(cmd)
        }
        Command::Space(cmd) => {
            restore_sigpipe();
            meetbridge_server::cli::space(cmd)
        }
        Command::Object(cmd) => {
            restore_sigpipe();
            meetbridge_server::cli::object(cmd)
        }
    }
}

/// Printing commands end quietly when their reader goes away (`| head`), as Unix tools do,
/// instead of panicking in `println!`. Not for `serve`, whose sockets need EPIPE as an error.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: resetting a signal disposition to its default before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
