use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = reefer::ship::ShipArgs::parse();
    reefer::app::finish("reefer-ship", reefer::ship::run(args))
}
