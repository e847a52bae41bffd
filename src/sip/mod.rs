//! SIP (RFC 3261): the message codec, the transaction state machines, and (as they land) the
//! transports, registrar, digest authentication and B2BUA.

mod admission;
pub mod auth;
mod b2bua;
mod call;
pub mod directory;
mod drain;
pub mod endpoint;
mod history;
pub mod message;
pub mod registrar;
mod reinvite;
pub mod transaction;
pub mod transport;
pub mod trunk_registration;
