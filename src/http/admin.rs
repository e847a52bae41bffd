//! The admin API that `pbx plan --server` and `pbx apply` talk to.
//!
//! Every route but `/healthz` needs `Authorization: Bearer <token>`, compared in constant
//! time; a missing or wrong token gets 401 and changes nothing. Bodies are size-limited (413).
//! A body that is not JSON gets 400; a config that is not valid gets 422 with every
//! diagnostic; refusals get 409. Applies go through the one `Applier`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /healthz` | `{status, revision, store}` (no token needed): `status` is `ok`, or `degraded` while the store cannot write (`store`: `{state: ok\|failing, dir, since_ms?, error?, failures, waiting}`, `store::Status`); calls go on either way |
//! | `GET /api/v1/state` | `RunningState`: revision, files, generated values |
//! | `POST /api/v1/apply` | `{bundle, force?, expected_revision?, max_removal_percent?}` -> `{revision, unchanged, plan, credentials}` |
//! | `GET /api/v1/history` | the apply history, newest first |
//! | `GET /api/v1/calls?tenant=&limit=` | call history records, newest first |
//! | `GET /api/v1/outbox` | the newest 100 letters: `{id, kind, to, state, attempts, last_error, at_ms}` (no payload: it may hold a password) |
//! | `POST /api/v1/tenants/{tenant}/staff/{login}/password` | `{notify?}` -> a new password, shown once, and `notified`: whether a welcome letter with it was enqueued (`notify: true` and an e-mail address) |
//! | `GET /api/v1/tenants/{tenant}/voicemail?mailbox=` | the tenant's messages (of one box: `staff:<login>`, `department:<id>`), newest first |
//! | `GET /api/v1/tenants/{tenant}/voicemail/{id}` | the recording, `audio/wav` |
//! | `DELETE /api/v1/tenants/{tenant}/voicemail/{id}` | 204; the message and its recording are gone |
//! | `POST /api/v1/tenants/{tenant}/voicemail/{id}/heard` | 204; the message is marked heard |
//! | `GET /api/v1/tenants/{tenant}/callbacks` | the tenant's callbacks waiting or being made, in queue order: `[{id, department, number, dialled, first_called_ms, ordered_ms, attempts, next_ms, calling, last_failure}]` |
//! | `GET /api/v1/security/bans` | sources banned for password guessing: `[{source, until, until_ms, failures, last_user}]` by address |
//! | `DELETE /api/v1/security/bans/{ip}` | 204; the ban is lifted (and logged); 404 when that address is not banned, 400 when it is not an address |
//!
//! A voicemail id that is unknown, or another tenant's, gets the same 404.

use crate::config::bundle::Bundle;
use crate::credentials::constant_time_eq;
use crate::engine::guard::{Ban, Event, Guard};
use crate::serve::applier::{Applier, ApplyOptions, Outcome, Refusal, RotateError, Source};
use crate::serve::voicemail::recording_path;
use crate::store::{Voicemail, VoicemailIndex};
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// Largest request body accepted (a 10,000-staff config is about 2 MB).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// What the routes share.
pub struct Admin {
    pub applier: Arc<Applier>,
    /// The token clients must present; `None` disables the API (every request gets 401).
    pub token: Option<String>,
    /// The server's data directory (voicemail recordings live under it).
    pub data_dir: PathBuf,
    /// Failed digest responses and bans, shared with the engine.
    pub guard: Arc<Guard>,
}

/// The admin routes.
pub fn router(admin: Arc<Admin>) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/api/v1/state", get(state))
        .route("/api/v1/apply", post(apply))
        .route("/api/v1/history", get(history))
        .route("/api/v1/calls", get(calls))
        .route("/api/v1/calls/open", get(open_calls))
        .route("/api/v1/outbox", get(outbox))
        .route(
            "/api/v1/tenants/{tenant}/staff/{login}/password",
            post(rotate),
        )
        .route("/api/v1/tenants/{tenant}/voicemail", get(voicemails))
        .route(
            "/api/v1/tenants/{tenant}/voicemail/{id}",
            get(voicemail_audio).delete(delete_voicemail),
        )
        .route(
            "/api/v1/tenants/{tenant}/voicemail/{id}/heard",
            post(voicemail_heard),
        )
        .route("/api/v1/tenants/{tenant}/callbacks", get(callbacks))
        .route("/api/v1/security/bans", get(bans))
        .route("/api/v1/security/bans/{ip}", delete(lift_ban))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(admin)
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": kind, "message": message.into() })),
    )
        .into_response()
}

