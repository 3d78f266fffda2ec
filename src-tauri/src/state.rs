//! The engine as the commands see it: open, or the reason it could not open.
//!
//! A start-up failure (an unwritable data dir, a database from a newer build, …) does not stop the
//! app: the window still opens, every command answers with the same [`ApiError`], and the front end
//! shows it as a full-page error instead of the wizard. Someone who started okta365 from a desktop
//! menu sees why, rather than nothing.

use okta365_engine::{ApiError, Engine, Paths};
use serde_json::json;

/// The engine, or why it could not open (code `internal`, details `{dataDir, logDir}` when known).
pub struct AppState(Result<Engine, ApiError>);

impl AppState {
    /// Opens the engine on `paths`; a failure is logged and kept for the commands to return.
    pub async fn open(paths: okta365_engine::Result<Paths>) -> AppState {
        let opened = match paths {
            Ok(paths) => {
                let details = json!({
                    "dataDir": paths.data_dir.display().to_string(),
                    "logDir": paths.log_dir.display().to_string(),
                });
                Engine::open(paths).await.map_err(|error| ApiError {
                    details: Some(details),
                    ..ApiError::from(error)
                })
            }
            Err(error) => Err(ApiError::from(error)),
        };
        if let Err(error) = &opened {
            tracing::error!(%error, "the engine could not open; the window shows why");
        }
        AppState(opened)
    }

    /// The engine, or the start-up error every command answers with.
    pub fn engine(&self) -> Result<&Engine, ApiError> {
        self.0.as_ref().map_err(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use okta365_engine::ErrorCode;

    use super::*;

    fn open(paths: okta365_engine::Result<Paths>) -> AppState {
        tauri::async_runtime::block_on(AppState::open(paths))
    }

    #[test]
    fn a_data_dir_that_is_a_file_becomes_an_error_every_command_returns() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("okta365-data");
        std::fs::write(&file, "not a folder").unwrap();
        let state = open(Ok(Paths::at(&file)));

        let error = state.engine().unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal);
        assert_eq!(
            error.message,
            format!(
                "{} is a file, but okta365 needs a folder there for its data. Move the file away, or set \
                 OKTA365_DATA_DIR to a folder.",
                file.display()
            ),
            "the message names the path and says what to do"
        );
        assert_eq!(
            error.details,
            Some(json!({
                "dataDir": file.display().to_string(),
                "logDir": file.join("logs").display().to_string(),
            })),
            "the paths ride along for the error screen"
        );
        assert_eq!(
            state.engine().unwrap_err(),
            error,
            "every command gets the same error"
        );
    }

    #[test]
    fn a_database_from_a_newer_build_is_reported_with_its_versions() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::at(dir.path());
        let db = rusqlite::Connection::open(&paths.db_path).unwrap();
        db.pragma_update(None, "user_version", 999).unwrap();
        drop(db);

        let error = open(Ok(paths)).engine().unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal);
        assert!(
            error.message.starts_with(
                "The okta365 database is at version 999, newer than this build understands"
            ),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("Update okta365"),
            "says what to do: {}",
            error.message
        );
    }

    #[test]
    fn unknown_paths_give_an_error_without_details() {
        let error = open(Err(okta365_engine::Error::NoDataDir))
            .engine()
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::Internal);
        assert!(
            error.message.contains("Set OKTA365_DATA_DIR"),
            "{}",
            error.message
        );
        assert_eq!(error.details, None, "no paths are known to show");
    }

    #[test]
    fn a_usable_data_dir_gives_the_engine() {
        let dir = tempfile::tempdir().unwrap();
        let state = open(Ok(Paths::at(dir.path())));
        let engine = state.engine().expect("the engine opens on an empty folder");
        let info = tauri::async_runtime::block_on(engine.app_info()).unwrap();
        assert_eq!(info.data_dir, dir.path().display().to_string());
        assert!(
            dir.path().join("okta365.sqlite3").exists(),
            "the store was created"
        );
    }
}
