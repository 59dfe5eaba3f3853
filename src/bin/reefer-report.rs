use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = reefer::report::ReportArgs::parse();
    reefer::app::finish("reefer-report", reefer::report::run(args))
}
