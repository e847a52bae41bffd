//! The mail sender: one tokio task (started by `pbx serve`) that takes due letters (welcome,
//! voicemail, missed-call) from the outbox, renders them with the running config's templates
//! (`mail::render::Templates`, read at apply time), sends them over SMTP with lettre, and marks each
//! one sent — with its plaintext password erased from the stored payload — or failed (given
//! up, erased too): a
//! temporary failure (no connection, a 4xx answer) is tried again later (`mail::retry`), a
//! permanent one (a 5xx answer, a letter that cannot be built) is given up and logged.
//!
//! Once: an entry is marked sent right after the SMTP server accepted it (its 250 answer to
//! the data), and a restart only takes pending entries, so a letter is not sent twice — but
//! a kill between that 250 and the mark leaves it pending, and it goes out once more after the
//! restart (at least once, not exactly once). Its `Message-ID` is derived from the outbox id and
//! the store's tag (`<pbx-outbox-<id>.<tag>@<from's domain>>`), the same at every attempt, so
//! such a duplicate is recognisable.
//!
//! Letters sent or given up stay in the outbox for `server.smtp.keep_sent` (30 days by
//! default; the admin API shows them meanwhile) and are then removed, at start and hourly.
//!
//! TLS (rustls): `security: starttls` requires the server's STARTTLS (one that does not offer
//! it gets nothing, rather than a letter in clear), `tls` speaks TLS from the first byte; the
//! certificate must chain to `server.smtp.ca_file`'s certificates when it is given, to the
//! public roots otherwise, and name the host (`mail::tls`). A TLS failure is a temporary
//! failure like a lost connection: retried, with the error in the entry's `last_error`.
//!
//! Without `server.smtp` letters wait in the outbox (logged once) until a config has it; SMTP
//! settings that cannot be used (an unreadable `ca_file` or password) are logged once while
//! they last, and the letters wait too.

use super::applier::{now_ms, Applier};
use crate::config::model::{Smtp, SmtpSecurity, DEFAULT_KEEP_SENT};
use crate::mail::payload::{self, MissedCallLetter, VoicemailLetter, WelcomeLetter};
use crate::mail::render::{Rendered, Templates};
use crate::mail::retry::{next_attempt, Failure};
use crate::mail::tls::{self, TrustedCa};
use crate::store::{Outbox, OutboxEntry};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::Tls;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the outbox is looked at.
const POLL: Duration = Duration::from_millis(500);
/// Letters taken per look.
const BATCH: usize = 16;
/// How long one SMTP conversation may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often done letters past `server.smtp.keep_sent` are removed (and once at start).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Starts the sender; it stops when `cancel` is cancelled (between letters).
pub fn spawn(
    applier: Arc<Applier>,
    data_dir: PathBuf,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(applier, data_dir, cancel))
}

