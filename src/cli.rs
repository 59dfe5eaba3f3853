//! Command-line pieces every tool shares: input options, completions and man pages.

use crate::codec::{BadInput, FormatChoice, Input, Rejects};
use crate::time::TimeParser;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::io::Write;

/// Options of every tool that reads records.
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    /// Input files, read in order; none or `-` means stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Input format; `auto` infers it from the file name (`.csv`) or the first byte.
    #[arg(long = "input-format", value_enum, default_value_t = FormatChoice::Auto, value_name = "FORMAT")]
    pub input_format: FormatChoice,

    /// Extra strftime layout for input times without a zone, taken as UTC
    /// (e.g. `%d/%m/%Y %H:%M`). RFC 3339 and `YYYY-MM-DD HH:MM:SS` are always accepted.
    #[arg(long, value_name = "PATTERN")]
    pub time_format: Option<String>,

    /// What to do with a line that cannot be read: report and skip it, or stop (exit 1).
    #[arg(long, value_enum, default_value_t = BadInput::Skip, value_name = "ACTION")]
    pub on_bad_input: BadInput,

    /// Keep the raw text of every rejected line in this file.
    #[arg(long, value_name = "FILE")]
    pub dead_letter: Option<String>,
}

impl InputArgs {
    pub fn open(&self) -> Result<Input, anyhow::Error> {
        let input = Input::new(&self.files, self.input_format);
        input.check_paths().map_err(crate::app::usage)?;
        Ok(input)
    }

    pub fn rejects(&self, tool: &'static str) -> Result<Rejects, anyhow::Error> {
        Rejects::new(tool, self.on_bad_input, self.dead_letter.as_deref())
            .map_err(|e| crate::app::usage(e.to_string()))
    }

    pub fn time_parser(&self) -> TimeParser {
        TimeParser::new(self.time_format.clone())
    }
}

/// State between runs, for tools that a cron job runs over each new file.
#[derive(Debug, Clone, Default, Args)]
pub struct StateArgs {
    /// Keep what this run holds at its end (open windows, per-container history,
    /// open episodes) in FILE and start the next run from it, so runs over
    /// consecutive files give what one run over all of them gives. Locked
    /// (FILE.lock) for the run; written atomically.
    #[arg(long, value_name = "FILE")]
    pub state: Option<String>,

    /// When another run holds the --state lock, wait up to DURATION for it
    /// (default: exit 75 at once).
    #[arg(long, value_name = "DURATION", requires = "state")]
    pub wait: Option<crate::time::Span>,
}

impl StateArgs {
    /// Locks the state file, if one was asked for.
    pub fn lock(
        &self,
        tool: &'static str,
        version: u32,
        settings: String,
    ) -> Result<Option<crate::statefile::StateFile>, crate::app::ToolError> {
        let Some(path) = &self.state else {
            return Ok(None);
        };
        let wait = self
            .wait
            .map(|w| std::time::Duration::from_millis(w.millis.max(0) as u64));
        crate::statefile::StateFile::lock(path, tool, version, settings, wait).map(Some)
    }
}

/// Output options every tool shares (flatten into the tool's arguments).
#[derive(Debug, Clone, Default, Args)]
pub struct OutputArgs {
    /// Write records to FILE instead of stdout (`-` is stdout).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<String>,

    /// Flush after every record, even into a pipe or file (for live pipelines).
    #[arg(long)]
    pub line_buffered: bool,

    /// Worker threads; default: the number of cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,

    /// No summary on stderr (bad lines and errors are still reported).
    #[arg(short = 'q', long)]
    pub quiet: bool,

    /// Print shell completions for SHELL and exit.
    #[arg(long, value_name = "SHELL")]
    pub completions: Option<Shell>,
}

impl OutputArgs {
    /// Opens the output (`-o FILE` or stdout); a file that cannot be created is a usage error.
    pub fn open(&self) -> anyhow::Result<crate::codec::Output> {
        crate::codec::Output::open(self.output.as_deref(), self.line_buffered)
            .map_err(|e| crate::app::usage(e.to_string()))
    }

    /// Worker threads to use.
    pub fn threads(&self) -> usize {
        self.threads.map(usize::from).unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        })
    }
}

/// How to reach AWS, for tools with AWS locations or destinations.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// AWS endpoint (an emulator, a VPC endpoint); default: AWS_ENDPOINT_URL or AWS itself.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// AWS region; default: AWS_REGION or the profile's.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// AWS profile; default: AWS_PROFILE.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

impl AwsArgs {
    pub fn options(
        &self,
        connect_timeout: std::time::Duration,
        request_timeout: std::time::Duration,
    ) -> crate::aws::AwsOptions {
        crate::aws::AwsOptions {
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            connect_timeout,
            request_timeout,
        }
    }
}

