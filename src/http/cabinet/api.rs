//! The cabinet's JSON API: the data of every page under the same rights, for scripts and
//! tests. The session cookie authenticates (sign in through `POST /api/signin`); requests that
//! change something also carry the session's CSRF token in `X-CSRF-Token` (it is in the
//! sign-in answer and in `GET /api/{tenant}/me`).
//!
//! | route | answer |
//! |---|---|
//! | `POST /api/signin` | `{domain, login, password}` -> `{tenant, login, role, csrf}` and the session cookie; 401 (one answer for every failure), 429 throttled |
//! | `POST /api/signout` | 204 |
//! | `GET /api/{tenant}/me` | `{tenant, login, name, role, language, csrf}` |
//! | `GET /api/{tenant}/history` | `{calls, next}`, the history page's filters as query parameters |
//! | `GET /api/{tenant}/stats` | `{period, first, since_ms, until_ms, tenant, departments, people}` (`period`, `at`) |
//! | `GET /api/{tenant}/voicemail` | `{messages}`: of the boxes the viewer may open, newest first |
//! | `GET /api/{tenant}/voicemail/{id}/audio` | the recording, `audio/wav` (the page's route) |
//! | `POST /api/{tenant}/voicemail/{id}/heard` | 204 |
//! | `DELETE /api/{tenant}/voicemail/{id}` | 204: the message and its recording are gone |
//! | `GET /api/{tenant}/profile` | `{name, login, extension, position, email, mobile, forwarding, delay_s, may_forward, role, password_configured, may_change_password}` |
//! | `POST /api/{tenant}/profile/forwarding` | `{forwarding, delay_s?}` -> 204: new calls follow it; 400 `no_mobile`, `delay_range`; 403 `self_service_off` |
//! | `POST /api/{tenant}/profile/password` | `{current, new}` -> 204: the viewer's new password; 400 `{error: password_wrong, password_weak}`, 409 `password_configured`, 429 `throttled` |
//! | `PUT /api/{tenant}/profile/greeting` | the body a WAV file (any common rate and channels, at most 2 minutes and 40 MiB; converted) -> 204: callers reaching the viewer's voicemail hear it; 400 `greeting_not_wav`, `greeting_unsupported`, `greeting_empty`, `greeting_too_long`, `greeting_truncated`; 403 `self_service_off`; 413 larger than 40 MiB |
//! | `GET /api/{tenant}/profile/greeting` | the uploaded greeting, `audio/wav`; 404 without one |
//! | `DELETE /api/{tenant}/profile/greeting` | 204: back to the config's greeting |
//! | `GET /api/{tenant}/admin` | administrators: `{revision, applied, staff, departments, numbers, history}` |
//! | `POST /api/{tenant}/admin/staff/{login}/forwarding` | administrators: `{forwarding, delay_s?}` for anyone of the tenant -> 204 |
//! | `POST /api/{tenant}/admin/staff/{login}/password` | administrators: `{login, password}`, shown once |
//!
//! No session: 401; another tenant's route: 404; not the role's: 403; a bad filter: 400.

