//! `man/` is generated from the clap definitions and must be current.

use super::common::{blessing, repo_path};

#[test]
fn man_pages_are_current() {
    for (name, text) in reefer::tools::man_pages().unwrap() {
        let path = repo_path(&format!("man/{name}"));
        if blessing() {
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let on_disk = std::fs::read(&path).unwrap_or_default();
        assert!(
            on_disk == text,
            "man/{name} is stale: run `REEFER_BLESS=1 cargo test --test cli man_pages` to regenerate it"
        );
    }
}

#[test]
fn every_man_page_has_the_usual_sections_and_unjustified_examples() {
    for (name, text) in reefer::tools::man_pages().unwrap() {
        let text = String::from_utf8(text).unwrap();
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH \"EXAMPLES\"",
            ".SH \"EXIT STATUS\"",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(text.contains(section), "{name} lacks {section}");
        }
        let examples = text.split(".SH \"EXAMPLES\"\n").nth(1).unwrap();
        assert!(examples.starts_with(".nf\n"), "{name}: examples are filled");
        assert!(
            !text.contains(".SH EXTRA"),
            "{name} still has an EXTRA section"
        );
    }
    let page = |n: &str| {
        let pages = reefer::tools::man_pages().unwrap();
        String::from_utf8(pages.into_iter().find(|(f, _)| f == n).unwrap().1).unwrap()
    };
    assert!(page("reefer-ship.1").contains(".SH \"ENVIRONMENT\""));
    assert!(page("reefer-act.1").contains("XDG_STATE_HOME"));
    // Every variable a tool reads is named: the MQTT credentials, PagerDuty's key.
    assert!(page("reefer-ship.1").contains("REEFER_MQTT_PASSWORD"));
    assert!(page("reefer-act.1").contains("\\fBREEFER_PAGERDUTY_ROUTING_KEY\\fR"));
    assert!(page("reefer-detect.1").contains(".SH \"FILES\""));
    assert!(page("reefer-detect.1").contains("\n75\n"));
}

/// `--help` wraps at 100 columns: an example line longer than that would be
/// cut in the middle of a command.
#[test]
fn help_examples_fit_on_one_line() {
    use clap::CommandFactory;
    let commands = [
        reefer::sim::SimArgs::command(),
        reefer::window::WindowArgs::command(),
        reefer::detect::DetectArgs::command(),
        reefer::act::ActArgs::command(),
        reefer::ship::ShipArgs::command(),
        reefer::report::ReportArgs::command(),
    ];
    for cmd in commands {
        let help = cmd.get_after_help().unwrap().to_string();
        for line in help.lines() {
            assert!(
                line.chars().count() <= 98,
                "{}: an example line of {} characters wraps in --help: {line}",
                cmd.get_name(),
                line.chars().count()
            );
        }
    }
}
