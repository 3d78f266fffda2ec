//! Errors of the store.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing the okta365 store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database file could not be opened or created.
    #[error(
        "Could not open the okta365 database at {path}: {source}. Check that the folder exists and is writable, or point OKTA365_DATA_DIR at another folder."
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A migration failed; the database is left at the previous version.
    #[error(
        "Could not upgrade the okta365 database to version {version}: {source}. The database was left unchanged at version {current}."
    )]
    Migration {
        /// The migration that failed.
        version: u32,
        /// The version the database is still at.
        current: u32,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer okta365.
    #[error(
        "The okta365 database is at version {found}, newer than this build understands (version {supported}). Update okta365, or point OKTA365_DATA_DIR at another folder."
    )]
    TooNew {
        /// The version found in the file.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// Another profile already has this name (names are compared ignoring case).
    #[error(
        "A profile named \"{name}\" already exists. Choose another name, or remove that profile first."
    )]
    NameTaken {
        /// The name that is taken, as stored.
        name: String,
    },
    /// A value read back from the database is not what this build wrote.
    #[error(
        "The okta365 database holds an unexpected value in {column}: {value:?}. The file may have been edited by hand."
    )]
    Corrupt {
        /// Table and column.
        column: &'static str,
        /// The offending value.
        value: String,
    },
    /// Any other SQLite failure.
    #[error("The okta365 database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Result of store operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
