use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = reefer::detect::DetectArgs::parse();
    reefer::app::finish("reefer-detect", reefer::detect::run(args))
}