/// Whether the request carries the admin token.
fn authorized(admin: &Admin, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match (&admin.token, presented) {
        (Some(expected), Some(given)) => constant_time_eq(expected.as_bytes(), given.as_bytes()),
        _ => false,
    }
}

/// The answer to a missing or wrong token: the same whatever is wrong with it.
fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "a valid admin token is required",
    )
}

/// Unauthenticated liveness, with the running revision (nothing else).
async fn health(State(admin): State<Arc<Admin>>) -> Response {
    let revision = admin.applier.running().map_or(0, |r| r.revision);
    let store = admin.applier.store().health().status();
    // Calls go on while the store cannot write: degraded, not down.
    let status = if store.state == "ok" {
        "ok"
    } else {
        "degraded"
    };
    Json(json!({ "status": status, "revision": revision, "store": store })).into_response()
}

async fn state(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let applier = admin.applier.clone();
    match tokio::task::spawn_blocking(move || applier.state()).await {
        Ok(Ok(s)) => Json(s).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// The body of `POST /api/v1/apply`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    pub bundle: Bundle,
    #[serde(default)]
    pub force: bool,
    pub expected_revision: Option<u64>,
    /// Overrides the 30% mass-removal threshold.
    pub max_removal_percent: Option<f64>,
}

async fn apply(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    body: Result<Json<ApplyRequest>, JsonRejection>,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let request = match body {
        Ok(Json(r)) => r,
        Err(e) => return error(e.status(), "bad-request", e.body_text()),
    };
    let mut options = ApplyOptions {
        force: request.force,
        expected_revision: request.expected_revision,
        ..Default::default()
    };
    if let Some(p) = request.max_removal_percent {
        if !(0.0..=100.0).contains(&p) {
            return error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "max_removal_percent must be between 0 and 100",
            );
        }
        options.max_removal_share = p / 100.0;
    }
    let applier = admin.applier.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        applier.apply(request.bundle, Source::Api("admin token".into()), options)
    })
    .await;
    match outcome {
        Ok(Outcome::Applied {
            revision,
            plan,
            credentials,
            warnings,
            phases,
        }) => {
            eprintln!(
                "pbx serve: revision {revision} applied through the admin API ({}): {}",
                phases.words(),
                crate::config::plan_report::summary_line(&plan)
            );
            Json(json!({
                "revision": revision,
                "unchanged": false,
                "plan": plan,
                "credentials": credentials,
                "warnings": warnings.iter().map(|w| w.message.clone()).collect::<Vec<_>>(),
            }))
            .into_response()
        }
        Ok(Outcome::Unchanged { revision }) => {
            Json(json!({ "revision": revision, "unchanged": true, "credentials": [] }))
                .into_response()
        }
        Ok(Outcome::Rejected(refusal)) => refusal_response(refusal),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

fn refusal_response(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Invalid { diagnostics, rendered } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "invalid-config", "message": "the config is invalid", "diagnostics": diagnostics, "rendered": rendered })),
        )
            .into_response(),
        Refusal::Bundle(m) => error(StatusCode::UNPROCESSABLE_ENTITY, "invalid-bundle", m),
        Refusal::RestartRequired(fields) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "restart-required", "message": format!("these settings change only with a restart: {}", fields.join(", ")), "fields": fields })),
        )
            .into_response(),
        Refusal::Unsafe(reasons) => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "unsafe", "message": reasons.join("; "), "reasons": reasons })),
        )
            .into_response(),
        Refusal::Conflict { expected, actual } => (
            StatusCode::CONFLICT,
            Json(json!({ "error": "conflict", "message": format!("the server runs revision {actual}, not {expected}: plan again"), "expected": expected, "actual": actual })),
        )
            .into_response(),
        Refusal::Store(m) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", m),
    }
}

