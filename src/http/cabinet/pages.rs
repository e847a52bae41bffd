//! The cabinet's HTML pages: sign-in and sign-out, the call history, the statistics and the
//! admin page with its password reset. Plain forms (no script): every form carries a CSRF
//! token — the session's, or before sign-in a double-submit cookie.
//!
//! | route | page |
//! |---|---|
//! | `GET /` | to the viewer's history, or to sign-in |
//! | `GET /signin`, `POST /signin` | the sign-in form (`login`, `domain`, `password`) |
//! | `POST /signout` | ends the session |
//! | `GET /{tenant}/history` | calls, filtered (`from`, `to`, `number`, `department`, `person`, `outcome`), a page at a time (`before`) |
//! | `GET /{tenant}/stats` | statistics for a `period` (`day`, `week`, `month`) holding the day `at`, with a chart |
//! | `GET /{tenant}/voicemail` | the messages of the boxes the viewer may open, each playable |
//! | `GET /{tenant}/voicemail/{id}/audio` | the recording, `audio/wav` (`?download=1`: as an attachment) |
//! | `POST /{tenant}/voicemail/{id}/heard`, `.../delete` | marks it heard, deletes it; back to the list |
//! | `GET /{tenant}/profile` | the viewer's own profile, and the password change form |
//! | `POST /{tenant}/profile/password` | `current`, `new`, `repeat`: a new password they chose |
//! | `POST /{tenant}/profile/forwarding` | `forwarding` (`off`, `instant`, `delayed`), `delay` (seconds) |
//! | `POST /{tenant}/profile/greeting` | `multipart/form-data`: `csrf`, `greeting` (a WAV file, any common rate and channels, at most 2 minutes; converted) |
//! | `GET /{tenant}/profile/greeting` | the uploaded greeting, `audio/wav` |
//! | `POST /{tenant}/profile/greeting/delete` | back to the config's greeting |
//! | `GET /{tenant}/admin` | administrators: the applied revision, staff, departments, numbers, apply history |
//! | `POST /{tenant}/admin/staff/{login}/forwarding` | administrators: anyone's forwarding (`forwarding`, `delay`) |
//! | `POST /{tenant}/admin/staff/{login}/password` | administrators: a new password, shown once |
//! | `POST /{tenant}/admin/staff/{login}/greeting`, `.../greeting/delete` | administrators: anyone's greeting, as on the profile page |

use super::admin::path_segment;
use super::rights::{Area, Denied, Viewer};
use super::session::{self, SIGNIN_COOKIE};
use super::{admin, history, multipart, profile, stats, voicemail, Cabinet, Problem, Refused};
use crate::config::model::Language;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::{context, Value};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// The pages' routes.
pub fn routes() -> Router<Arc<Cabinet>> {
    Router::new()
        .route("/", get(home))
        .route("/signin", get(signin_form).post(signin))
        .route("/signout", post(signout))
        .route("/{tenant}/history", get(history_page))
        .route("/{tenant}/stats", get(stats_page))
        .route("/{tenant}/voicemail", get(voicemail_page))
        .route("/{tenant}/voicemail/{id}/audio", get(voicemail_audio))
        .route("/{tenant}/voicemail/{id}/heard", post(voicemail_heard))
        .route("/{tenant}/voicemail/{id}/delete", post(voicemail_delete))
        .route("/{tenant}/profile", get(profile_page))
        .route("/{tenant}/profile/password", post(change_password))
        .route("/{tenant}/profile/forwarding", post(set_forwarding))
        .route(
            "/{tenant}/profile/greeting",
            get(greeting_audio).post(upload_greeting),
        )
        .route("/{tenant}/profile/greeting/delete", post(remove_greeting))
        .route("/{tenant}/admin", get(admin_page))
        .route(
            "/{tenant}/admin/staff/{login}/password",
            post(reset_password),
        )
        .route(
            "/{tenant}/admin/staff/{login}/forwarding",
            post(set_forwarding_of),
        )
        .route(
            "/{tenant}/admin/staff/{login}/greeting",
            post(upload_greeting_of),
        )
        .route(
            "/{tenant}/admin/staff/{login}/greeting/delete",
            post(remove_greeting_of),
        )
}

