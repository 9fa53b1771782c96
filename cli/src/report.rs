//! `report`: the access review as one self-contained HTML page, or JSON.

use clap::Args;

use crate::{CliError, Outcome};

/// `idc-guard report`'s arguments.
#[derive(Args)]
pub(crate) struct ReportArgs {}

pub(crate) fn report(_args: &ReportArgs) -> Result<Outcome, CliError> {
    Err(CliError::Usage("report: not yet written".to_owned()))
}
