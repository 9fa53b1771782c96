//! `doctor`: the deployment guide's Verify checklist and the deployment's health.

use clap::Args;

use crate::{CliError, Outcome};

/// `idc-guard doctor`'s arguments.
#[derive(Args)]
pub(crate) struct DoctorArgs {}

pub(crate) fn doctor(_args: &DoctorArgs) -> Result<Outcome, CliError> {
    Err(CliError::Usage("doctor: not yet written".to_owned()))
}