/// A page, never cached (it may show a password or personal data).
fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert("x-frame-options", HeaderValue::from_static("DENY"));
    r.headers_mut().insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; media-src 'self'; form-action 'self'; frame-ancestors 'none'"),
    );
    r
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

/// Renders `name`; a template error is logged and answered 500.
fn render(
    cab: &Cabinet,
    status: StatusCode,
    name: &str,
    lang: Language,
    values: Value,
) -> Response {
    match cab.views().render(name, lang, values) {
        Ok(html) => page(status, html),
        Err(e) => {
            eprintln!("pbx serve: cabinet: page {name} cannot be rendered: {e:#}");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// What every page of a signed-in viewer shows around its content.
fn frame(v: &Viewer, page: &str) -> Value {
    context! {
        me => context! {
            name => v.name(), login => v.login, role => v.role.word(),
            admin => v.may(Area::Admin),
        },
        tenant_name => v.tenant().name,
        base => format!("/{}", path_segment(&v.tenant().id)),
        csrf => v.csrf,
        page => page,
    }
}

/// The answer to a denied page.
fn denied(cab: &Cabinet, headers: &HeaderMap, d: Denied) -> Response {
    let lang = cab.language(headers);
    let (status, message) = match d {
        Denied::SignIn => return redirect("/signin"),
        Denied::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        Denied::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
    };
    render(
        cab,
        status,
        "error.html",
        lang,
        context! { me => (), message => message, detail => (), base => () },
    )
}

/// The answer to a problem on a viewer's page.
fn problem(cab: &Cabinet, v: &Viewer, p: Problem) -> Response {
    let (status, message, detail) = match p {
        Problem::BadRequest(d) => (StatusCode::BAD_REQUEST, "bad_request", Some(d)),
        Problem::NotFound => (StatusCode::NOT_FOUND, "not_found", None),
        Problem::Conflict(d) => (StatusCode::CONFLICT, "error", Some(d)),
        Problem::Internal(d) => {
            eprintln!("pbx serve: cabinet: {d}");
            (StatusCode::INTERNAL_SERVER_ERROR, "error", None)
        }
    };
    render(
        cab,
        status,
        "error.html",
        v.language(),
        context! { message => message, detail => detail, ..frame(v, "") },
    )
}

/// Runs `f` off the async runtime (it reads the store or hashes).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Problem::Internal(e.to_string())))
}

async fn home(State(cab): State<Arc<Cabinet>>, headers: HeaderMap) -> Response {
    match cab.session(&headers) {
        Some((_, s)) => redirect(&format!("/{}/history", path_segment(&s.tenant))),
        None => redirect("/signin"),
    }
}

/// The sign-in form with a fresh double-submit token (cookie and field).
fn signin_page(
    cab: &Cabinet,
    headers: &HeaderMap,
    status: StatusCode,
    message: Option<&str>,
    login: &str,
    domain: &str,
) -> Response {
    let token = session::token();
    let lang = cab.language(headers);
    let mut r = render(
        cab,
        status,
        "signin.html",
        lang,
        context! { me => (), csrf => token, message => message, login => login, domain => domain },
    );
    let cookie = session::set_cookie(SIGNIN_COOKIE, &token, cab.secure(headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

async fn signin_form(State(cab): State<Arc<Cabinet>>, headers: HeaderMap) -> Response {
    if let Some((_, s)) = cab.session(&headers) {
        return redirect(&format!("/{}/history", path_segment(&s.tenant)));
    }
    signin_page(&cab, &headers, StatusCode::OK, None, "", "")
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub domain: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
}

async fn signin(
    State(cab): State<Arc<Cabinet>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let expected = session::cookie(&headers, SIGNIN_COOKIE).unwrap_or("");
    if !session::same_token(expected, &form.csrf) {
        return signin_page(
            &cab,
            &headers,
            StatusCode::FORBIDDEN,
            Some("form_expired"),
            &form.login,
            &form.domain,
        );
    }
    match cab
        .sign_in(peer.ip(), &form.domain, &form.login, &form.password)
        .await
    {
        Ok((id, account)) => {
            let secure = cab.secure(&headers);
            let mut r = redirect(&format!("/{}/history", path_segment(&account.tenant)));
            for cookie in [
                session::set_cookie(session::COOKIE, &id, secure),
                session::clear_cookie(SIGNIN_COOKIE, secure),
            ] {
                if let Ok(v) = HeaderValue::from_str(&cookie) {
                    r.headers_mut().append(SET_COOKIE, v);
                }
            }
            r
        }
        Err(refused) => {
            let (status, message) = match refused {
                Refused::Failed => (StatusCode::UNAUTHORIZED, "signin_failed"),
                Refused::Throttled => (StatusCode::TOO_MANY_REQUESTS, "throttled"),
                Refused::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "error"),
            };
            signin_page(
                &cab,
                &headers,
                status,
                Some(message),
                &form.login,
                &form.domain,
            )
        }
    }
}

/// A form that carries only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
}

async fn signout(
    State(cab): State<Arc<Cabinet>>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some((id, s)) = cab.session(&headers) {
        if !session::same_token(&s.csrf, &form.csrf) {
            return (StatusCode::FORBIDDEN, "the form has expired").into_response();
        }
        cab.sessions.close(&id);
    }
    let mut r = redirect("/signin");
    let cookie = session::clear_cookie(session::COOKIE, cab.secure(&headers));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(SET_COOKIE, v);
    }
    r
}

/// The URL of the page after this one: the same filters, `before` the last record read.
fn next_url(base: &str, params: &history::Params, next: &str) -> String {
    let mut query = String::new();
    for (k, v) in [
        ("from", params.from.as_str()),
        ("to", &params.to),
        ("number", &params.number),
        ("department", &params.department),
        ("person", &params.person),
        ("outcome", &params.outcome),
        ("before", next),
    ] {
        if !v.is_empty() {
            query.push_str(if query.is_empty() { "?" } else { "&" });
            query.push_str(k);
            query.push('=');
            query.push_str(&path_segment(v));
        }
    }
    format!("{base}/history{query}")
}

async fn history_page(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<history::Params>,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::History) {
        Ok(v) => v,
        Err(d) => return denied(&cab, &headers, d),
    };
    let (viewer, p) = (v.clone(), params.clone());
    let result = blocking(move || history::for_viewer(&viewer, &p)).await;
    let base = format!("/{}", path_segment(&v.tenant().id));
    let (records, next, problem) = match result {
        Ok((records, next)) => (records, next, None),
        Err(Problem::BadRequest(d)) => (Vec::new(), None, Some(d)),
        Err(p) => return problem(&cab, &v, p),
    };
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let own_only = matches!(v.scope(), super::rights::Scope::Own(_));
    let t = v.tenant();
    let effective = &v.running.resolution.staff[v.tenant_index];
    let people: Vec<Value> = t
        .staff
        .iter()
        .zip(effective.iter())
        .map(|(s, e)| context! { name => s.name, login => e.login })
        .collect();
    let departments: Vec<Value> = t
        .departments
        .iter()
        .map(|d| context! { id => d.id, name => d.name })
        .collect();
    render(
        &cab,
        status,
        "history.html",
        v.language(),
        context! {
            records => records,
            next_url => next.map(|n| next_url(&base, &params, &n)),
            params => params,
            problem => problem,
            own_only => own_only,
            people => if own_only { Vec::new() } else { people },
            departments => departments,
            outcomes => history::OUTCOMES,
            ..frame(&v, "history")
        },
    )
}

async fn stats_page(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Query(params): Query<stats::Params>,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::Statistics) {
        Ok(v) => v,
        Err(d) => return denied(&cab, &headers, d),
    };
    let (viewer, p) = (v.clone(), params.clone());
    let report = match blocking(move || stats::for_viewer(&viewer, &p)).await {
        Ok(r) => r,
        Err(p) => return problem(&cab, &v, p),
    };
    let views = cab.views();
    let strings = views.strings(v.language());
    let word = |k: &str| strings.get(k).cloned().unwrap_or_default();
    let chart = stats::chart(
        &report.stats.people,
        &word("chart_title"),
        &word("answered"),
        &word("missed"),
    );
    render(
        &cab,
        StatusCode::OK,
        "stats.html",
        v.language(),
        context! {
            period => report.period.word(),
            at => if params.at.trim().is_empty() { report.first.clone() } else { params.at.trim().to_owned() },
            first => report.first,
            company => report.stats.tenant,
            departments => report.stats.departments,
            people => report.stats.people,
            chart => chart,
            problem => (),
            ..frame(&v, "stats")
        },
    )
}

