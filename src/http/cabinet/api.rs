//! The cabinet's JSON API: the data of every page under the same rights, for scripts and
//! tests. The session cookie authenticates (sign in through `POST /api/signin`); requests that
//! change something also carry the session's CSRF token in `X-CSRF-Token` (it is in the
//! sign-in answer and in `GET /api/{tenant}/me`).
//!
//! [`operations`] is the one table of the routes: each handler with its description (who may
//! call it, query, body, answer types, refusals), from which the router is built and the
//! OpenAPI document made (`openapi.rs`; committed as `docs/cabinet-openapi.json`).
//! No session: 401; another tenant's route: 404; not the role's: 403; a bad filter: 400.

use super::openapi::{self, Content, Operation, SchemaFn};
use super::rights::{Area, Denied, Viewer};
use super::session;
use super::{admin, history, profile, stats, voicemail, Cabinet, Problem, Refused};
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put, MethodRouter};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;

/// One route: its description and its handler.
type Route = (Operation, MethodRouter<Arc<Cabinet>>);

fn op(method: &'static str, path: &'static str, summary: &'static str) -> Operation {
    Operation {
        method,
        path,
        summary,
        rights: "everyone signed in to the tenant",
        session: true,
        changes: method != "get",
        query: None,
        body: Content::None,
        answer: (204, Content::None),
        refusals: &[],
    }
}

fn schema<T: schemars::JsonSchema>(g: &mut schemars::SchemaGenerator) -> schemars::Schema {
    g.subschema_for::<T>()
}

/// Every JSON route, described (the OpenAPI document is made from this table).
pub fn operations() -> Vec<Route> {
    const ADMINS: &str = "administrators of the tenant";
    const BAD: &[(u16, &str)] = &[(400, "bad-request: a parameter or body that cannot be read")];
    let json = |f: SchemaFn| Content::Json(f);
    vec![
        (
            Operation {
                session: false,
                rights: "anyone; every failure gets the same answer, no sooner than 250 ms",
                body: json(schema::<SignIn>),
                answer: (200, json(schema::<SignedIn>)),
                refusals: &[
                    (400, "bad-request"),
                    (401, "sign-in-failed: the login, domain or password is not right"),
                    (429, "throttled: too many failures for the account or from the address"),
                    (503, "unavailable: no config runs, or too many sessions"),
                ],
                ..op("post", "/api/signin", "Sign in; the answer sets the session cookie")
            },
            post(signin),
        ),
        (op("post", "/api/signout", "End the session"), post(signout)),
        (
            Operation {
                answer: (200, json(schema::<Me>)),
                ..op("get", "/api/{tenant}/me", "Who is signed in, and the session's CSRF token")
            },
            get(me),
        ),
        (
            Operation {
                rights: "everyone: the company's calls; restricted users: calls they made, were offered or answered",
                query: Some(schema::<history::Params>),
                answer: (200, json(schema::<HistoryPage>)),
                refusals: BAD,
                ..op("get", "/api/{tenant}/history", "Call history, newest first, filtered, a page at a time")
            },
            get(history_json),
        ),
        (
            Operation {
                rights: "everyone: the company's; restricted users: their own row",
                query: Some(schema::<stats::Params>),
                answer: (200, json(schema::<stats::Report>)),
                refusals: BAD,
                ..op("get", "/api/{tenant}/stats", "Statistics of a day, week or month")
            },
            get(stats_json),
        ),
        (
            Operation {
                rights: "the boxes the viewer may open: their own, their departments', an administrator's every one",
                answer: (200, json(schema::<Messages>)),
                ..op("get", "/api/{tenant}/voicemail", "Voicemail messages, newest first")
            },
            get(voicemail_json),
        ),
        (
            Operation {
                rights: "as the list",
                answer: (200, Content::Wav),
                ..op("get", "/api/{tenant}/voicemail/{id}/audio", "A message's recording")
            },
            get(super::pages::voicemail_audio),
        ),
        (
            Operation {
                rights: "as the list",
                ..op("post", "/api/{tenant}/voicemail/{id}/heard", "Mark a message heard")
            },
            post(voicemail_heard),
        ),
        (
            Operation {
                rights: "as the list",
                ..op("delete", "/api/{tenant}/voicemail/{id}", "Delete a message and its recording")
            },
            delete(voicemail_delete),
        ),
        (
            Operation {
                answer: (200, json(schema::<profile::Profile>)),
                ..op("get", "/api/{tenant}/profile", "The viewer's profile (forwarding as calls run it)")
            },
            get(profile_json),
        ),
        (
            Operation {
                body: json(schema::<PasswordChange>),
                refusals: &[
                    (400, "password_wrong, password_weak, bad-request"),
                    (403, "self_service_off"),
                    (409, "password_configured: the config sets it"),
                    (429, "throttled"),
                ],
                ..op("post", "/api/{tenant}/profile/password", "Change one's password (phones need the new one)")
            },
            post(change_password),
        ),
        (
            Operation {
                body: json(schema::<ForwardingChange>),
                refusals: &[(400, "no_mobile, delay_range, bad-request"), (403, "self_service_off")],
                ..op("post", "/api/{tenant}/profile/forwarding", "Set one's forwarding to the mobile; new calls follow it")
            },
            post(set_forwarding),
        ),
        (
            Operation {
                answer: (200, Content::Wav),
                ..op("get", "/api/{tenant}/profile/greeting", "The voicemail greeting one uploaded (8 kHz mono)")
            },
            get(super::pages::greeting_audio),
        ),
        (
            Operation {
                body: Content::Wav,
                refusals: &[
                    (400, "greeting_not_wav, greeting_unsupported, greeting_empty, greeting_too_long, greeting_truncated"),
                    (403, "self_service_off"),
                    (408, "upload_too_slow: not all there within 2 minutes"),
                    (413, "greeting_too_large: over 40 MiB"),
                ],
                ..op("put", "/api/{tenant}/profile/greeting", "Upload one's voicemail greeting: any common WAV, at most 2 minutes, converted")
            },
            put(upload_greeting),
        ),
        (
            Operation {
                refusals: &[(403, "self_service_off")],
                ..op("delete", "/api/{tenant}/profile/greeting", "Back to the company's greeting")
            },
            delete(remove_greeting),
        ),
        (
            Operation {
                rights: ADMINS,
                answer: (200, json(schema::<admin::Overview>)),
                ..op("get", "/api/{tenant}/admin", "The applied revision, staff, departments, numbers, callbacks waiting, apply history")
            },
            get(admin_json),
        ),
        (
            Operation {
                rights: ADMINS,
                body: json(schema::<ForwardingChange>),
                refusals: &[(400, "no_mobile, delay_range, bad-request"), (403, "self_service_off")],
                ..op("post", "/api/{tenant}/admin/staff/{login}/forwarding", "Set anyone's forwarding to the mobile")
            },
            post(set_forwarding_of),
        ),
        (
            Operation {
                rights: ADMINS,
                answer: (200, json(schema::<NewPassword>)),
                refusals: &[(409, "the config sets this password")],
                ..op("post", "/api/{tenant}/admin/staff/{login}/password", "Reset anyone's password: a new one, shown once")
            },
            post(reset_password),
        ),
        (
            Operation {
                session: false,
                rights: "anyone",
                answer: (200, json(|_| schemars::json_schema!({ "type": "object" }))),
                ..op("get", "/api/openapi.json", "This document")
            },
            get(openapi_json),
        ),
    ]
}

