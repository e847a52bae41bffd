//! Routing loops: calls that would go round in a circle with nobody pressing anything.
//!
//! The edges are the moves a call makes on its own: a person's or a department's no-answer
//! transfer, and a menu's timeout destination. A cycle among them is an error, reported once,
//! at the edge that closes it, with the whole circle spelled out.

use super::Ctx;
use crate::config::diagnostic::Code;
use crate::config::model::{Destination, NoAnswer, Target, Tenant};
use crate::config::path::ConfigPath;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Staff(usize),
    Department(usize),
    Menu(usize),
}

/// The automatic move out of `node`, if any, and the path of the setting that makes it.
fn edge(t: &Tenant, node: Node, tenant_path: &ConfigPath) -> Option<(Node, ConfigPath)> {
    let target = |tg: &Target| match *tg {
        Target::Staff(s) => Node::Staff(s.0),
        Target::Department(d) => Node::Department(d.0),
    };
    match node {
        Node::Staff(i) => match &t.staff[i].no_answer {
            NoAnswer::Transfer(tg) => {
                Some((target(tg), staff_path(t, i, tenant_path).key("no_answer")))
            }
            _ => None,
        },
        Node::Department(i) => match &t.departments[i].no_answer {
            NoAnswer::Transfer(tg) => {
                Some((target(tg), dept_path(t, i, tenant_path).key("no_answer")))
            }
            _ => None,
        },
        Node::Menu(i) => {
            let to = match t.menus[i].on_timeout.as_ref()? {
                Destination::Staff(s) => Node::Staff(s.0),
                Destination::Department(d) => Node::Department(d.0),
                Destination::Menu(m) => Node::Menu(m.0),
                _ => return None,
            };
            Some((
                to,
                tenant_path
                    .key("menus")
                    .item(i, &t.menus[i].id)
                    .key("on_timeout"),
            ))
        }
    }
}

fn staff_path(t: &Tenant, i: usize, tp: &ConfigPath) -> ConfigPath {
    tp.key("staff").item(i, t.staff[i].login.as_str())
}

fn dept_path(t: &Tenant, i: usize, tp: &ConfigPath) -> ConfigPath {
    tp.key("departments").item(i, &t.departments[i].id)
}

fn name(t: &Tenant, n: Node) -> String {
    match n {
        Node::Staff(i) => format!("staff[{}]", t.staff[i].login),
        Node::Department(i) => format!("departments[{}]", t.departments[i].id),
        Node::Menu(i) => format!("menus[{}]", t.menus[i].id),
    }
}

pub(super) fn check_loops(ctx: &mut Ctx, t: &Tenant, tenant_path: &ConfigPath) {
    let nodes = (0..t.staff.len())
        .map(Node::Staff)
        .chain((0..t.departments.len()).map(Node::Department))
        .chain((0..t.menus.len()).map(Node::Menu));
    // Each node has at most one automatic move, so following it from every start finds every
    // cycle; `done` keeps the walk linear overall.
    let mut done = std::collections::HashSet::new();
    for start in nodes {
        let mut trail: Vec<(Node, Option<ConfigPath>)> = Vec::new();
        let mut node = start;
        loop {
            if done.contains(&node) {
                break;
            }
            if let Some(pos) = trail.iter().position(|(n, _)| *n == node) {
                report(ctx, t, &trail[pos..], node);
                break;
            }
            match edge(t, node, tenant_path) {
                Some((next, via)) => {
                    trail.push((node, Some(via)));
                    node = next;
                }
                None => break,
            }
        }
        done.extend(trail.into_iter().map(|(n, _)| n));
    }
}

fn report(ctx: &mut Ctx, t: &Tenant, cycle: &[(Node, Option<ConfigPath>)], back_to: Node) {
    let circle: Vec<String> = cycle
        .iter()
        .map(|(n, _)| name(t, *n))
        .chain([name(t, back_to)])
        .collect();
    let Some((_, Some(closing))) = cycle.last() else {
        return;
    };
    let closing = closing.clone();
    let message = format!(
        "routing loop: {} — an unanswered call would go round forever",
        circle.join(" -> ")
    );
    let mut d =
        crate::config::diagnostic::Diagnostic::error(Code::RoutingLoop, closing.clone(), message);
    d.location = ctx.sources.locate(&closing);
    for (_, via) in &cycle[..cycle.len() - 1] {
        if let Some(via) = via {
            ctx.related(&mut d, via, "part of the loop");
        }
    }
    d.help = Some(
        "end one of these with `voicemail`, a forward, or a destination outside the circle".into(),
    );
    ctx.out.push(d);
}
