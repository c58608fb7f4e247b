use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("cannot create {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("store {path} has schema version {found}, newer than this Redline understands ({known}); upgrade Redline")]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("no run `{0}` in the store (see `redline runs list`)")]
    NoSuchRun(String),
    #[error("no assessment `{0}` in the store")]
    NoSuchAssessment(String),
    #[error("no finding `{0}` in the store (see `redline findings list`)")]
    NoSuchFinding(String),
    #[error("no campaign `{0}` in the store")]
    NoSuchCampaign(String),
    #[error("id `{0}` is ambiguous: it is a prefix of several ids")]
    AmbiguousRun(String),
    #[error("corrupt record in the store: {0}")]
    Corrupt(String),
}

pub(crate) trait SqlContext<T> {
    fn ctx(self, path: &std::path::Path) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, path: &std::path::Path) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })
    }
}
