//! `bihuan`: the one binary. Subcommands so far: `calendar`. Later: `serve`, `demo`, `import`…

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use bihuan_domain::Calendar;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "bihuan",
    version,
    about = "bihuan 闭环: every citizen appeal through a closed loop"
)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// The official working-day calendar (holidays and make-up workdays, 2007–2026 shipped).
    Calendar {
        /// Extra year files in the holiday-cn JSON format, loaded over the shipped years.
        #[arg(long = "holidays", value_name = "FILE", global = true)]
        holidays: Vec<PathBuf>,
        #[command(subcommand)]
        command: CalendarCmd,
    },
}

#[derive(Subcommand)]
enum CalendarCmd {
    /// Prints `workday` or `rest` for a date.
    Check { date: String },
    /// Prints the date N working days after DATE (DATE itself not counted).
    Add { date: String, days: u32 },
    /// Prints the number of working days after FROM up to and including TO.
    Count { from: String, to: String },
    /// Prints the last day of a period of N calendar days counted as the Civil Code says.
    Period { date: String, days: u32 },
    /// Lists the loaded years and the notices they come from.
    Years,
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .with_context(|| format!("{s:?} is not a date in the form YYYY-MM-DD"))
}

fn calendar(holidays: &[PathBuf], cmd: CalendarCmd) -> Result<String> {
    let mut cal = Calendar::official();
    for path in holidays {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read holiday file {}", path.display()))?;
        cal.load_json(&text)
            .with_context(|| format!("cannot load holiday file {}", path.display()))?;
    }
    Ok(match cmd {
        CalendarCmd::Check { date } => {
            if cal.is_workday(parse_date(&date)?)? {
                "workday".into()
            } else {
                "rest".into()
            }
        }
        CalendarCmd::Add { date, days } => {
            cal.add_working_days(parse_date(&date)?, days)?.to_string()
        }
        CalendarCmd::Count { from, to } => cal
            .working_days_after(parse_date(&from)?, parse_date(&to)?)?
            .to_string(),
        CalendarCmd::Period { date, days } => cal
            .calendar_days_period(parse_date(&date)?, days)?
            .to_string(),
        CalendarCmd::Years => {
            let mut out = Vec::new();
            for y in cal.loaded_years() {
                let n = cal.notice(y).expect("listed year");
                out.push(format!(
                    "{y}\t{} days\t{}",
                    n.days.len(),
                    n.papers.join(" ")
                ));
            }
            if out.is_empty() {
                bail!("no calendar year is loaded");
            }
            out.join("\n")
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Top::Calendar { holidays, command } => calendar(&holidays, command),
    };
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
