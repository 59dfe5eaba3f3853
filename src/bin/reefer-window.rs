use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = reefer::window::WindowArgs::parse();
    reefer::app::finish("reefer-window", reefer::window::run(args))
}
