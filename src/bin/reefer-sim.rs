use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = reefer::sim::SimArgs::parse();
    reefer::app::finish("reefer-sim", reefer::sim::run(args))
}
