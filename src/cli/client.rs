//! The admin API client used by `pbx plan --server`, `pbx apply` and `pbx password reset`:
//! a bearer token from an environment variable, JSON both ways, and errors classified into
//! the exit codes the README documents.

use super::exit;
use crate::config::proposal::RunningState;
use serde_json::Value;
use std::time::Duration;

/// A failed call, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the server at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("the server refused the admin token (set it in ${env})")]
    Unauthorized { env: String },
    #[error("the server answered {status}: {message}")]
    Status {
        status: u16,
        message: String,
        body: Value,
    },
}

impl ClientError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Unreachable { .. } => exit::UNREACHABLE,
            ClientError::Unauthorized { .. } => exit::UNAUTHORIZED,
            ClientError::Status { .. } => exit::INVALID,
        }
    }
}

/// A connection to one server's admin API.
pub struct Client {
    base: String,
    token: Option<String>,
    token_env: String,
    agent: ureq::Agent,
}

impl Client {
    /// `base` like `http://127.0.0.1:8080`; the token is read from the environment variable
    /// `token_env`.
    pub fn new(base: &str, token_env: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_string(),
            token: std::env::var(token_env).ok().filter(|t| !t.is_empty()),
            token_env: token_env.to_string(),
            agent,
        }
    }

    /// What the server runs.
    pub fn state(&self) -> Result<RunningState, ClientError> {
        let body = self.call("GET", "/api/v1/state", None)?;
        serde_json::from_value(body).map_err(|e| ClientError::Status {
            status: 200,
            message: format!("unexpected state document: {e}"),
            body: Value::Null,
        })
    }

    /// POSTs `body` to `path`; returns the JSON answer of a 2xx response.
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.call("POST", path, Some(body))
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, ClientError> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token.as_deref().unwrap_or(""));
        let result = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("Authorization", &auth).call(),
            (_, Some(b)) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_json(b),
            (_, None) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .send_empty(),
        };
        let mut response = result.map_err(|e| ClientError::Unreachable {
            url: url.clone(),
            detail: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| ClientError::Unreachable {
                url: url.clone(),
                detail: e.to_string(),
            })?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        match status {
            200..=299 => Ok(json),
            401 => Err(ClientError::Unauthorized {
                env: self.token_env.clone(),
            }),
            _ => Err(ClientError::Status {
                status,
                message: json
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("error")
                    .to_string(),
                body: json,
            }),
        }
    }
}
