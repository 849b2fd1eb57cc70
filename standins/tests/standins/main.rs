//! The stand-ins' tests, one binary: each module holds the rules of one stand-in,
//! driven over the wire by the raw client of [`client`].

mod binary;
mod client;
mod lambda;
mod receiver;
mod runtime_api;
mod sagemaker;
mod sfn;
mod tls;
