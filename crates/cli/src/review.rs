//! `okta365 review`: what the profile is set to do and what is missing (docs/setup.md "Review").
//! Exits 0 when ready, 1 when an item is missing.

use clap::Args;
use okta365_engine::{Engine, Result, Review, ReviewStatus};

use crate::setup_groups::{print_json, progress_sink, target_profile};

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// Profile name or id (default: the active profile).
    #[arg(long, value_name = "P")]
    profile: Option<String>,
}

/// Runs the review and prints it; returns whether the profile is ready.
pub async fn run(engine: &Engine, json: bool, args: ReviewArgs) -> Result<bool> {
    let target = target_profile(engine, args.profile.as_deref()).await?;
    let review = match progress_sink(json) {
        Some(sink) => engine.review(&target.id, &sink).await?,
        None => engine.review(&target.id, &()).await?,
    };
    if json {
        print_json(&review);
    } else {
        print_review(&review);
    }
    Ok(review.ready)
}

fn print_review(review: &Review) {
    for item in &review.items {
        let mark = match item.status {
            ReviewStatus::Ready => "ready  ",
            ReviewStatus::Missing => "MISSING",
            ReviewStatus::Warning => "warning",
        };
        let fix = item
            .fix_step
            .map(|s| format!(" [fix: {s} step]"))
            .unwrap_or_default();
        println!("{mark} {:<36} {}{fix}", item.label, item.detail);
    }
    println!(
        "{}",
        if review.ready {
            "The profile is ready."
        } else {
            "The profile is not ready: fix the missing items above."
        }
    );
}
