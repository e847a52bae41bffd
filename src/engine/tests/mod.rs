//! The engine on virtual time: a deterministic harness (`world`, `phone`) and the scenarios it
//! runs — registration, calls, every routing strategy and fallback through trunks, races,
//! loss, reloads, draining, restarts, `server.limits` — each in milliseconds, the same way every run.

pub mod phone;
mod world;

mod callbacks;
mod calls;
mod limits;
mod media;
mod registration;
mod robustness;
mod routing;
mod security;
mod toll_fraud;
mod trunks;

pub use phone::Answer;
pub use world::{Fault, PhoneId, World};

pub const ANNA: (&str, &str) = ("anna", "anna-secret-2024");
pub const BORIS: (&str, &str) = ("boris", "boris-secret-2024");
pub const VERA: (&str, &str) = ("vera", "vera-secret-2024");
/// The company number.
pub const DID: &str = "+74950000001";
/// Where the trunk's gateway is.
pub const GATEWAY: &str = "127.0.0.2:5060";

/// Tenant acme (Vladivostok time) with anna, boris and vera (extensions 210-212), the trunk
/// `gw` at `GATEWAY` with credentials and `+7` dialled as `8`, and `extra` (departments,
/// numbers...).
pub fn config(extra: &str) -> String {
    config_with("", extra)
}

/// `config` with more staff (`staff_extra`, YAML list items).
pub fn config_with(staff_extra: &str, extra: &str) -> String {
    let staff: String = [ANNA, BORIS, VERA]
        .iter()
        .enumerate()
        .map(|(i, (login, password))| {
            format!("      - {{ name: {login}, login: {login}, extension: \"21{i}\", password: \"{password}\" }}\n")
        })
        .collect();
    format!(
        "version: 1\ntenants:\n  - id: acme\n    name: Acme\n    domain: acme.example\n    max_users: 100\n    timezone: Asia/Vladivostok\n    trunks:\n      - id: gw\n        host: 127.0.0.2\n        port: 5060\n        outbound_rewrite: [{{ prefix: \"+7\", replace: \"8\" }}]\n        auth: {{ username: trunkuser, password: trunk-secret }}\n    outbound_trunks: [gw]\n    staff:\n{staff}{staff_extra}{extra}"
    )
}

/// A staff member's phone at `addr`, registered.
pub fn registered(w: &mut World, who: (&str, &str), addr: &str, answer: Answer) -> PhoneId {
    let id = w.phone(who.0, who.1, addr, answer);
    w.register(id);
    id
}

/// A world with anna and boris registered, picking up at once.
pub fn two() -> (World, PhoneId, PhoneId) {
    let mut w = World::new(&config(""));
    let anna = registered(&mut w, ANNA, "10.0.0.1:5060", Answer::pick());
    let boris = registered(&mut w, BORIS, "10.0.0.2:5060", Answer::pick());
    (w, anna, boris)
}

/// The trunk's gateway: challenges INVITEs once with digest, then answers as `answer` says.
pub fn gateway(w: &mut World, answer: Answer) -> PhoneId {
    let id = w.peer("gateway", GATEWAY, crate::sip::link::Link::Udp(0), answer);
    w.phone_mut(id).challenge_invites = Some(("trunkuser".into(), "trunk-secret".into()));
    id
}

/// Someone in the telephone network, calling through the trunk (from the gateway's host).
pub fn outside_caller(w: &mut World) -> PhoneId {
    w.peer(
        "caller",
        "127.0.0.2:5070",
        crate::sip::link::Link::Udp(0),
        Answer::Silent,
    )
}

/// Asserts `at` is `want` seconds after `t0`, within 10 ms (virtual time is exact but for the
/// network's 1 ms per hop).
#[track_caller]
pub fn at(what: &str, at: Option<&f64>, t0: f64, want: f64) {
    let at = at.unwrap_or_else(|| panic!("{what}: never happened"));
    assert!(
        ((at - t0) - want).abs() <= 0.01,
        "{what}: at {:.3}s, expected {want}s",
        at - t0
    );
}