async fn history(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let applier = admin.applier.clone();
    match tokio::task::spawn_blocking(move || applier.history(100)).await {
        Ok(Ok(h)) => Json(h).into_response(),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// One letter as `GET /api/v1/outbox` shows it: no payload (a welcome letter's holds the
/// password until it is sent).
#[derive(Debug, Serialize)]
struct OutboxLine {
    id: u64,
    kind: String,
    to: Option<String>,
    /// `pending`, `sent` or `failed`.
    state: &'static str,
    attempts: u32,
    last_error: Option<String>,
    /// When it was sent, is tried next, or was given up (ms since the epoch).
    at_ms: Option<u64>,
}

async fn outbox(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    use crate::store::{Delivery, Outbox};
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let applier = admin.applier.clone();
    match tokio::task::spawn_blocking(move || applier.store().outbox(100)).await {
        Ok(Ok(entries)) => {
            let lines: Vec<OutboxLine> = entries
                .into_iter()
                .map(|e| {
                    let (state, at_ms) = match e.delivery {
                        Delivery::Pending { next_attempt_ms } => ("pending", Some(next_attempt_ms)),
                        Delivery::Sent { at_ms } => ("sent", Some(at_ms)),
                        Delivery::Failed { at_ms, .. } => ("failed", at_ms),
                    };
                    OutboxLine {
                        id: e.id,
                        to: crate::mail::payload::recipient(&e.payload).map(str::to_owned),
                        kind: e.kind,
                        state,
                        attempts: e.attempts,
                        last_error: e.last_error,
                        at_ms,
                    }
                })
                .collect();
            Json(lines).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// Query of `GET /api/v1/calls`: newest first; `since`/`until` bound the end time (ms since
/// the epoch), `before` is the `cursor` of the last record of the previous page.
#[derive(Debug, Deserialize)]
pub struct CallsQuery {
    tenant: Option<String>,
    limit: Option<usize>,
    since: Option<u64>,
    until: Option<u64>,
    before: Option<String>,
}

async fn calls(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<CallsQuery>,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let applier = admin.applier.clone();
    let query = crate::store::CallQuery {
        tenant: q.tenant,
        since_ms: q.since,
        until_ms: q.until,
        before: q.before,
        limit: q.limit.unwrap_or(100).min(10_000),
    };
    match tokio::task::spawn_blocking(move || {
        crate::store::CallHistory::calls(applier.store(), &query)
    })
    .await
    {
        Ok(Ok(c)) => Json(c).into_response(),
        Ok(Err(e @ crate::store::StoreError::InvalidKey { .. })) => {
            error(StatusCode::BAD_REQUEST, "bad-cursor", e.to_string())
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// The calls in progress as the journal holds them (started, answered), oldest first.
async fn open_calls(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let applier = admin.applier.clone();
    match tokio::task::spawn_blocking(move || crate::store::Journal::open_calls(applier.store()))
        .await
    {
        Ok(Ok(mut open)) => {
            open.sort_by_key(|r| r.started_ms);
            Json(open).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// The tenant's callback queue (an unknown tenant has none: the same empty answer).
async fn callbacks(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let applier = admin.applier.clone();
    match tokio::task::spawn_blocking(move || {
        crate::store::CallbackQueue::callbacks(applier.store(), Some(&tenant))
    })
    .await
    {
        Ok(Ok(queue)) => Json(queue).into_response(),
        Ok(Err(e @ crate::store::StoreError::InvalidKey { .. })) => {
            error(StatusCode::BAD_REQUEST, "bad-tenant", e.to_string())
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// Body of a password rotation (optional: empty means `{}`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    /// Mail the new password in a welcome letter.
    #[serde(default)]
    notify: bool,
}

/// Reads the body of a password rotation as the handler does: empty (or only whitespace) is
/// `{}`; otherwise a JSON `RotateBody`. Gives its `notify`. Public so the fuzz target
/// `admin_body` reads bodies exactly the way the server does.
pub fn rotate_notify(body: &[u8]) -> Result<bool, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RotateBody::default().notify);
    }
    serde_json::from_slice::<RotateBody>(body).map(|b| b.notify)
}

async fn rotate(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path((tenant, login)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let notify = match rotate_notify(&body) {
        Ok(notify) => notify,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad-request", e.to_string()),
    };
    let applier = admin.applier.clone();
    match tokio::task::spawn_blocking(move || applier.rotate_password(&tenant, &login, notify))
        .await
    {
        Ok(Ok((c, notified))) => {
            let mut answer = serde_json::to_value(c).unwrap_or_default();
            answer["notified"] = json!(notified);
            Json(answer).into_response()
        }
        Ok(Err(RotateError::NotFound)) => {
            error(StatusCode::NOT_FOUND, "not-found", "no such staff member")
        }
        Ok(Err(e @ RotateError::Configured)) => {
            error(StatusCode::CONFLICT, "configured", e.to_string())
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// Query of `GET /api/v1/tenants/{tenant}/voicemail`: one box's messages only.
#[derive(Debug, Deserialize)]
pub struct VoicemailQuery {
    mailbox: Option<String>,
}

/// A voicemail message as the API shows it (where its file is stays inside).
#[derive(Debug, Serialize)]
struct VoicemailView {
    id: u64,
    mailbox: String,
    caller: String,
    number: Option<String>,
    received_ms: u64,
    duration_ms: u64,
    heard: bool,
}

impl From<Voicemail> for VoicemailView {
    fn from(m: Voicemail) -> Self {
        VoicemailView {
            id: m.id,
            mailbox: m.mailbox,
            caller: m.caller,
            number: m.number,
            received_ms: m.received_ms,
            duration_ms: m.duration_ms,
            heard: m.heard,
        }
    }
}

/// The answer to a message id that is unknown or another tenant's: the same for both.
fn no_such_message() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not-found",
        "no such voicemail message",
    )
}

/// A message id from the path; one that is not a number names no message.
fn message_id(id: &str) -> Option<u64> {
    id.parse().ok()
}

/// Answers a store failure in a voicemail route: a tenant that cannot be a key has no
/// messages (404), anything else is the server's (500).
fn voicemail_store_error(e: &crate::store::StoreError) -> Response {
    match e {
        crate::store::StoreError::InvalidKey { .. } => no_such_message(),
        e => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
    }
}

async fn voicemails(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(tenant): Path<String>,
    axum::extract::Query(q): axum::extract::Query<VoicemailQuery>,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    if let Some(mailbox) = &q.mailbox {
        let named = ["staff:", "department:"]
            .iter()
            .any(|kind| mailbox.strip_prefix(kind).is_some_and(|n| !n.is_empty()));
        if !named {
            return error(
                StatusCode::BAD_REQUEST,
                "bad-mailbox",
                format!("mailbox {mailbox:?} is neither `staff:<login>` nor `department:<id>`"),
            );
        }
    }
    let applier = admin.applier.clone();
    let listed = tokio::task::spawn_blocking(move || {
        applier.store().voicemails(&tenant, q.mailbox.as_deref())
    })
    .await;
    match listed {
        Ok(Ok(messages)) => Json(
            messages
                .into_iter()
                .map(VoicemailView::from)
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Ok(Err(crate::store::StoreError::InvalidKey { .. })) => {
            Json(Vec::<VoicemailView>::new()).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// What reading a recording came to.
enum Audio {
    Found(u64, Vec<u8>),
    Missing,
    Failed(Response),
}

async fn voicemail_audio(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let Some(id) = message_id(&id) else {
        return no_such_message();
    };
    let admin = admin.clone();
    let read = tokio::task::spawn_blocking(move || {
        let message = match admin.applier.store().voicemail(&tenant, id) {
            Ok(Some(m)) => m,
            Ok(None) => return Audio::Missing,
            Err(e) => return Audio::Failed(voicemail_store_error(&e)),
        };
        let path = match recording_path(&admin.data_dir, &message) {
            Ok(p) => p,
            Err(e) => {
                return Audio::Failed(error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "voicemail",
                    e.to_string(),
                ))
            }
        };
        match std::fs::read(&path) {
            Ok(bytes) => Audio::Found(id, bytes),
            // Deleted meanwhile (or lost): to the client, the message is not there.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!(
                    "pbx serve: voicemail {tenant}/{id} is indexed but {} is missing",
                    path.display()
                );
                Audio::Missing
            }
            Err(e) => Audio::Failed(error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "voicemail",
                format!("cannot read {}: {e}", path.display()),
            )),
        }
    })
    .await;
    match read {
        Ok(Audio::Found(id, bytes)) => (
            [
                (axum::http::header::CONTENT_TYPE, "audio/wav".to_string()),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"voicemail-{id}.wav\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Audio::Missing) => no_such_message(),
        Ok(Audio::Failed(response)) => response,
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

async fn delete_voicemail(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let Some(id) = message_id(&id) else {
        return no_such_message();
    };
    let admin = admin.clone();
    let deleted = tokio::task::spawn_blocking(move || {
        crate::serve::voicemail::delete(admin.applier.store(), &admin.data_dir, &tenant, id)
    })
    .await;
    match deleted {
        Ok(Ok(Some(_))) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(None)) => no_such_message(),
        Ok(Err(crate::serve::voicemail::VoicemailError::Store(e))) => voicemail_store_error(&e),
        Ok(Err(e)) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "voicemail",
            e.to_string(),
        ),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

async fn voicemail_heard(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path((tenant, id)): Path<(String, String)>,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let Some(id) = message_id(&id) else {
        return no_such_message();
    };
    let applier = admin.applier.clone();
    match tokio::task::spawn_blocking(move || applier.store().mark_heard(&tenant, id)).await {
        Ok(Ok(true)) => StatusCode::NO_CONTENT.into_response(),
        Ok(Ok(false)) => no_such_message(),
        Ok(Err(e)) => voicemail_store_error(&e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
    }
}

/// A ban as the API shows it.
#[derive(Debug, Serialize)]
struct BanView {
    source: String,
    /// When it ends, RFC 3339 UTC.
    until: String,
    until_ms: u64,
    failures: u32,
    /// The account of the last failed response: `user@domain`.
    last_user: String,
}

impl From<Ban> for BanView {
    fn from(b: Ban) -> Self {
        BanView {
            source: b.source.to_string(),
            until: jiff::Timestamp::from_millisecond(b.until_ms as i64)
                .map_or_else(|_| String::new(), |t| t.to_string()),
            until_ms: b.until_ms,
            failures: b.failures,
            last_user: format!("{}@{}", b.user, b.domain),
        }
    }
}

fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

async fn bans(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let bans: Vec<BanView> = admin
        .guard
        .bans(wall_ms())
        .into_iter()
        .map(BanView::from)
        .collect();
    Json(bans).into_response()
}

async fn lift_ban(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(ip): Path<String>,
) -> Response {
    if !authorized(&admin, &headers) {
        return unauthorized();
    }
    let Ok(source) = ip.parse::<std::net::IpAddr>() else {
        return error(
            StatusCode::BAD_REQUEST,
            "address",
            format!("`{ip}` is not an IP address"),
        );
    };
    match admin.guard.lift(source) {
        Some(b) if b.until_ms > wall_ms() => {
            eprintln!(
                "pbx serve: {} (lifted through the admin API)",
                Event::Unbanned { source: b.source }
            );
            StatusCode::NO_CONTENT.into_response()
        }
        // Expired but not yet swept: it was no longer in force.
        _ => error(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{source} is not banned"),
        ),
    }
}
