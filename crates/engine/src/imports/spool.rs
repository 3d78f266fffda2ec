//! The spool of an import (docs/imports.md "Words"): the mapped, validated records of a plan as JSON
//! lines (`{"externalId","active","profile"}`) in `{data dir}/imports/{importId}.jsonl`, written once by
//! the plan and read back, streaming, by line range by apply and resume; and the content hash of a
//! mapped record used by delta imports.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::mapping::Mapped;
use crate::error::{Error, Result};

/// `{data_dir}/imports/{import_id}.jsonl`.
pub fn spool_path(data_dir: &Path, import_id: &str) -> PathBuf {
    data_dir.join("imports").join(format!("{import_id}.jsonl"))
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Task(format!(
        "Could not {what} the import spool {} ({e}). Check the disk space and the data folder's permissions.",
        path.display()
    ))
}

/// Writes a spool, one record a line.
#[derive(Debug)]
pub struct SpoolWriter {
    out: BufWriter<File>,
    path: PathBuf,
    lines: u64,
}

impl SpoolWriter {
    /// Creates (or truncates) the spool at `path`, creating its folder.
    pub fn create(path: &Path) -> Result<SpoolWriter> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(path, "create the folder of", e))?;
        }
        let file = File::create(path).map_err(|e| io_error(path, "create", e))?;
        Ok(SpoolWriter {
            out: BufWriter::new(file),
            path: path.to_owned(),
            lines: 0,
        })
    }

    /// Appends a record; returns its line number (from 1).
    pub fn write(&mut self, record: &Mapped) -> Result<u64> {
        serde_json::to_writer(&mut self.out, record)
            .map_err(|e| io_error(&self.path, "write", std::io::Error::other(e)))?;
        self.out
            .write_all(b"\n")
            .map_err(|e| io_error(&self.path, "write", e))?;
        self.lines += 1;
        Ok(self.lines)
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Flushes and syncs the file; returns the number of lines.
    pub fn finish(self) -> Result<u64> {
        let path = self.path;
        let file = self
            .out
            .into_inner()
            .map_err(|e| io_error(&path, "write", e.into_error()))?;
        file.sync_all().map_err(|e| io_error(&path, "sync", e))?;
        Ok(self.lines)
    }
}

/// Reads a spool forward: consecutive ranges are read without going back to the start.
#[derive(Debug)]
pub struct SpoolReader {
    path: PathBuf,
    input: BufReader<File>,
    /// The number of the next line `input` yields.
    next_line: u64,
    buf: String,
}

impl SpoolReader {
    /// Opens the spool at `path`.
    pub fn open(path: &Path) -> Result<SpoolReader> {
        let file = File::open(path).map_err(|e| io_error(path, "open", e))?;
        Ok(SpoolReader {
            path: path.to_owned(),
            input: BufReader::new(file),
            next_line: 1,
            buf: String::new(),
        })
    }

