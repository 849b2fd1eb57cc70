#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    sagemaker_image_version::init_logging();
    sagemaker_image_version::run().await
}