async fn admin_page(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::Admin) {
        Ok(v) => v,
        Err(d) => return denied(&cab, &headers, d),
    };
    let viewer = v.clone();
    match blocking(move || admin::overview(&viewer)).await {
        Ok(o) => render(
            &cab,
            StatusCode::OK,
            "admin.html",
            v.language(),
            context! {
                revision => o.revision,
                applied => o.applied,
                staff => o.staff,
                departments => o.departments,
                numbers => o.numbers,
                history => o.history,
                callbacks => o.callbacks,
                ..frame(&v, "admin")
            },
        ),
        Err(p) => problem(&cab, &v, p),
    }
}

async fn reset_password(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, login)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let v = match posting(&cab, &headers, &tenant, Area::Admin, &form.csrf, "admin") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let viewer = v.clone();
    let who = login.clone();
    match blocking(move || admin::reset(&viewer, &who)).await {
        Ok((name, password)) => {
            eprintln!(
                "pbx serve: cabinet: {} of tenant {} reset the password of {login}",
                v.login,
                v.tenant().id
            );
            render(
                &cab,
                StatusCode::OK,
                "password.html",
                v.language(),
                context! { name => name, login => login, password => password, ..frame(&v, "admin") },
            )
        }
        Err(p) => problem(&cab, &v, p),
    }
}