use super::rights::{Area, Denied, Viewer};
use super::session;
use super::{admin, history, profile, stats, voicemail, Cabinet, Problem, Refused};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// The JSON routes.
pub fn routes() -> Router<Arc<Cabinet>> {
    Router::new()
        .route("/api/signin", post(signin))
        .route("/api/signout", post(signout))
        .route("/api/{tenant}/me", get(me))
        .route("/api/{tenant}/history", get(history_json))
        .route("/api/{tenant}/stats", get(stats_json))
        .route("/api/{tenant}/voicemail", get(voicemail_json))
        .route(
            "/api/{tenant}/voicemail/{id}/audio",
            get(super::pages::voicemail_audio),
        )
        .route("/api/{tenant}/voicemail/{id}/heard", post(voicemail_heard))
        .route("/api/{tenant}/voicemail/{id}", delete(voicemail_delete))
        .route("/api/{tenant}/profile", get(profile_json))
        .route("/api/{tenant}/profile/password", post(change_password))
        .route("/api/{tenant}/profile/forwarding", post(set_forwarding))
        .route(
            "/api/{tenant}/profile/greeting",
            get(super::pages::greeting_audio)
                .put(upload_greeting)
                .delete(remove_greeting),
        )
        .route("/api/{tenant}/admin", get(admin_json))
        .route(
            "/api/{tenant}/admin/staff/{login}/forwarding",
            post(set_forwarding_of),
        )
        .route(
            "/api/{tenant}/admin/staff/{login}/password",
            post(reset_password),
        )
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(json!({ "error": kind, "message": message.into() })),
    )
        .into_response()
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn denied(d: Denied) -> Response {
    match d {
        Denied::SignIn => error(StatusCode::UNAUTHORIZED, "unauthorized", "sign in first"),
        Denied::NotFound => error(StatusCode::NOT_FOUND, "not-found", "no such tenant"),
        Denied::Forbidden => error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "your role does not give access to this",
        ),
    }
}

fn problem(p: Problem) -> Response {
    match p {
        Problem::BadRequest(m) => error(StatusCode::BAD_REQUEST, "bad-request", m),
        Problem::NotFound => error(StatusCode::NOT_FOUND, "not-found", "no such staff member"),
        Problem::Conflict(m) => error(StatusCode::CONFLICT, "conflict", m),
        Problem::Internal(m) => {
            eprintln!("pbx serve: cabinet: {m}");
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed",
            )
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Problem::Internal(e.to_string())))
}

/// Whether the request carries the session's CSRF token.
/// The viewer of a change to `tenant`'s `area`, with the session's token in `X-CSRF-Token`;
/// otherwise the answer (401, 404, 403).
fn changing(
    cab: &Cabinet,
    headers: &HeaderMap,
    tenant: &str,
    area: Area,
) -> Result<Viewer, Box<Response>> {
    let v = cab
        .viewer(headers, tenant, area)
        .map_err(|d| Box::new(denied(d)))?;
    let given = headers
        .get("x-csrf-token")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !session::same_token(&v.csrf, given) {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "csrf",
            "X-CSRF-Token is missing or wrong",
        )));
    }
    Ok(v)
}

/// The body of `POST /api/signin`.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    pub domain: String,
    pub login: String,
    pub password: String,
}

async fn signin(
    State(cab): State<Arc<Cabinet>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<SignIn>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad-request", e.body_text()),
    };
    match cab
        .sign_in(peer.ip(), &body.domain, &body.login, &body.password)
        .await
    {
        Ok((id, account)) => {
            let idle = cab.settings().session_idle;
            let Some(s) = cab.sessions.touch(&id, std::time::Instant::now(), idle) else {
                return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "try again");
            };
            let role = cab
                .applier
                .running()
                .and_then(|r| {
                    let t = r
                        .config
                        .tenants
                        .iter()
                        .position(|t| t.id == account.tenant)?;
                    let i = r.resolution.staff[t]
                        .iter()
                        .position(|e| e.login == account.login)?;
                    Some(r.config.tenants[t].staff[i].role.word())
                })
                .unwrap_or("restricted");
            let mut r = Json(json!({
                "tenant": account.tenant, "login": account.login, "role": role, "csrf": s.csrf,
            }))
            .into_response();
            let cookie = session::set_cookie(session::COOKIE, &id, cab.secure(&headers));
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().append(SET_COOKIE, v);
            }
            no_store(r)
        }
        Err(Refused::Failed) => error(
            StatusCode::UNAUTHORIZED,
            "sign-in-failed",
            "the login, domain or password is not right",
        ),
        Err(Refused::Throttled) => error(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            "too many attempts; try again in a few minutes",
        ),
        Err(Refused::Unavailable) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the cabinet cannot sign anyone in now",
        ),
    }
}

