//! Where okta365 keeps its files. `OKTA365_DATA_DIR` moves every one of them.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The environment variable that moves every path the app and the CLI write.
pub const DATA_DIR_ENV: &str = "OKTA365_DATA_DIR";

/// The app identifier of release builds; debug builds append `.dev` so they never share data.
pub const APP_IDENTIFIER: &str = "com.okta365.app";

/// Every path okta365 writes, all under one data dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The data dir itself.
    pub data_dir: PathBuf,
    /// `{data_dir}/logs`: daily rolling log files.
    pub log_dir: PathBuf,
    /// `{data_dir}/okta365.sqlite3`: the store.
    pub db_path: PathBuf,
    /// `{data_dir}/sandbox`: the data dir's own sandbox tenant.
    pub sandbox_dir: PathBuf,
}

impl Paths {
    /// `OKTA365_DATA_DIR` if set (made absolute), else the platform data dir for this build's identifier
    /// (`com.okta365.app`, or `com.okta365.app.dev` for debug builds), the same folder Tauri's
    /// `app_data_dir` uses.
    pub fn from_env() -> Result<Paths> {
        match std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                let dir =
                    std::path::absolute(&dir).map_err(|source| Error::Dir { path: dir, source })?;
                Ok(Paths::at(dir))
            }
            None => {
                let base = directories::BaseDirs::new().ok_or(Error::NoDataDir)?;
                Ok(Paths::at(base.data_dir().join(app_identifier())))
            }
        }
    }

    /// The paths under `data_dir`.
    pub fn at(data_dir: impl Into<PathBuf>) -> Paths {
        let data_dir = data_dir.into();
        Paths {
            log_dir: data_dir.join("logs"),
            db_path: data_dir.join("okta365.sqlite3"),
            sandbox_dir: data_dir.join("sandbox"),
            data_dir,
        }
    }

    /// Creates the data dir and the log dir if missing.
    pub fn create_dirs(&self) -> Result<()> {
        for dir in [&self.data_dir, &self.log_dir] {
            create_dir(dir)?;
        }
        Ok(())
    }
}

/// This build's app identifier.
pub fn app_identifier() -> &'static str {
    if cfg!(debug_assertions) {
        "com.okta365.app.dev"
    } else {
        APP_IDENTIFIER
    }
}

/// Creates `dir` and its parents; a file in the way is reported as [`Error::NotADir`].
pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| {
        // "File exists" alone does not tell an admin that a folder was expected; say so.
        match dir.metadata() {
            Ok(meta) if !meta.is_dir() => Error::NotADir {
                path: dir.to_owned(),
            },
            _ => Error::Dir {
                path: dir.to_owned(),
                source,
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_under_the_data_dir() {
        let paths = Paths::at("/tmp/o365");
        assert_eq!(paths.log_dir, Path::new("/tmp/o365/logs"));
        assert_eq!(paths.db_path, Path::new("/tmp/o365/okta365.sqlite3"));
        assert_eq!(paths.sandbox_dir, Path::new("/tmp/o365/sandbox"));
    }

    #[test]
    fn a_file_where_the_data_dir_should_be_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-folder");
        std::fs::write(&file, "x").unwrap();
        let error = Paths::at(&file).create_dirs().unwrap_err();
        assert!(
            matches!(&error, Error::NotADir { path } if *path == file),
            "a file in the way is reported as such, not as an I/O error: {error:?}"
        );
        assert!(
            error
                .to_string()
                .contains("is a file, but okta365 needs a folder there"),
            "{error}"
        );
    }

    #[test]
    fn debug_builds_use_their_own_identifier() {
        let expected = if cfg!(debug_assertions) {
            "com.okta365.app.dev"
        } else {
            "com.okta365.app"
        };
        assert_eq!(app_identifier(), expected);
    }
}
