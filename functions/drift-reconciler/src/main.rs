//! Wiring only: the behaviour lives in the `idc-guard` library.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idc_guard::lambda::run_reconciler().await
}
