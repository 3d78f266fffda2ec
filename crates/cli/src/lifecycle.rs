//! `okta365 lifecycle settings|preview-email` and `okta365 stages list|cancel|run-now|run-due`: the
//! licensing lifecycle's settings (delay, sign-out, sender, email templates) and its delayed stages
//! (docs/licensing.md).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use jiff::Timestamp;
use okta365_engine::{
    Engine, Error, LifecycleSettings, MailPreviewRequest, MailStage, MailTemplate, Result, Stage,
    StageStatus,
};

use crate::run::print_summary;
use crate::setup_groups::{print_json, progress_sink, target_profile};

#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// Show the lifecycle settings, changing the ones given first.
    Settings(SettingsArgs),
    /// Render a manager email as it would be sent (for the named user, else the first member of the
    /// assignments group), with the reason it would not be sent, if any.
    PreviewEmail {
        /// disabled, licensesRemoved or activated.
        #[arg(long, value_parser = parse_stage)]
        stage: MailStage,
        /// The Okta user (login or id) the email is about.
        #[arg(long, value_name = "LOGIN")]
        user: Option<String>,
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Time between blocking sign-in and removing the licenses: a number with s, m, h or d (e.g. 90m,
    /// 30d, 400d), 1 second to 10 years.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    delay: Option<u64>,
    /// The mailbox (UPN or object id) manager emails are sent from.
    #[arg(long, value_name = "ADDRESS", conflicts_with = "no_sender")]
    sender: Option<String>,
    /// Send no manager emails.
    #[arg(long)]
    no_sender: bool,
    /// Whether blocking sign-in also signs the user out everywhere (true or false).
    #[arg(long, value_name = "BOOL")]
    revoke_sessions: Option<bool>,
    /// A template subject, as STAGE=TEXT (stages: disabled, licensesRemoved, activated); repeatable.
    #[arg(long = "subject", value_name = "STAGE=TEXT")]
    subjects: Vec<String>,
    /// A template body, as STAGE=TEXT; repeatable.
    #[arg(long = "body", value_name = "STAGE=TEXT")]
    bodies: Vec<String>,
    /// A template body read from a file, as STAGE=PATH; repeatable.
    #[arg(long = "body-file", value_name = "STAGE=PATH")]
    body_files: Vec<String>,
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum StagesCommand {
    /// The pending stages (with --all the finished and cancelled ones too), with their due times.
    List {
        /// Also the finished and cancelled stages.
        #[arg(long)]
        all: bool,
        /// Profile name or id (default: the active profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
    /// Cancel a pending stage: the user keeps the licenses (sign-in stays blocked).
    Cancel {
        /// The stage id (see `okta365 stages list`).
        id: i64,
    },
    /// Run a pending stage now, whatever its due time.
    RunNow {
        /// The stage id.
        id: i64,
    },
    /// Run every stage that is due (what `okta365 watch` does each round), reporting late ones.
    RunDue {
        /// Profile name or id (default: every profile).
        #[arg(long, value_name = "P")]
        profile: Option<String>,
    },
}

fn parse_stage(value: &str) -> std::result::Result<MailStage, String> {
    MailStage::parse(value.trim()).ok_or_else(|| {
        format!("\"{value}\" is not an email stage; use disabled, licensesRemoved or activated")
    })
}

/// Parses `30d`, `90m`, `12h`, `3600s` or a bare number of seconds.
pub fn parse_duration(value: &str) -> std::result::Result<u64, String> {
    let v = value.trim();
    let (number, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&v[..i], v[i..].trim()),
        None => (v, "s"),
    };
    let n: u64 = number.parse().map_err(|_| {
        format!(
            "\"{value}\" is not a duration; write a whole number with s, m, h or d, e.g. 30d or 90m"
        )
    })?;
    let factor = match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hour" | "hours" => 3_600,
        "d" | "day" | "days" => 86_400,
        other => {
            return Err(format!(
                "\"{other}\" is not a duration unit; use s, m, h or d (e.g. 30d)"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("\"{value}\" is too long; the delay is at most 10 years"))
}

/// A number of seconds in words: "400 days", "2 h 5 min", "45 s".
pub fn duration_words(secs: u64) -> String {
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if secs >= 86_400 && secs.is_multiple_of(86_400) {
        plural(secs / 86_400, "day")
    } else if secs >= 86_400 {
        format!(
            "{} {} h",
            plural(secs / 86_400, "day"),
            (secs % 86_400) / 3_600
        )
    } else if secs >= 3_600 {
        format!("{} h {} min", secs / 3_600, (secs % 3_600) / 60)
    } else if secs >= 60 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{secs} s")
    }
}

fn split_stage(value: &str, flag: &str) -> Result<(MailStage, String)> {
    let (stage, text) = value.split_once('=').ok_or_else(|| {
        Error::invalid(format!(
            "{flag} {value}: write STAGE=TEXT, e.g. {flag} disabled=\"Account disabled\"."
        ))
    })?;
    let stage = parse_stage(stage).map_err(|e| Error::invalid(format!("{flag}: {e}.")))?;
    Ok((stage, text.to_owned()))
}

fn template_mut(settings: &mut LifecycleSettings, stage: MailStage) -> &mut MailTemplate {
    match stage {
        MailStage::Disabled => &mut settings.templates.disabled,
        MailStage::LicensesRemoved => &mut settings.templates.licenses_removed,
        MailStage::Activated => &mut settings.templates.activated,
    }
}

pub async fn run(engine: &Engine, json: bool, command: LifecycleCommand) -> Result<()> {
    match command {
        LifecycleCommand::Settings(args) => {
            let profile = target_profile(engine, args.profile.as_deref()).await?;
            let mut settings = engine.lifecycle_settings(&profile.id).await?;
            let mut changed = false;
            if let Some(delay) = args.delay {
                settings.delay_secs = delay;
                changed = true;
            }
            if let Some(sender) = args.sender {
                settings.sender_mailbox = Some(sender);
                changed = true;
            }
            if args.no_sender {
                settings.sender_mailbox = None;
                changed = true;
            }
            if let Some(revoke) = args.revoke_sessions {
                settings.revoke_sessions = revoke;
                changed = true;
            }
            for value in &args.subjects {
                let (stage, text) = split_stage(value, "--subject")?;
                template_mut(&mut settings, stage).subject = text;
                changed = true;
            }
            for value in &args.bodies {
                let (stage, text) = split_stage(value, "--body")?;
                template_mut(&mut settings, stage).body = text;
                changed = true;
            }
            for value in &args.body_files {
                let (stage, path) = split_stage(value, "--body-file")?;
                let path = PathBuf::from(path);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    Error::invalid(format!(
                        "--body-file: cannot read {} ({e}); nothing was changed.",
                        path.display()
                    ))
                })?;
                template_mut(&mut settings, stage).body = text;
                changed = true;
            }
            if changed {
                settings = engine.set_lifecycle_settings(&profile.id, settings).await?;
            }
            if json {
                print_json(&settings);
            } else {
                println!(
                    "Delay before removing licenses: {}",
                    duration_words(settings.delay_secs)
                );
                println!(
                    "Sign the user out everywhere when disabling: {}",
                    if settings.revoke_sessions {
                        "yes"
                    } else {
                        "no"
                    }
                );
                println!(
                    "Manager emails sent from: {}",
                    settings
                        .sender_mailbox
                        .as_deref()
                        .unwrap_or("(none: no manager emails are sent)")
                );
                for stage in MailStage::ALL {
                    let t = template_mut(&mut settings.clone(), stage).clone();
                    println!("\n[{}] {}\n{}", stage.as_str(), t.subject, t.body);
                }
            }
        }
        LifecycleCommand::PreviewEmail {
            stage,
            user,
            profile,
        } => {
            let profile = target_profile(engine, profile.as_deref()).await?;
            let preview = engine
                .preview_manager_email(MailPreviewRequest {
                    profile_id: profile.id.clone(),
                    stage,
                    okta_user_id: user,
                    template: None,
                })
                .await?;
            if json {
                print_json(&preview);
            } else {
                println!(
                    "From: {}",
                    preview.from.as_deref().unwrap_or("(no sender set)")
                );
                println!("To: {}", preview.to.as_deref().unwrap_or("(nobody)"));
                println!("Subject: {}\n\n{}", preview.subject, preview.body);
                if let Some(problem) = &preview.problem {
                    println!("\nNot sent: {problem}");
                }
            }
        }
    }
    Ok(())
}

fn print_stages(stages: &[Stage]) {
    if stages.is_empty() {
        println!("No stages.");
        return;
    }
    let now = Timestamp::now();
    for s in stages {
        let when = match (s.status, s.due_at.parse::<Timestamp>()) {
            (StageStatus::Pending, Ok(due)) => {
                let secs = due.as_second() - now.as_second();
                if secs >= 0 {
                    format!("due in {}", duration_words(secs as u64))
                } else {
                    format!("overdue by {}", duration_words((-secs) as u64))
                }
            }
            _ => match s.late_secs {
                Some(late) if late > 60 => format!("ran {} late", duration_words(late as u64)),
                _ => String::new(),
            },
        };
        println!(
            "{:>5}  {:<9} {:<36} {:<16} due {}  {}{}",
            s.id,
            s.status.as_str(),
            s.user_label,
            s.kind,
            s.due_at,
            when,
            s.cancel_reason
                .as_deref()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default()
        );
    }
}

pub async fn stages(engine: &Engine, json: bool, command: StagesCommand) -> Result<()> {
    match command {
        StagesCommand::List { all, profile } => {
            let profile = target_profile(engine, profile.as_deref()).await?;
            let stages = engine.list_stages(&profile.id, all).await?;
            if json {
                print_json(&stages);
            } else {
                print_stages(&stages);
            }
        }
        StagesCommand::Cancel { id } => {
            let stage = engine.cancel_stage(id).await?;
            if json {
                print_json(&stage);
            } else {
                println!(
                    "Cancelled stage {id}: {} keeps the licenses (sign-in stays blocked).",
                    stage.user_label
                );
            }
        }
        StagesCommand::RunNow { id } => {
            let summary = match progress_sink(json) {
                Some(sink) => engine.run_stage_now(id, &sink).await?,
                None => engine.run_stage_now(id, &()).await?,
            };
            if json {
                print_json(&summary);
            } else {
                print_summary(&summary);
            }
        }
        StagesCommand::RunDue { profile } => {
            let id = match profile {
                Some(p) => Some(target_profile(engine, Some(&p)).await?.id),
                None => None,
            };
            let report = match progress_sink(json) {
                Some(sink) => engine.run_due_stages(id.as_deref(), &sink).await?,
                None => engine.run_due_stages(id.as_deref(), &()).await?,
            };
            if json {
                print_json(&report);
            } else if report.ran.is_empty() {
                println!("No stage is due.");
            } else {
                report.ran.iter().for_each(print_summary);
                for s in &report.late {
                    println!(
                        "The license removal of {} ran {} late (due {}).",
                        s.user_label,
                        duration_words(s.late_secs.unwrap_or(0).max(0) as u64),
                        s.due_at
                    );
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_their_units_and_refuse_the_rest() {
        assert_eq!(parse_duration("30d"), Ok(30 * 86_400));
        assert_eq!(parse_duration("400d"), Ok(400 * 86_400));
        assert_eq!(parse_duration("90m"), Ok(5_400));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("45"), Ok(45));
        assert_eq!(parse_duration("5 days"), Ok(432_000));
        assert!(
            parse_duration("3w")
                .unwrap_err()
                .contains("\"w\" is not a duration unit")
        );
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("is not a duration")
        );
    }

    #[test]
    fn durations_read_in_words() {
        assert_eq!(duration_words(400 * 86_400), "400 days");
        assert_eq!(duration_words(86_400), "1 day");
        assert_eq!(duration_words(86_400 + 7_200), "1 day 2 h");
        assert_eq!(duration_words(7_500), "2 h 5 min");
        assert_eq!(duration_words(125), "2 min 5 s");
        assert_eq!(duration_words(7), "7 s");
    }
}
