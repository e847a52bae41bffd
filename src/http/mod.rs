//! HTTP: the admin API used by `pbx plan --server` and `pbx apply` (the web cabinet joins it
//! later).

pub mod admin;