async fn signout(
    State(cab): State<Arc<Cabinet>>,
    headers: HeaderMap,
    // Read (and dropped) before answering: a body left unread would end the connection.
    _body: axum::body::Bytes,
) -> Response {
    let Some((id, s)) = cab.session(&headers) else {
        return denied(Denied::SignIn);
    };
    let given = headers
        .get("x-csrf-token")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !session::same_token(&s.csrf, given) {
        return error(
            StatusCode::FORBIDDEN,
            "csrf",
            "X-CSRF-Token is missing or wrong",
        );
    }
    cab.sessions.close(&id);
    let mut r = StatusCode::NO_CONTENT.into_response();
    let cookie = session::clear_cookie(session::COOKIE, cab.secure(&headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

async fn me(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    match cab.viewer(&headers, &tenant, Area::History) {
        Ok(v) => no_store(
            Json(json!({
                "tenant": v.tenant().id, "login": v.login, "name": v.name(),
                "role": v.role.word(), "language": v.language().word(), "csrf": v.csrf,
            }))
            .into_response(),
        ),
        Err(d) => denied(d),
    }
}

async fn history_json(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    params: Result<Query<history::Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::History) {
        Ok(v) => v,
        Err(d) => return denied(d),
    };
    let Query(params) = match params {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad-request", e.body_text()),
    };
    match blocking(move || history::for_viewer(&v, &params)).await {
        Ok((calls, next)) => {
            no_store(Json(json!({ "calls": calls, "next": next })).into_response())
        }
        Err(p) => problem(p),
    }
}

async fn stats_json(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    params: Result<Query<stats::Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::Statistics) {
        Ok(v) => v,
        Err(d) => return denied(d),
    };
    let Query(params) = match params {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad-request", e.body_text()),
    };
    match blocking(move || stats::for_viewer(&v, &params)).await {
        Ok(report) => no_store(Json(report).into_response()),
        Err(p) => problem(p),
    }
}

async fn admin_json(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::Admin) {
        Ok(v) => v,
        Err(d) => return denied(d),
    };
    match blocking(move || admin::overview(&v)).await {
        Ok(o) => no_store(Json(o).into_response()),
        Err(p) => problem(p),
    }
}

async fn reset_password(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, login)): Path<(String, String)>,
    headers: HeaderMap,
    // Read (and dropped) before answering: a body left unread would end the connection.
    _body: axum::body::Bytes,
) -> Response {
    let v = match changing(&cab, &headers, &tenant, Area::Admin) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let (who, by, tenant_id) = (login.clone(), v.login.clone(), v.tenant().id.clone());
    match blocking(move || admin::reset(&v, &who)).await {
        Ok((_, password)) => {
            eprintln!(
                "pbx serve: cabinet: {by} of tenant {tenant_id} reset the password of {login}"
            );
            no_store(Json(json!({ "login": login, "password": password })).into_response())
        }
        Err(p) => problem(p),
    }
}

async fn voicemail_json(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::Voicemail) {
        Ok(v) => v,
        Err(d) => return denied(d),
    };
    match blocking(move || voicemail::list(&v)).await {
        Ok(messages) => no_store(Json(json!({ "messages": messages })).into_response()),
        Err(p) => problem(p),
    }
}

/// A change to one message: the viewer, the CSRF header, then `change` off the runtime.
async fn voicemail_change(
    cab: Arc<Cabinet>,
    headers: HeaderMap,
    tenant: String,
    id: String,
    change: fn(&Viewer, &str) -> Result<(), Problem>,
) -> Response {
    let v = match changing(&cab, &headers, &tenant, Area::Voicemail) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match blocking(move || change(&v, &id)).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(p) => problem(p),
    }
}

async fn voicemail_heard(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    _body: axum::body::Bytes,
) -> Response {
    voicemail_change(cab, headers, tenant, id, voicemail::mark_heard).await
}

async fn voicemail_delete(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    _body: axum::body::Bytes,
) -> Response {
    voicemail_change(cab, headers, tenant, id, voicemail::remove).await
}