async fn voicemail_page(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::Voicemail) {
        Ok(v) => v,
        Err(d) => return denied(&cab, &headers, d),
    };
    let viewer = v.clone();
    match blocking(move || voicemail::list(&viewer)).await {
        Ok(messages) => render(
            &cab,
            StatusCode::OK,
            "voicemail.html",
            v.language(),
            context! { messages => messages, ..frame(&v, "voicemail") },
        ),
        Err(p) => problem(&cab, &v, p),
    }
}

/// `?download=1` asks for the recording as an attachment.
#[derive(Debug, Default, Deserialize)]
pub struct AudioQuery {
    #[serde(default)]
    pub download: Option<String>,
}

/// The recording of a message (pages and the JSON API alike).
pub async fn voicemail_audio(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(q): Query<AudioQuery>,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::Voicemail) {
        Ok(v) => v,
        Err(d) => return denied(&cab, &headers, d),
    };
    let viewer = v.clone();
    match blocking(move || voicemail::audio(&viewer, &id)).await {
        Ok((id, bytes)) => {
            let how = if q.download.is_some() {
                "attachment"
            } else {
                "inline"
            };
            let mut r = (
                [
                    (axum::http::header::CONTENT_TYPE, "audio/wav".to_owned()),
                    (
                        axum::http::header::CONTENT_DISPOSITION,
                        format!("{how}; filename=\"voicemail-{id}.wav\""),
                    ),
                ],
                bytes,
            )
                .into_response();
            r.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(p) => problem(&cab, &v, p),
    }
}

/// The answer to a form without the session's token.
/// The viewer of a form posted to `tenant`'s `area`, with the session's CSRF token in `csrf`;
/// otherwise the answer (sign-in, not found, forbidden, or the form expired, on `page`).
fn posting(
    cab: &Cabinet,
    headers: &HeaderMap,
    tenant: &str,
    area: Area,
    csrf: &str,
    page: &str,
) -> Result<Viewer, Box<Response>> {
    let v = cab
        .viewer(headers, tenant, area)
        .map_err(|d| Box::new(denied(cab, headers, d)))?;
    if !session::same_token(&v.csrf, csrf) {
        return Err(Box::new(form_expired(cab, &v, page)));
    }
    Ok(v)
}

fn form_expired(cab: &Cabinet, v: &Viewer, page: &str) -> Response {
    render(
        cab,
        StatusCode::FORBIDDEN,
        "error.html",
        v.language(),
        context! { message => "form_expired", detail => (), ..frame(v, page) },
    )
}

