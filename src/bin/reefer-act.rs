use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = reefer::act::ActArgs::parse();
    reefer::app::finish("reefer-act", reefer::act::run(args))
}