/// The JSON routes.
pub fn routes() -> Router<Arc<Cabinet>> {
    operations()
        .into_iter()
        .fold(Router::new(), |r, (o, handler)| r.route(o.path, handler))
}

/// The OpenAPI document of the JSON API.
pub fn openapi() -> serde_json::Value {
    let ops: Vec<Operation> = operations().into_iter().map(|(o, _)| o).collect();
    openapi::document(&ops, schema::<ApiError>)
}

async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

/// The body of every refusal.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ApiError {
    /// What went wrong, as a word (`bad-request`, `csrf`, `throttled`, a strings key, ...).
    pub error: String,
    /// The same for people.
    pub message: String,
}

/// The answer to a sign-in.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SignedIn {
    pub tenant: String,
    pub login: String,
    /// `admin`, `user` or `restricted`.
    pub role: String,
    /// The token requests that change something carry in `X-CSRF-Token`.
    pub csrf: String,
}

/// Who is signed in.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Me {
    pub tenant: String,
    pub login: String,
    pub name: String,
    pub role: String,
    /// `en` or `ru`: the tenant's.
    pub language: String,
    pub csrf: String,
}

/// A page of call history.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct HistoryPage {
    pub calls: Vec<history::Call>,
    /// For the next (older) page: its `before`; none on the last page.
    pub next: Option<String>,
}

/// Voicemail messages.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Messages {
    pub messages: Vec<voicemail::Message>,
}

/// A reset password, shown once.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct NewPassword {
    pub login: String,
    pub password: String,
}

fn error(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = ApiError {
        error: kind.to_owned(),
        message: message.into(),
    };
    (status, Json(body)).into_response()
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
            let mut r = Json(SignedIn {
                tenant: account.tenant,
                login: account.login,
                role: role.to_owned(),
                csrf: s.csrf,
            })
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
            Json(Me {
                tenant: v.tenant().id.clone(),
                name: v.name().to_owned(),
                role: v.role.word().to_owned(),
                language: v.language().word().to_owned(),
                login: v.login,
                csrf: v.csrf,
            })
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
        Ok((calls, next)) => no_store(Json(HistoryPage { calls, next }).into_response()),
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
            no_store(Json(NewPassword { login, password }).into_response())
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
        Ok(messages) => no_store(Json(Messages { messages }).into_response()),
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
    let result = profile::change_password(
        &cab,
        &v,
        &id,
        peer.ip(),
        &body.current,
        &body.new,
        &body.new,
    )
    .await;
    changed(&cab, &v, result)
}

/// The answer to a profile change: 204, or the refusal — the strings table's key and its
/// words — or the problem.
fn changed(cab: &Cabinet, v: &Viewer, result: Result<(), profile::Refusal>) -> Response {
    let r = match result {
        Ok(()) => return StatusCode::NO_CONTENT.into_response(),
        Err(profile::Refusal::Failed(p)) => return problem(p),
        Err(r) => r,
    };
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
#[derive(Debug, Deserialize, schemars::JsonSchema)]
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
    changed(&cab, &v, set)
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
    changed(&cab, &v, set)
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
    // Read only for a signed-in viewer.
    let (wav, _turn) = match super::pages::read_upload(&cab, body).await {
        Ok(read) => read,
        Err((status, key)) => {
            let words = cab.views().strings(v.language()).get(key).cloned();
            return error(status, key, words.unwrap_or_default());
        }
    };
    changed(
        &cab,
        &v,
        profile::set_greeting(&v, None, Some(wav.to_vec())).await,
    )
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
    changed(&cab, &v, profile::set_greeting(&v, None, None).await)
}
