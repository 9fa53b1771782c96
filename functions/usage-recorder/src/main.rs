//! Wiring only: the behaviour lives in the `idc-guard` library, which runs this function by its
//! crate name (`idc_guard::wiring::FUNCTIONS`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    idc_guard::lambda::run(env!("CARGO_PKG_NAME")).await
}
