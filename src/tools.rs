//! The registry of tools: one entry per binary, for generated man pages
//! (`man/`). Tool modules depend on [`crate::cli`]; only this module depends
//! on every tool, so there is no cycle.

use crate::cli::{render_man, ManPage};

/// Every tool's name, in pipeline order.
pub const NAMES: [&str; 6] = [
    "reefer-sim",
    "reefer-window",
    "reefer-detect",
    "reefer-act",
    "reefer-ship",
    "reefer-report",
];

const AWS_ENV: &[(&str, &str)] = &[
    ("AWS_REGION", "the AWS region (or the profile's)"),
    (
        "AWS_PROFILE",
        "the named profile of ~/.aws/config and ~/.aws/credentials",
    ),
    (
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN",
        "static credentials; otherwise the usual chain (SSO, process, instance role)",
    ),
    (
        "AWS_ENDPOINT_URL",
        "another endpoint (an emulator, a VPC endpoint); --endpoint-url wins",
    ),
];

/// reefer-ship's: AWS's, then the MQTT credentials.
const SHIP_ENV: &[(&str, &str)] = &[
    AWS_ENV[0],
    AWS_ENV[1],
    AWS_ENV[2],
    AWS_ENV[3],
    (
        crate::ship::mqtt::USERNAME_ENV,
        "the MQTT user name when the mqtt:// or mqtts:// URL has none",
    ),
    (
        crate::ship::mqtt::PASSWORD_ENV,
        "the MQTT password when the URL has none (never printed)",
    ),
];

const NONE: &[(&str, &str)] = &[];

/// Every tool's man page as (file name, roff text), for `man/`.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let plain = ManPage {
        state: false,
        environment: NONE,
        files: NONE,
    };
    let state_files: &'static [(&str, &str)] = &[
        (
            "FILE (--state)",
            "what a run holds at its end, for the next run",
        ),
        ("FILE.lock", "locked for the whole run: one run per state"),
        (
            "FILE.tmp",
            "the next state while it is written, renamed over FILE",
        ),
    ];
    let stateful = ManPage {
        state: true,
        environment: NONE,
        files: state_files,
    };
    let act = ManPage {
        state: true,
        environment: &[
            (
                "XDG_STATE_HOME",
                "where the default state database lives ($XDG_STATE_HOME/reefer/act.db)",
            ),
            (
                "HOME",
                "without XDG_STATE_HOME: ~/.local/state/reefer/act.db",
            ),
            (
                "AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL",
                "for dynamodb:// and sns:// destinations, as for reefer-ship",
            ),
            (
                crate::act::dest::PAGERDUTY_KEY_VAR,
                "the PagerDuty integration's routing key, for --template pagerduty",
            ),
        ],
        files: &[
            (
                "~/.local/state/reefer/act.db",
                "the state database (alerts, outbox, events seen); --state",
            ),
            (
                "act.db.lock",
                "locked for the whole run: one sender per state",
            ),
        ],
    };
    let ship = ManPage {
        state: false,
        environment: SHIP_ENV,
        files: &[(
            "--checkpoint FILE",
            "Kinesis read positions, written atomically",
        )],
    };
    Ok(vec![
        (
            "reefer-sim.1".into(),
            render_man::<crate::sim::SimArgs>(&plain)?,
        ),
        (
            "reefer-window.1".into(),
            render_man::<crate::window::WindowArgs>(&stateful)?,
        ),
        (
            "reefer-detect.1".into(),
            render_man::<crate::detect::DetectArgs>(&stateful)?,
        ),
        (
            "reefer-act.1".into(),
            render_man::<crate::act::ActArgs>(&act)?,
        ),
        (
            "reefer-ship.1".into(),
            render_man::<crate::ship::ShipArgs>(&ship)?,
        ),
        (
            "reefer-report.1".into(),
            render_man::<crate::report::ReportArgs>(&plain)?,
        ),
    ])
}
