//! The one integration-test binary: each module tests one user-facing surface.

mod audio;
mod baresip;
mod callbacks;
mod calls;
mod cli;
mod drain;
mod examples;
mod fixtures;
mod fuzz;
mod graph;
mod layering;
mod mail;
mod media;
mod peers;
mod plan;
mod rfc4475;
mod routing;
mod schema;
mod security;
mod server;
mod simulate;
mod sip;
mod support;
mod voicemail;
