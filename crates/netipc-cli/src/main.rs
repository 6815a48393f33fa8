//! `netipc`: the command-line tool of netipc, for operators and plugin
//! authors. It lists the endpoints of a run dir with their probed state,
//! calls services, watches a snapshot change, serves demo data, runs the
//! cross-process benchmarks, and removes stale endpoints. It speaks only
//! the wire protocol, so it works against the C, Rust and Go
//! implementations of netdata's plugin-ipc as well as netipc's own.
//!
//! Exit codes: 0 success, 1 the call, probe or operation failed, 2 usage.
#![forbid(unsafe_code)]

mod answers;
mod bench;
mod call;
mod clean;
mod cli;
mod client;
mod demo;
mod duration;
mod endpoints;
mod failure;
mod ls;
mod output;
mod probe;
mod serve;
mod watch;

use clap::Parser;
use cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Ls(args) => ls::run(args, cli.json),
        Command::Call(args) => call::run(args, cli.json),
        Command::Watch(args) => watch::run(args, cli.json),
        Command::Serve(args) => serve::run(args, cli.json),
        Command::Bench(args) => bench::run(args, cli.json),
        Command::Clean(args) => clean::run(args, cli.json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if cli.json {
                output::json(&f.to_json());
            }
            eprintln!("netipc: error: {}", f.line());
            ExitCode::from(f.exit_code())
        }
    }
}
