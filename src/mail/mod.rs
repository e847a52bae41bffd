//! E-mail, the pure part: what a letter carries (`payload`: the outbox entries' JSON, built
//! from the validated config), how it reads (`render`: minijinja templates shipped in
//! `assets/mail/<language>/`), when a failed one is tried again (`retry`), and whom the SMTP
//! connection trusts (`tls`: `server.smtp.ca_file`). No sockets and
//! no store here: `serve::mail` is the task that takes due letters from the outbox and sends
//! them over SMTP with lettre.

pub mod payload;
pub mod render;
pub mod retry;
pub mod tls;
