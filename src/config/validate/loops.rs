//! Routing loops: calls that would go round in a circle with nobody answering and the caller
//! making no valid choice.
//!
//! The edges are the moves a call makes on its own: a person's or a department's no-answer
//! transfer, and a menu's `on_timeout` (the caller pressed nothing) and `on_invalid` (the caller
//! pressed only wrong keys) destinations. A menu has up to two such edges, so the walk is a
//! depth-first search; each edge that closes a circle is an error, reported at that edge with
//! the whole circle spelled out (a menu whose `on_timeout` and `on_invalid` both lead back to
//! it gets two: both need changing).

use super::Ctx;
use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::model::{Destination, NoAnswer, Target, Tenant};
use crate::config::path::ConfigPath;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Staff(usize),
    Department(usize),
    Menu(usize),
}

/// What makes a move happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    /// Nobody answered (`no_answer: {transfer: ...}`).
    NoAnswer,
    /// A menu's `on_timeout` or `on_invalid`.
    NoChoice,
}

/// One automatic move: where to, the setting that makes it, and why.
#[derive(Clone, Debug)]
struct Edge {
    to: Node,
    via: ConfigPath,
    why: Why,
}

/// The automatic moves out of `node`.
fn edges(t: &Tenant, node: Node, tenant_path: &ConfigPath) -> Vec<Edge> {
    let target = |tg: &Target| match *tg {
        Target::Staff(s) => Node::Staff(s.0),
        Target::Department(d) => Node::Department(d.0),
    };
    let transfer = |na: &NoAnswer, item: ConfigPath| match na {
        NoAnswer::Transfer(tg) => vec![Edge {
            to: target(tg),
            via: item.key("no_answer"),
            why: Why::NoAnswer,
        }],
        _ => Vec::new(),
    };
    match node {
        Node::Staff(i) => transfer(&t.staff[i].no_answer, staff_path(t, i, tenant_path)),
        Node::Department(i) => transfer(&t.departments[i].no_answer, dept_path(t, i, tenant_path)),
        Node::Menu(i) => {
            let menu = &t.menus[i];
            let item = tenant_path.key("menus").item(i, &menu.id);
            [
                (&menu.on_timeout, "on_timeout"),
                (&menu.on_invalid, "on_invalid"),
            ]
            .into_iter()
            .filter_map(|(dest, key)| {
                let to = match dest.as_ref()? {
                    Destination::Staff(s) => Node::Staff(s.0),
                    Destination::Department(d) => Node::Department(d.0),
                    Destination::Menu(m) => Node::Menu(m.0),
                    _ => return None,
                };
                Some(Edge {
                    to,
                    via: item.key(key),
                    why: Why::NoChoice,
                })
            })
            .collect()
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// On the current trail of the search.
    OnTrail,
    /// Every move out of it has been followed.
    Done,
}

pub(super) fn check_loops(ctx: &mut Ctx, t: &Tenant, tenant_path: &ConfigPath) {
    let nodes = (0..t.staff.len())
        .map(Node::Staff)
        .chain((0..t.departments.len()).map(Node::Department))
        .chain((0..t.menus.len()).map(Node::Menu));
    let mut marks: HashMap<Node, Mark> = HashMap::new();
    for start in nodes {
        if marks.contains_key(&start) {
            continue;
        }
        // The trail: each node with its moves and how many of them have been followed.
        let mut trail: Vec<(Node, Vec<Edge>, usize)> =
            vec![(start, edges(t, start, tenant_path), 0)];
        marks.insert(start, Mark::OnTrail);
        while let Some((node, out, next)) = trail.last_mut() {
            let Some(edge) = out.get(*next).cloned() else {
                marks.insert(*node, Mark::Done);
                trail.pop();
                continue;
            };
            *next += 1;
            match marks.get(&edge.to) {
                None => {
                    marks.insert(edge.to, Mark::OnTrail);
                    let out = edges(t, edge.to, tenant_path);
                    trail.push((edge.to, out, 0));
                }
                Some(Mark::OnTrail) => {
                    let Some(pos) = trail.iter().position(|(n, _, _)| *n == edge.to) else {
                        continue;
                    };
                    // The moves taken from `pos` on: each trail entry's last followed edge.
                    let steps: Vec<(Node, Edge)> = trail[pos..]
                        .iter()
                        .map(|(n, out, next)| (*n, out[*next - 1].clone()))
                        .collect();
                    report(ctx, t, &steps);
                }
                Some(Mark::Done) => {}
            }
        }
    }
}

/// Reports the circle `steps` (each node and the move out of it; the last move returns to the
/// first node) at its last move.
fn report(ctx: &mut Ctx, t: &Tenant, steps: &[(Node, Edge)]) {
    let Some((_, closing)) = steps.last() else {
        return;
    };
    let circle: Vec<String> = steps
        .iter()
        .map(|(n, _)| name(t, *n))
        .chain([name(t, steps[0].0)])
        .collect();
    let menus = steps.iter().any(|(_, e)| e.why == Why::NoChoice);
    let consequence = if menus {
        "with nobody answering and no valid key pressed, the call would go round forever"
    } else {
        "an unanswered call would go round forever"
    };
    let message = format!("routing loop: {} — {consequence}", circle.join(" -> "));
    let mut d = Diagnostic::error(Code::RoutingLoop, closing.via.clone(), message);
    d.location = ctx.sources.locate(&closing.via);
    for (_, e) in &steps[..steps.len() - 1] {
        ctx.related(&mut d, &e.via, "part of the loop");
    }
    d.help = Some(if menus {
        "end one of these with `voicemail`, a forward, `hangup` or a destination outside the \
         circle (a menu without `on_timeout`/`on_invalid` hangs up after its repeats)"
            .into()
    } else {
        "end one of these with `voicemail`, a forward, or a destination outside the circle".into()
    });
    ctx.out.push(d);
}
