use lambda_runtime::service_fn;
use sagemaker_image_version::cloudformation::ResponseSender;
use sagemaker_image_version::handler::Handler;
use sagemaker_image_version::lifecycle::Pacing;
use sagemaker_image_version::logging;
use sagemaker_image_version::sagemaker::sdk::Clients;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    logging::init();
    let handler = Handler::new(Clients::default(), ResponseSender::from_env(), Pacing::default());
    lambda_runtime::run(service_fn(move |event| handler.clone().handle(event))).await
}
