//! The registry of tools: one entry per binary, for generated man pages
//! (`man/`). Tool modules depend on [`crate::cli`]; only this module depends
//! on every tool, so there is no cycle.

use crate::cli::render_man;

/// Every tool's man page as (file name, roff text), for `man/`.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    Ok(vec![
        ("reefer-sim.1".into(), render_man::<crate::sim::SimArgs>()?),
        (
            "reefer-window.1".into(),
            render_man::<crate::window::WindowArgs>()?,
        ),
        (
            "reefer-detect.1".into(),
            render_man::<crate::detect::DetectArgs>()?,
        ),
        ("reefer-act.1".into(), render_man::<crate::act::ActArgs>()?),
        (
            "reefer-ship.1".into(),
            render_man::<crate::ship::ShipArgs>()?,
        ),
    ])
}