    /// The next line's record; `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<Mapped>> {
        Ok(self.next_of(None)?.flatten())
    }

    /// The next line's record when its active flag is `active` (any with `None`): `Some(None)` for
    /// a line of the other kind, which is checked but not built; `None` at the end.
    fn next_of(&mut self, active: Option<bool>) -> Result<Option<Option<Mapped>>> {
        /// The active flag alone: the rest of the line is skipped without being built.
        #[derive(serde::Deserialize)]
        struct Head {
            active: bool,
        }
        self.buf.clear();
        let n = self
            .input
            .read_line(&mut self.buf)
            .map_err(|e| io_error(&self.path, "read", e))?;
        if n == 0 {
            return Ok(None);
        }
        let line = self.next_line;
        self.next_line += 1;
        let damaged = |e: serde_json::Error| {
            Error::Task(format!(
                "The import spool {} is damaged at line {line} ({e}); plan the import again.",
                self.path.display()
            ))
        };
        let text = self.buf.trim_end();
        if let Some(active) = active
            && serde_json::from_str::<Head>(text).map_err(damaged)?.active != active
        {
            return Ok(Some(None));
        }
        serde_json::from_str(text)
            .map(|r| Some(Some(r)))
            .map_err(damaged)
    }

    /// The records of lines `from..=to` (from 1). Reading a range before the last one read starts the
    /// file again. Lines past the end are an error: the spool is not the one planned.
    pub fn read_lines(&mut self, from: u64, to: u64) -> Result<Vec<Mapped>> {
        self.read_lines_of(from, to, None)
    }

    /// The records of lines `from..=to` whose active flag is `active` (all with `None`), as
    /// [`read_lines`](Self::read_lines): the others are read over without being built, so a chunk of
    /// 200 inactive users spread over 2,000 lines holds 200 records, not 2,000.
    pub fn read_lines_of(
        &mut self,
        from: u64,
        to: u64,
        active: Option<bool>,
    ) -> Result<Vec<Mapped>> {
        if from == 0 || to < from {
            return Err(Error::Task(format!(
                "spool lines {from} to {to} are not a range of lines (they start at 1)"
            )));
        }
        if from < self.next_line {
            *self = SpoolReader::open(&self.path)?;
        }
        while self.next_line < from {
            self.buf.clear();
            let n = self
                .input
                .read_line(&mut self.buf)
                .map_err(|e| io_error(&self.path, "read", e))?;
            if n == 0 {
                return Err(self.short(from, to));
            }
            self.next_line += 1;
        }
        let mut out = Vec::with_capacity((to - from + 1).min(200) as usize);
        while self.next_line <= to {
            match self.next_of(active)? {
                Some(Some(r)) => out.push(r),
                Some(None) => {}
                None => return Err(self.short(from, to)),
            }
        }
        Ok(out)
    }

    fn short(&self, from: u64, to: u64) -> Error {
        Error::Task(format!(
            "The import spool {} ends at line {} before lines {from} to {to}; plan the import again.",
            self.path.display(),
            self.next_line - 1
        ))
    }
}

/// The records of lines `from..=to` (from 1) of the spool at `path`.
pub fn read_lines(path: &Path, from: u64, to: u64) -> Result<Vec<Mapped>> {
    SpoolReader::open(path)?.read_lines(from, to)
}

/// The SHA-256 of a mapped record's content: the active flag and the profile attributes sorted by
/// name (the externalId is the key it is stored under, not part of the content).
pub fn content_hash(record: &Mapped) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(if record.active { b"1" } else { b"0" });
    for (k, v) in &record.profile {
        // Lengths first, so no value can run into the next attribute.
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u64, active: bool) -> Mapped {
        Mapped {
            external_id: format!("E{n}"),
            active,
            profile: [("userName".to_owned(), format!("u{n}@corp.example"))].into(),
        }
    }

    #[test]
    fn a_range_of_one_kind_builds_only_that_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.jsonl");
        let mut w = SpoolWriter::create(&path).unwrap();
        for n in 1..=10 {
            w.write(&record(n, n % 3 != 0)).unwrap();
        }
        assert_eq!(w.finish().unwrap(), 10);
        let mut r = SpoolReader::open(&path).unwrap();
        let inactive = r.read_lines_of(2, 9, Some(false)).unwrap();
        assert_eq!(
            inactive,
            vec![record(3, false), record(6, false), record(9, false)]
        );
        // Going back starts the file again.
        let active = r.read_lines_of(1, 4, Some(true)).unwrap();
        assert_eq!(
            active,
            vec![record(1, true), record(2, true), record(4, true)]
        );
        assert_eq!(
            r.read_lines(9, 10).unwrap(),
            vec![record(9, false), record(10, true)]
        );
        let err = r.read_lines_of(10, 11, Some(true)).unwrap_err().to_string();
        assert!(err.contains("ends at line 10"), "{err}");
    }

    #[test]
    fn a_damaged_line_is_reported_even_when_of_the_other_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spool.jsonl");
        std::fs::write(
            &path,
            "{\"externalId\":\"E1\",\"active\":true,\"profile\":{}}\n{\"externalId\":\"E2\",\"active\":\n",
        )
        .unwrap();
        let err = SpoolReader::open(&path)
            .unwrap()
            .read_lines_of(1, 2, Some(true))
            .unwrap_err()
            .to_string();
        assert!(err.contains("damaged at line 2"), "{err}");
    }
}