async fn profile_json(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    match cab.viewer(&headers, &tenant, Area::Profile) {
        Ok(v) => no_store(Json(profile::of(&v)).into_response()),
        Err(d) => denied(d),
    }
}

/// The body of `POST /api/{tenant}/profile/password`.
#[derive(Debug, Deserialize)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

async fn change_password(
    State(cab): State<Arc<Cabinet>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Response {
    let v = match changing(&cab, &headers, &tenant, Area::Profile) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad-request", e.body_text()),
    };
    let id = session::cookie(&headers, session::COOKIE)
        .unwrap_or("")
        .to_owned();
    match profile::change_password(
        &cab,
        &v,
        &id,
        peer.ip(),
        &body.current,
        &body.new,
        &body.new,
    )
    .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(profile::Refusal::Failed(p)) => problem(p),
        Err(r) => refused(&cab, &v, r),
    }
}

/// The answer to a refused profile change: the strings table's key and its words.
fn refused(cab: &Cabinet, v: &Viewer, r: profile::Refusal) -> Response {
    let status = match r {
        profile::Refusal::Throttled => StatusCode::TOO_MANY_REQUESTS,
        profile::Refusal::Configured => StatusCode::CONFLICT,
        profile::Refusal::NotAllowed => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let views = cab.views();
    let strings = views.strings(v.language());
    let message = strings.get(r.key()).cloned().unwrap_or_default();
    error(status, r.key(), message)
}

/// The body of `POST /api/{tenant}/profile/forwarding`.
#[derive(Debug, Deserialize)]
pub struct ForwardingChange {
    pub forwarding: String,
    pub delay_s: Option<u64>,
}

async fn set_forwarding(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ForwardingChange>, JsonRejection>,
) -> Response {
    let v = match changing(&cab, &headers, &tenant, Area::Profile) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad-request", e.body_text()),
    };
    let viewer = v.clone();
    let set = tokio::task::spawn_blocking(move || {
        profile::set_forwarding(&viewer, &body.forwarding, body.delay_s)
    })
    .await
    .unwrap_or_else(|e| Err(profile::Refusal::Failed(Problem::Internal(e.to_string()))));
    match set {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(profile::Refusal::Failed(p)) => problem(p),
        Err(r) => refused(&cab, &v, r),
    }
}

async fn set_forwarding_of(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, login)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<ForwardingChange>, JsonRejection>,
) -> Response {
    let v = match changing(&cab, &headers, &tenant, Area::Admin) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, "bad-request", e.body_text()),
    };
    let viewer = v.clone();
    let set = tokio::task::spawn_blocking(move || {
        profile::set_forwarding_of(&viewer, &login, &body.forwarding, body.delay_s)
    })
    .await
    .unwrap_or_else(|e| Err(profile::Refusal::Failed(Problem::Internal(e.to_string()))));
    match set {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(profile::Refusal::Failed(p)) => problem(p),
        Err(r) => refused(&cab, &v, r),
    }
}

async fn upload_greeting(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let v = match changing(&cab, &headers, &tenant, Area::Profile) {
        Ok(v) => v,
        Err(r) => {
            super::pages::drain(body).await;
            return *r;
        }
    };
    // Read only for a signed-in viewer, one body per core at a time.
    let Ok(_turn) = cab.hashing.acquire().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let Ok(wav) = axum::body::to_bytes(body, super::pages::MAX_UPLOAD).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "greeting_too_large",
            "the body is larger than 40 MiB",
        );
    };
    match profile::set_greeting(&v, None, Some(wav.to_vec())).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(profile::Refusal::Failed(p)) => problem(p),
        Err(r) => refused(&cab, &v, r),
    }
}

async fn remove_greeting(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v = match changing(&cab, &headers, &tenant, Area::Profile) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match profile::set_greeting(&v, None, None).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(profile::Refusal::Failed(p)) => problem(p),
        Err(r) => refused(&cab, &v, r),
    }
}
