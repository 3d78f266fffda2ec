//! Progress of long work: engine operations report [`Progress`] to a [`ProgressSink`] the caller hands
//! in. The engine knows nothing of where reports go: the desktop app forwards them to a Tauri channel,
//! the CLI prints them on stderr, tests collect them, and `&()` drops them.
//!
//! Reporting never fails the work: a sink that cannot deliver (a closed window, a broken pipe) just
//! drops the report.

use crate::dto::Progress;

/// Where an operation's [`Progress`] reports go. Implemented for `()` (drops every report) and for
/// any `Fn(&Progress) + Send + Sync` closure.
pub trait ProgressSink: Send + Sync {
    /// Takes one report. Called on the task doing the work, so it must be quick and must not block.
    fn report(&self, progress: &Progress);
}

/// No progress wanted.
impl ProgressSink for () {
    fn report(&self, _progress: &Progress) {}
}

impl<F: Fn(&Progress) + Send + Sync> ProgressSink for F {
    fn report(&self, progress: &Progress) {
        self(progress)
    }
}

/// The step id of the last report of an operation that finished.
pub const DONE_STEP: &str = "done";

/// Reports the steps of one operation with a known number of steps, in order: each
/// [`Steps::start`] reports the steps finished so far and the one starting; [`Steps::finish`] reports
/// `done == total` with step [`DONE_STEP`].
pub(crate) struct Steps<'a> {
    sink: &'a dyn ProgressSink,
    operation: &'static str,
    total: u32,
    started: u32,
}

impl<'a> Steps<'a> {
    /// An operation of `total` steps, named like its command.
    pub(crate) fn new(sink: &'a dyn ProgressSink, operation: &'static str, total: u32) -> Self {
        Steps {
            sink,
            operation,
            total,
            started: 0,
        }
    }

    /// Step `step` starts; the previous ones are finished.
    pub(crate) fn start(&mut self, step: &str, message: impl Into<String>) {
        debug_assert!(
            self.started < self.total,
            "{}: more steps than announced",
            self.operation
        );
        self.send(step, self.started, message.into());
        self.started += 1;
    }

    /// Every step is finished.
    pub(crate) fn finish(self, message: impl Into<String>) {
        self.send(DONE_STEP, self.total, message.into());
    }

    fn send(&self, step: &str, done: u32, message: String) {
        tracing::debug!(
            operation = self.operation,
            step,
            done,
            total = self.total,
            "{message}"
        );
        self.sink.report(&Progress {
            operation: self.operation.to_owned(),
            step: step.to_owned(),
            done,
            total: Some(self.total),
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn steps_count_what_is_finished_and_end_with_done() {
        let seen = Mutex::new(Vec::new());
        let sink = |p: &Progress| seen.lock().unwrap().push(p.clone());
        let mut steps = Steps::new(&sink, "demo", 2);
        steps.start("first", "Doing the first thing");
        steps.start("second", "Doing the second thing");
        steps.finish("All done");

        let seen = seen.into_inner().unwrap();
        let summary: Vec<(&str, u32, Option<u32>)> = seen
            .iter()
            .map(|p| (p.step.as_str(), p.done, p.total))
            .collect();
        assert_eq!(
            summary,
            [
                ("first", 0, Some(2)),
                ("second", 1, Some(2)),
                ("done", 2, Some(2))
            ],
            "each report counts the steps finished before it; the last one says all are done"
        );
        assert!(seen.iter().all(|p| p.operation == "demo"));
        assert_eq!(seen[1].message, "Doing the second thing");
    }

    #[test]
    fn progress_json_is_camel_case_with_a_nullable_total() {
        let p = Progress {
            operation: "import".into(),
            step: "users".into(),
            done: 3,
            total: None,
            message: "Importing users".into(),
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"operation":"import","step":"users","done":3,"total":null,"message":"Importing users"}"#
        );
    }
}
