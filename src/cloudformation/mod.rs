//! The CloudFormation custom-resource protocol: the event that arrives, the
//! answer that goes back, and the PUT that sends it.

pub mod answer;
pub mod event;
pub mod response;

pub use answer::{Answer, Status};
pub use event::{Envelope, EventError, Request};
pub use response::{ResponseSender, ResponseUrl, SendError, UrlError};