async fn voicemail_heard(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let v = match posting(
        &cab,
        &headers,
        &tenant,
        Area::Voicemail,
        &form.csrf,
        "voicemail",
    ) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let viewer = v.clone();
    match blocking(move || voicemail::mark_heard(&viewer, &id)).await {
        Ok(()) => redirect(&format!("/{}/voicemail", path_segment(&v.tenant().id))),
        Err(p) => problem(&cab, &v, p),
    }
}

async fn voicemail_delete(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, id)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let v = match posting(
        &cab,
        &headers,
        &tenant,
        Area::Voicemail,
        &form.csrf,
        "voicemail",
    ) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let viewer = v.clone();
    match blocking(move || voicemail::remove(&viewer, &id)).await {
        Ok(()) => redirect(&format!("/{}/voicemail", path_segment(&v.tenant().id))),
        Err(p) => problem(&cab, &v, p),
    }
}

fn profile_view(
    cab: &Cabinet,
    v: &Viewer,
    status: StatusCode,
    done: Option<&str>,
    message: Option<&str>,
) -> Response {
    render(
        cab,
        status,
        "profile.html",
        v.language(),
        context! {
            profile => profile::of(v), done => done, message => message,
            ..frame(v, "profile")
        },
    )
}

async fn profile_page(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    match cab.viewer(&headers, &tenant, Area::Profile) {
        Ok(v) => profile_view(&cab, &v, StatusCode::OK, None, None),
        Err(d) => denied(&cab, &headers, d),
    }
}

/// The password change form's fields.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current: String,
    #[serde(default)]
    pub new: String,
    #[serde(default)]
    pub repeat: String,
    #[serde(default)]
    pub csrf: String,
}

