//! Why a subcommand failed, as the one line the tool prints.

use crate::nvme_tcp::initiator;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Nvme(#[from] initiator::Error),
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

impl CliError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }
}
