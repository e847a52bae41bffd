//! HTTP: the admin API used by `pbx plan --server` and `pbx apply` (`admin`), and the web
//! cabinet staff sign in to (`cabinet`), each on its own listener.

pub mod admin;
pub mod cabinet;