async fn change_password(
    State(cab): State<Arc<Cabinet>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let v = match posting(
        &cab,
        &headers,
        &tenant,
        Area::Profile,
        &form.csrf,
        "profile",
    ) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let id = session::cookie(&headers, session::COOKIE)
        .unwrap_or("")
        .to_owned();
    let changed = profile::change_password(
        &cab,
        &v,
        &id,
        peer.ip(),
        &form.current,
        &form.new,
        &form.repeat,
    )
    .await;
    match changed {
        Ok(()) => profile_view(&cab, &v, StatusCode::OK, Some("password_changed"), None),
        Err(profile::Refusal::Failed(p)) => problem(&cab, &v, p),
        Err(r) => {
            let status = match r {
                profile::Refusal::Throttled => StatusCode::TOO_MANY_REQUESTS,
                profile::Refusal::Configured => StatusCode::CONFLICT,
                profile::Refusal::NotAllowed => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            profile_view(&cab, &v, status, None, Some(r.key()))
        }
    }
}

/// The forwarding form's fields.
#[derive(Debug, Deserialize)]
pub struct ForwardingForm {
    #[serde(default)]
    pub forwarding: String,
    #[serde(default)]
    pub delay: String,
    #[serde(default)]
    pub csrf: String,
}

async fn set_forwarding(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<ForwardingForm>,
) -> Response {
    let v = match posting(
        &cab,
        &headers,
        &tenant,
        Area::Profile,
        &form.csrf,
        "profile",
    ) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let delay = match form.delay.trim() {
        "" => None,
        d => match d.parse::<u64>() {
            Ok(d) => Some(d),
            Err(_) => {
                return profile_view(&cab, &v, StatusCode::BAD_REQUEST, None, Some("delay_range"))
            }
        },
    };
    let viewer = v.clone();
    let mode = form.forwarding.clone();
    let set = tokio::task::spawn_blocking(move || profile::set_forwarding(&viewer, &mode, delay))
        .await
        .unwrap_or_else(|e| Err(profile::Refusal::Failed(Problem::Internal(e.to_string()))));
    match set {
        Ok(()) => {
            // The page shows the directory the change made.
            let v = match cab.viewer(&headers, &tenant, Area::Profile) {
                Ok(v) => v,
                Err(d) => return denied(&cab, &headers, d),
            };
            profile_view(&cab, &v, StatusCode::OK, Some("forwarding_saved"), None)
        }
        Err(profile::Refusal::Failed(p)) => problem(&cab, &v, p),
        Err(r) => {
            let status = match r {
                profile::Refusal::NotAllowed => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            profile_view(&cab, &v, status, None, Some(r.key()))
        }
    }
}

async fn set_forwarding_of(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, login)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<ForwardingForm>,
) -> Response {
    let v = match posting(&cab, &headers, &tenant, Area::Admin, &form.csrf, "admin") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let delay = match form.delay.trim() {
        "" => None,
        d => d.parse::<u64>().ok().or(Some(0)),
    };
    let viewer = v.clone();
    let set = tokio::task::spawn_blocking(move || {
        profile::set_forwarding_of(&viewer, &login, &form.forwarding, delay)
    })
    .await
    .unwrap_or_else(|e| Err(profile::Refusal::Failed(Problem::Internal(e.to_string()))));
    match set {
        Ok(()) => redirect(&format!("/{}/admin", path_segment(&v.tenant().id))),
        Err(profile::Refusal::Failed(p)) => problem(&cab, &v, p),
        Err(r) => render(
            &cab,
            StatusCode::BAD_REQUEST,
            "error.html",
            v.language(),
            context! { message => r.key(), detail => (), ..frame(&v, "admin") },
        ),
    }
}

/// The largest greeting upload read: two minutes of 48 kHz stereo 24-bit audio fit.
pub const MAX_UPLOAD: usize = 40 * 1024 * 1024;

/// Reads and drops what is left of a refused upload's body — at most [`MAX_UPLOAD`] bytes, for
/// at most 10 s — so the client, still sending, gets the answer rather than a broken
/// connection. Nothing is kept.
pub async fn drain(mut body: axum::body::Body) {
    use axum::body::HttpBody;
    let read = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
        {
            seen += frame.data_ref().map_or(0, |d| d.len());
            if seen > MAX_UPLOAD {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), read).await;
}

/// The body of an upload by a signed-in viewer: read whole, at most [`MAX_UPLOAD`] bytes
/// within [`UPLOAD_TIME`], two uploads at a time (`Cabinet::uploads`; the permit is held until
/// the caller is done with it, conversion included); or the status and strings key of why not.
pub async fn read_upload(
    cab: &Cabinet,
    body: axum::body::Body,
) -> Result<(axum::body::Bytes, tokio::sync::SemaphorePermit<'_>), (StatusCode, &'static str)> {
    let turn = cab
        .uploads
        .acquire()
        .await
        .map_err(|_| (StatusCode::SERVICE_UNAVAILABLE, "error"))?;
    match tokio::time::timeout(UPLOAD_TIME, axum::body::to_bytes(body, MAX_UPLOAD)).await {
        Ok(Ok(bytes)) => Ok((bytes, turn)),
        Ok(Err(_)) => Err((StatusCode::PAYLOAD_TOO_LARGE, "greeting_too_large")),
        Err(_) => Err((StatusCode::REQUEST_TIMEOUT, "upload_too_slow")),
    }
}

/// How long an upload may take to arrive.
pub const UPLOAD_TIME: std::time::Duration = std::time::Duration::from_secs(120);

/// The file of an upload form (`greeting`) posted to `tenant`'s `area` by a signed-in viewer
/// with the session's token in its `csrf` field. The session is checked before the body is
/// read ([`read_upload`]), so an upload costs memory only for a signed-in person.
async fn uploaded<'c>(
    cab: &'c Arc<Cabinet>,
    headers: &HeaderMap,
    tenant: &str,
    area: Area,
    page: &str,
    body: axum::body::Body,
) -> Result<(Viewer, Option<Vec<u8>>, tokio::sync::SemaphorePermit<'c>), Box<Response>> {
    let v = match cab.viewer(headers, tenant, area) {
        Ok(v) => v,
        Err(d) => {
            drain(body).await;
            return Err(Box::new(denied(cab, headers, d)));
        }
    };
    let (bytes, turn) = match read_upload(cab, body).await {
        Ok(read) => read,
        Err((status, key)) => {
            return Err(Box::new(render(
                cab,
                status,
                "error.html",
                v.language(),
                context! { message => key, detail => (), ..frame(&v, page) },
            )));
        }
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let parts = multipart::parse(content_type, &bytes)
        .map_err(|e| Box::new(problem(cab, &v, Problem::BadRequest(e.to_string()))))?;
    let csrf = parts
        .iter()
        .find(|p| p.name == "csrf")
        .map_or(&[][..], |p| p.data);
    if !session::same_token(&v.csrf, &String::from_utf8_lossy(csrf)) {
        return Err(Box::new(form_expired(cab, &v, page)));
    }
    let file = parts
        .iter()
        .find(|p| p.name == "greeting" && !p.data.is_empty())
        .map(|p| p.data.to_vec());
    Ok((v, file, turn))
}

/// The profile page after a greeting change (or its refusal).
async fn after_greeting(
    cab: &Arc<Cabinet>,
    headers: &HeaderMap,
    tenant: &str,
    v: &Viewer,
    changed: Result<(), profile::Refusal>,
    done: &str,
) -> Response {
    match changed {
        Ok(()) => match cab.viewer(headers, tenant, Area::Profile) {
            Ok(v) => profile_view(cab, &v, StatusCode::OK, Some(done), None),
            Err(d) => denied(cab, headers, d),
        },
        Err(profile::Refusal::Failed(p)) => problem(cab, v, p),
        Err(r) => {
            let status = match r {
                profile::Refusal::NotAllowed => StatusCode::FORBIDDEN,
                _ => StatusCode::BAD_REQUEST,
            };
            profile_view(cab, v, status, None, Some(r.key()))
        }
    }
}

async fn upload_greeting(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let (v, file, _turn) =
        match uploaded(&cab, &headers, &tenant, Area::Profile, "profile", body).await {
            Ok(u) => u,
            Err(r) => return *r,
        };
    let changed = match file {
        Some(wav) => profile::set_greeting(&v, None, Some(wav)).await,
        None => Err(profile::Refusal::NoFile),
    };
    after_greeting(&cab, &headers, &tenant, &v, changed, "greeting_saved").await
}

async fn remove_greeting(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let v = match posting(
        &cab,
        &headers,
        &tenant,
        Area::Profile,
        &form.csrf,
        "profile",
    ) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let changed = profile::set_greeting(&v, None, None).await;
    after_greeting(&cab, &headers, &tenant, &v, changed, "greeting_removed").await
}

/// The viewer's uploaded greeting, to listen to on the profile page (also the JSON API's).
pub async fn greeting_audio(
    State(cab): State<Arc<Cabinet>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let v = match cab.viewer(&headers, &tenant, Area::Profile) {
        Ok(v) => v,
        Err(d) => return denied(&cab, &headers, d),
    };
    let (applier, tenant_id, login) = (v.applier.clone(), v.tenant().id.clone(), v.login.clone());
    let wav = blocking(move || {
        applier
            .greeting(&tenant_id, &login)
            .map_err(|e| Problem::Internal(e.to_string()))?
            .ok_or(Problem::NotFound)
    })
    .await;
    match wav {
        Ok(bytes) => {
            let mut r = bytes.into_response();
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
            r.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(p) => problem(&cab, &v, p),
    }
}

/// After an administrator's change of someone's greeting: back to the admin page, or the
/// refusal.
fn after_greeting_of(cab: &Cabinet, v: &Viewer, changed: Result<(), profile::Refusal>) -> Response {
    match changed {
        Ok(()) => redirect(&format!("/{}/admin", path_segment(&v.tenant().id))),
        Err(profile::Refusal::Failed(p)) => problem(cab, v, p),
        Err(r) => render(
            cab,
            StatusCode::BAD_REQUEST,
            "error.html",
            v.language(),
            context! { message => r.key(), detail => (), ..frame(v, "admin") },
        ),
    }
}

async fn upload_greeting_of(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, login)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let (v, file, _turn) = match uploaded(&cab, &headers, &tenant, Area::Admin, "admin", body).await
    {
        Ok(u) => u,
        Err(r) => return *r,
    };
    let changed = match file {
        Some(wav) => profile::set_greeting(&v, Some(login), Some(wav)).await,
        None => Err(profile::Refusal::NoFile),
    };
    after_greeting_of(&cab, &v, changed)
}

async fn remove_greeting_of(
    State(cab): State<Arc<Cabinet>>,
    Path((tenant, login)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let v = match posting(&cab, &headers, &tenant, Area::Admin, &form.csrf, "admin") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let changed = profile::set_greeting(&v, Some(login), None).await;
    after_greeting_of(&cab, &v, changed)
}
