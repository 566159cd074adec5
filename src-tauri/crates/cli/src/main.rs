//! `schooldesk`: the command line for IT staff and scripts, over the same core as the app.
//!
//! Every command prints one clear line and exits non-zero on failure; `--json` makes every
//! listing machine-readable.

/// `println!` for the command's output, except that a reader who stopped reading (`| head`)
/// ends the program quietly and successfully, as other Unix tools do, instead of a panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

mod args;
mod exports;
mod output;
mod reads;
mod run;
mod writes;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line, not clap's usage block: scripts and people read the first line.
            let text = e.to_string();
            let mut lines = text.lines().filter(|l| !l.trim().is_empty());
            let mut first = lines
                .next()
                .unwrap_or("invalid arguments")
                .trim()
                .to_string();
            // "…were not provided:" is followed by the indented names of what is missing;
            // without them the line says nothing a person can act on.
            if first.ends_with(':') {
                let missing: Vec<&str> = lines
                    .take_while(|l| l.starts_with(' '))
                    .map(str::trim)
                    .collect();
                first = format!("{} {}", first, missing.join(", "));
            }
            eprintln!("{} (see `schooldesk --help`)", first.trim());
            return ExitCode::from(2);
        }
    };
    init_logging(cli.verbose);
    match run::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.to_string().replace('\n', " "));
            ExitCode::from(1)
        }
    }
}

/// Logs go to standard error, and only when asked for: `--verbose`, or a filter in
/// `SCHOOLDESK_LOG` or `RUST_LOG` (e.g. `debug`). Otherwise an error is the one sentence
/// `main` prints, with no log line above it for a person or a script to wade through.
/// Secrets never reach a log line: the connectors redact them before anything is formatted.
fn init_logging(verbose: bool) {
    let asked = ["SCHOOLDESK_LOG", "RUST_LOG"].into_iter().find_map(|var| {
        std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
    });
    let filter = asked.unwrap_or_else(|| {
        tracing_subscriber::EnvFilter::new(if verbose { "info" } else { "off" })
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