/// Writes shell completions for tool `C` to `out`. (clap_complete panics on a
/// write error, so the script is built in memory and written with errors returned.)
pub fn write_completions<C: CommandFactory>(
    shell: Shell,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut cmd = C::command();
    let name = cmd.get_name().to_string();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    out.write_all(&script)?;
    out.flush()
}

/// Renders the man page of tool `C`.
pub fn render_man<C: CommandFactory>(page: &ManPage) -> std::io::Result<Vec<u8>> {
    let cmd = C::command();
    let notes = cmd
        .get_after_help()
        .map(|h| h.to_string())
        .unwrap_or_default();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    // The --help epilogue: "Examples:" becomes EXAMPLES, one command a line
    // and never justified; "Exit status:" is replaced by EXIT STATUS below;
    // any other paragraph goes to NOTES.
    let (examples, others) = split_epilogue(&notes);
    if !examples.is_empty() {
        section(&mut out, "EXAMPLES");
        out.extend_from_slice(b".nf\n");
        for line in &examples {
            out.extend_from_slice(roff_line(line).as_bytes());
        }
        out.extend_from_slice(b".fi\n");
    }
    if !others.is_empty() {
        section(&mut out, "NOTES");
        for para in &others {
            out.extend_from_slice(b".PP\n.nf\n");
            for line in para.lines() {
                out.extend_from_slice(roff_line(line).as_bytes());
            }
            out.extend_from_slice(b".fi\n");
        }
    }
    section(&mut out, "EXIT STATUS");
    let mut codes: Vec<(&str, &str)> = vec![
        ("0", "every record processed or delivered"),
        (
            "1",
            "finished, but some input lines were rejected (or late, or undeliverable)",
        ),
        ("2", "usage or configuration error; nothing processed"),
        ("3", "fatal runtime error, saying how far it got"),
    ];
    if page.state {
        codes.push(("75", "another run holds the lock of the state file; nothing was read (try again later, or --wait)"));
    }
    codes.push(("130", "interrupted (Ctrl-C), after flushing what it held"));
    for (code, meaning) in codes {
        out.extend_from_slice(format!(".TP\n{code}\n{}", roff_line(meaning)).as_bytes());
    }
    if !page.environment.is_empty() {
        section(&mut out, "ENVIRONMENT");
        for (var, meaning) in page.environment {
            out.extend_from_slice(format!(".TP\n\\fB{var}\\fR\n{}", roff_line(meaning)).as_bytes());
        }
    }
    if !page.files.is_empty() {
        section(&mut out, "FILES");
        for (file, meaning) in page.files {
            out.extend_from_slice(
                format!(".TP\n\\fI{}\\fR\n{}", roff_escape(file), roff_line(meaning)).as_bytes(),
            );
        }
    }
    section(&mut out, "SEE ALSO");
    let others: Vec<String> = crate::tools::NAMES
        .iter()
        .filter(|n| **n != cmd.get_name())
        .map(|n| format!("\\fB{}\\fR(1)", roff_escape(n)))
        .collect();
    out.extend_from_slice(
        format!(
            "{}\n.PP\nThe contract every tool follows (records, catalog, faults, windows, events, locations, exit codes, input rules): docs/contract.md in the reefer repository.\n",
            others.join(", ")
        )
        .as_bytes(),
    );
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// What a man page says beyond the arguments.
pub struct ManPage {
    /// The tool keeps `--state` (so exit 75 applies).
    pub state: bool,
    pub environment: &'static [(&'static str, &'static str)],
    pub files: &'static [(&'static str, &'static str)],
}

/// The `--help` epilogue as (example commands, other paragraphs).
fn split_epilogue(text: &str) -> (Vec<String>, Vec<String>) {
    let mut examples = Vec::new();
    let mut others = Vec::new();
    for para in text
        .split("\n\n")
        .map(str::trim_end)
        .filter(|p| !p.trim().is_empty())
    {
        if let Some(body) = para.strip_prefix("Examples:") {
            examples.extend(
                body.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from),
            );
        } else if !para.starts_with("Exit status:") {
            others.push(para.to_string());
        }
    }
    (examples, others)
}

fn section(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(format!(".SH \"{name}\"\n").as_bytes());
}

/// Text for roff: backslashes and dashes escaped, a leading `.` or `'` guarded.
fn roff_escape(s: &str) -> String {
    let s = s.replace('\\', "\\e").replace('-', "\\-");
    if s.starts_with('.') || s.starts_with('\'') {
        format!("\\&{s}")
    } else {
        s
    }
}

fn roff_line(s: &str) -> String {
    format!("{}\n", roff_escape(s))
}
