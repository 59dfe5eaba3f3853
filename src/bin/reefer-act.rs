use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = reefer::act::ActArgs::parse();
    reefer::act::exit_code(reefer::act::run(args))
}