async fn run(applier: Arc<Applier>, data_dir: PathBuf, cancel: CancellationToken) {
    // The store's tag, part of every Message-ID; nothing is sent without it.
    let tag = loop {
        let store = applier.clone();
        match tokio::task::spawn_blocking(move || store.store().outbox_tag()).await {
            Ok(Ok(tag)) => break tag,
            Ok(Err(e)) => log(&format!("letters wait: no outbox tag: {e}")),
            Err(e) => log(&format!("letters wait: no outbox tag: {e}")),
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL * 10) => {}
        }
    };
    let mut told_no_smtp = false;
    // The last reason the SMTP settings could not be used, logged once while it lasts.
    let mut told_error: Option<String> = None;
    let mut next_prune = tokio::time::Instant::now();
    loop {
        let running = applier.running();
        let smtp = running.as_ref().and_then(|r| r.config.server.smtp.clone());
        if tokio::time::Instant::now() >= next_prune {
            next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
            let keep = smtp.as_ref().map_or(DEFAULT_KEEP_SENT, |m| m.keep_sent);
            prune(&applier, keep).await;
        }
        let templates = running.map_or_else(
            || Arc::new(Templates::load(None).expect("the shipped templates compile")),
            |r| r.templates.clone(),
        );
        let due = {
            let applier = applier.clone();
            tokio::task::spawn_blocking(move || applier.store().due(now_ms(), BATCH)).await
        };
        let due = match due {
            Ok(Ok(due)) => due,
            // While the store cannot write, its own line says why (once).
            Ok(Err(_)) if applier.store().health().failing() => Vec::new(),
            Ok(Err(e)) => {
                log(&format!("cannot read the outbox: {e}"));
                Vec::new()
            }
            Err(e) => {
                log(&format!("cannot read the outbox: {e}"));
                Vec::new()
            }
        };
        match (&smtp, due.is_empty()) {
            (None, false) if !told_no_smtp => {
                log("letters wait in the outbox: no server.smtp is configured");
                told_no_smtp = true;
            }
            (Some(smtp), false) => {
                told_no_smtp = false;
                match Sender::new(smtp, &tag) {
                    Ok(sender) => {
                        told_error = None;
                        for entry in due {
                            if cancel.is_cancelled() {
                                return;
                            }
                            deliver(&applier, &sender, &templates, &data_dir, entry).await;
                        }
                        continue;
                    }
                    Err(e) => {
                        if told_error.as_ref() != Some(&e) {
                            log(&format!("letters wait: {e}"));
                            told_error = Some(e);
                        }
                    }
                }
            }
            _ => {}
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

/// An SMTP connection's settings, ready to send.
struct Sender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The store's `Outbox::outbox_tag`.
    tag: String,
}

impl Sender {
    fn new(smtp: &Smtp, tag: &str) -> Result<Sender, String> {
        let from: Mailbox = smtp
            .from
            .parse()
            .map_err(|e| format!("server.smtp.from {:?}: {e}", smtp.from))?;
        // Never in clear when TLS is asked for: STARTTLS is required (a server that does not
        // offer it is an error), and the certificate is checked against `ca_file` (only) or the
        // public roots, and against the host.
        let tls = || {
            let ca = smtp
                .ca_file
                .as_deref()
                .map(|file| {
                    TrustedCa::read(file)
                        .map_err(|e| format!("server.smtp.ca_file {}: {e}", file.display()))
                })
                .transpose()?;
            tls::parameters(&smtp.host, ca.as_ref()).map_err(|e| format!("server.smtp: {e}"))
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str());
        let builder = match smtp.security {
            SmtpSecurity::None => builder,
            SmtpSecurity::Starttls => builder.tls(Tls::Required(tls()?)),
            SmtpSecurity::Tls => builder.tls(Tls::Wrapper(tls()?)),
        };
        let mut builder = builder.port(smtp.port).timeout(Some(SMTP_TIMEOUT));
        if let Some(user) = &smtp.username {
            let password = smtp
                .password
                .as_ref()
                .and_then(crate::credentials::reveal)
                .ok_or("server.smtp.password cannot be read")?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Sender {
            transport: builder.build(),
            from,
            tag: tag.to_owned(),
        })
    }
}

/// The `Message-ID` of outbox entry `id`: the same at every attempt — a letter sent again
/// after a kill between the SMTP server's acceptance and the mark carries the one it carried
/// the first time, so the receiving side can drop the duplicate — and unique across servers
/// sending from one domain (the store's `tag`). Stable as long as `server.smtp.from` keeps its
/// domain.
fn message_id(id: u64, tag: &str, from: &Mailbox) -> String {
    format!("<pbx-outbox-{id}.{tag}@{}>", from.email.domain())
}

/// A letter ready to go, and the payload to keep once it went (`None`: keep it as it is).
struct Built {
    message: Message,
    keep: Option<serde_json::Value>,
}

/// Builds the letter of `entry`; an error is permanent (the entry cannot become a letter).
async fn build(
    sender: &Sender,
    templates: &Templates,
    data_dir: &Path,
    entry: &OutboxEntry,
) -> Result<Built, String> {
    let to: Mailbox = payload::recipient(&entry.payload)
        .ok_or("the entry names no recipient")?
        .parse()
        .map_err(|e| format!("the recipient: {e}"))?;
    let head = Message::builder()
        .from(sender.from.clone())
        .to(to)
        .message_id(Some(message_id(entry.id, &sender.tag, &sender.from)));
    let alternative =
        |r: &Rendered| MultiPart::alternative_plain_html(r.text.clone(), r.html.clone());
    match entry.kind.as_str() {
        payload::WELCOME => {
            let letter: WelcomeLetter = serde_json::from_value(entry.payload.clone())
                .map_err(|e| format!("a malformed welcome letter: {e}"))?;
            if letter.password.is_none() {
                return Err("the welcome letter's password was erased".into());
            }
            let r = templates.welcome(&letter).map_err(|e| e.to_string())?;
            let message = head
                .subject(r.subject.clone())
                .multipart(alternative(&r))
                .map_err(|e| e.to_string())?;
            Ok(Built {
                message,
                keep: payload::done(&entry.kind, &entry.payload),
            })
        }
        payload::VOICEMAIL => {
            let letter: VoicemailLetter = serde_json::from_value(entry.payload.clone())
                .map_err(|e| format!("a malformed voicemail letter: {e}"))?;
            let recording = match crate::serve::voicemail::recording_path(
                data_dir,
                &crate::store::Voicemail {
                    id: letter.message,
                    tenant: letter.tenant.clone(),
                    mailbox: letter.mailbox.clone(),
                    caller: letter.caller.clone(),
                    number: letter.number.clone(),
                    received_ms: letter.received_ms,
                    duration_ms: letter.duration_ms,
                    file: letter.file.clone(),
                    heard: false,
                },
            ) {
                Ok(path) => tokio::task::spawn_blocking(move || std::fs::read(path).ok())
                    .await
                    .ok()
                    .flatten(),
                Err(_) => None,
            };
            let r = templates
                .voicemail(&letter, recording.is_some())
                .map_err(|e| e.to_string())?;
            let head = head.subject(r.subject.clone());
            let message = match recording {
                Some(bytes) => {
                    head.multipart(MultiPart::mixed().multipart(alternative(&r)).singlepart(
                        Attachment::new(format!("voicemail-{}.wav", letter.message)).body(
                            bytes,
                            ContentType::parse("audio/wav").map_err(|e| e.to_string())?,
                        ),
                    ))
                }
                None => head.multipart(alternative(&r)),
            }
            .map_err(|e| e.to_string())?;
            Ok(Built {
                message,
                keep: None,
            })
        }
        payload::MISSED_CALL => {
            let letter: MissedCallLetter = serde_json::from_value(entry.payload.clone())
                .map_err(|e| format!("a malformed missed-call letter: {e}"))?;
            let r = templates.missed_call(&letter).map_err(|e| e.to_string())?;
            let message = head
                .subject(r.subject.clone())
                .multipart(alternative(&r))
                .map_err(|e| e.to_string())?;
            Ok(Built {
                message,
                keep: None,
            })
        }
        other => Err(format!("no letter of kind {other:?}")),
    }
}

/// Removes the letters sent or given up more than `keep` ago.
async fn prune(applier: &Arc<Applier>, keep: Duration) {
    let applier = applier.clone();
    let keep_ms = u64::try_from(keep.as_millis()).unwrap_or(u64::MAX);
    match tokio::task::spawn_blocking(move || applier.store().prune(now_ms(), keep_ms)).await {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => log(&format!(
            "{n} letter(s) sent or given up over {} ago removed from the outbox",
            crate::config::clock::format_duration(keep)
        )),
        Ok(Err(e)) => log(&format!("cannot prune the outbox: {e}")),
        Err(e) => log(&format!("cannot prune the outbox: {e}")),
    }
}

/// Sends `entry` and records what happened.
async fn deliver(
    applier: &Arc<Applier>,
    sender: &Sender,
    templates: &Templates,
    data_dir: &Path,
    entry: OutboxEntry,
) {
    let id = entry.id;
    let attempts = entry.attempts.saturating_add(1);
    let to = payload::recipient(&entry.payload).unwrap_or("-").to_owned();
    let outcome = match build(sender, templates, data_dir, &entry).await {
        Err(e) => Err((Failure::Permanent, e)),
        // lettre's own timeout does not cover every step (a server that never answers an AUTH
        // would hold the sender, and every letter behind it, for good): the whole conversation
        // is bounded here too.
        Ok(built) => {
            match tokio::time::timeout(2 * SMTP_TIMEOUT, sender.transport.send(built.message)).await
            {
                Ok(Ok(_)) => Ok(built.keep),
                Ok(Err(e)) if e.is_permanent() => Err((Failure::Permanent, e.to_string())),
                Ok(Err(e)) => Err((Failure::Temporary, e.to_string())),
                Err(_) => Err((
                    Failure::Temporary,
                    format!(
                        "the SMTP server did not finish within {} s",
                        (2 * SMTP_TIMEOUT).as_secs()
                    ),
                )),
            }
        }
    };
    let writer = applier.clone();
    let kind = entry.kind.clone();
    // A letter given up keeps no password either.
    let erased = payload::done(&entry.kind, &entry.payload);
    let marked = tokio::task::spawn_blocking(move || {
        let store = writer.store();
        match outcome {
            Ok(keep) => store
                .sent(id, now_ms(), keep)
                .map(|()| format!("{kind} {id} to {to} sent")),
            Err((failure, reason)) => {
                let now = now_ms();
                let retry = next_attempt(failure, attempts, now);
                store
                    .failed(id, &reason, retry, now, erased)
                    .map(|()| match retry {
                        Some(at) => format!(
                            "{kind} {id} to {to} not sent ({reason}); trying again in {} s",
                            at.saturating_sub(now) / 1000
                        ),
                        None => format!("{kind} {id} to {to} given up: {reason}"),
                    })
            }
        }
    })
    .await;
    match marked {
        Ok(Ok(line)) => log(&line),
        Ok(Err(e)) => {
            let what = format!("the attempt of outbox entry {id}");
            if let Some(line) = applier.store().health().report(&what, &e) {
                log(&line);
            }
        }
        Err(e) => log(&format!("outbox entry {id}: {e}")),
    }
}

fn log(message: &str) {
    eprintln!("pbx serve: mail: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_id_is_made_of_the_entry_the_store_and_the_senders_domain() {
        let from: Mailbox = "PBX <pbx@example.com>".parse().unwrap();
        let id = message_id(42, "0123456789abcdef", &from);
        assert_eq!(id, "<pbx-outbox-42.0123456789abcdef@example.com>");
        assert_eq!(message_id(42, "0123456789abcdef", &from), id);
        assert_ne!(message_id(43, "0123456789abcdef", &from), id);
        assert_ne!(message_id(42, "fedcba9876543210", &from), id);
    }
}
