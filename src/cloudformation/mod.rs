//! The CloudFormation custom-resource protocol: the event that arrives, the
//! answer that goes back, and the PUT that sends it.

pub(crate) mod answer;
pub(crate) mod event;
pub(crate) mod response;

pub(crate) use answer::{Answer, Status, kept_id};
pub(crate) use event::{Envelope, EventError};
pub(crate) use response::{ResponseSender, ResponseUrl, SendError};

#[cfg(test)]
mod proptests;
