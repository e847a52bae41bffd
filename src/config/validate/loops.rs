//! Routing loops: calls that would go round in a circle with nobody answering and the caller
//! making no valid choice.
//!
//! The edges are the moves a call makes on its own: a person's or a department's no-answer
//! transfer, and a menu's `on_timeout` (the caller pressed nothing) and `on_invalid` (the caller
//! pressed only wrong keys) destinations — and, through the telephone network, a no-answer
//! forward or an external destination whose number is one of the numbers served here (of any
//! tenant), which leads on to that number's destination (in hours or after hours). So the
//! walk spans every tenant of the server. A node has several such edges, so the walk is a
//! depth-first search; each edge that closes a circle is an error, reported at that edge with
//! the whole circle spelled out (a menu whose `on_timeout` and `on_invalid` both lead back to
//! it gets two: both need changing).

use super::Ctx;
use crate::config::diagnostic::{Code, Diagnostic};
use crate::config::model::{Destination, NoAnswer, Target, Tenant};
use crate::config::path::ConfigPath;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A place a call can be, in tenant `.0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Staff(usize, usize),
    Department(usize, usize),
    Menu(usize, usize),
    /// A number served here, called from the telephone network.
    Number(usize, usize),
}

impl Node {
    fn tenant(self) -> usize {
        match self {
            Node::Staff(t, _) | Node::Department(t, _) | Node::Menu(t, _) | Node::Number(t, _) => t,
        }
    }
}

/// What makes a move happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Why {
    /// Nobody answered (`no_answer: {transfer: ...}` or `{forward: ...}`).
    NoAnswer,
    /// A menu's `on_timeout` or `on_invalid`.
    NoChoice,
    /// A number's own destination.
    Number,
}

/// One automatic move: where to, the setting that makes it, and why.
#[derive(Clone, Debug)]
struct Edge {
    to: Node,
    via: ConfigPath,
    why: Why,
}

/// Every tenant of the server, their paths, and which tenant serves each number.
struct Server<'a> {
    tenants: &'a [Arc<Tenant>],
    paths: &'a [ConfigPath],
    numbers: HashMap<&'a str, (usize, usize)>,
}

impl Server<'_> {
    /// The node a destination leads to on its own, if any.
    fn destination(&self, t: usize, d: &Destination) -> Option<Node> {
        Some(match d {
            Destination::Staff(s) => Node::Staff(t, s.0),
            Destination::Department(d) => Node::Department(t, d.0),
            Destination::Menu(m) => Node::Menu(t, m.0),
            Destination::External(n) => self.number(n.as_str())?,
            _ => return None,
        })
    }

    fn number(&self, n: &str) -> Option<Node> {
        self.numbers.get(n).map(|&(t, i)| Node::Number(t, i))
    }

    /// The automatic moves out of `node`.
    fn edges(&self, node: Node) -> Vec<Edge> {
        let tenant = &self.tenants[node.tenant()];
        let tp = &self.paths[node.tenant()];
        let ti = node.tenant();
        let no_answer = |na: &NoAnswer, item: ConfigPath| {
            let to = match na {
                NoAnswer::Transfer(Target::Staff(s)) => Some(Node::Staff(ti, s.0)),
                NoAnswer::Transfer(Target::Department(d)) => Some(Node::Department(ti, d.0)),
                NoAnswer::Forward { number, .. } => self.number(number.as_str()),
                NoAnswer::Voicemail => None,
            };
            to.map(|to| Edge {
                to,
                via: item.key("no_answer"),
                why: Why::NoAnswer,
            })
            .into_iter()
            .collect()
        };
        let moves = |item: &ConfigPath, list: [(Option<&Destination>, &'static str); 2], why| {
            list.into_iter()
                .filter_map(|(dest, key)| {
                    Some(Edge {
                        to: self.destination(ti, dest?)?,
                        via: item.key(key),
                        why,
                    })
                })
                .collect()
        };
        match node {
            Node::Staff(_, i) => no_answer(&tenant.staff[i].no_answer, staff_path(tenant, i, tp)),
            Node::Department(_, i) => {
                no_answer(&tenant.departments[i].no_answer, dept_path(tenant, i, tp))
            }
            Node::Menu(_, i) => {
                let menu = &tenant.menus[i];
                let item = tp.key("menus").item(i, &menu.id);
                moves(
                    &item,
                    [
                        (menu.on_timeout.as_ref(), "on_timeout"),
                        (menu.on_invalid.as_ref(), "on_invalid"),
                    ],
                    Why::NoChoice,
                )
            }
            Node::Number(_, i) => {
                let n = &tenant.numbers[i];
                let item = tp.key("numbers").item(i, n.number.as_str());
                moves(
                    &item,
                    [
                        (Some(&n.destination), "destination"),
                        (n.after_hours.as_ref(), "after_hours"),
                    ],
                    Why::Number,
                )
            }
        }
    }
}

fn staff_path(t: &Tenant, i: usize, tp: &ConfigPath) -> ConfigPath {
    tp.key("staff").item(i, t.staff[i].login.as_str())
}

fn dept_path(t: &Tenant, i: usize, tp: &ConfigPath) -> ConfigPath {
    tp.key("departments").item(i, &t.departments[i].id)
}

/// A node's name; `qualified`: with its tenant, for a circle through several tenants.
fn name(server: &Server, n: Node, qualified: bool) -> String {
    let t = &server.tenants[n.tenant()];
    let local = match n {
        Node::Staff(_, i) => format!("staff[{}]", t.staff[i].login),
        Node::Department(_, i) => format!("departments[{}]", t.departments[i].id),
        Node::Menu(_, i) => format!("menus[{}]", t.menus[i].id),
        Node::Number(_, i) => format!("numbers[{}]", t.numbers[i].number),
    };
    if qualified {
        format!("tenants[{}].{local}", t.id)
    } else {
        local
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// On the current trail of the search.
    OnTrail,
    /// Every move out of it has been followed.
    Done,
}

/// Checks every tenant of the server at once (`paths[i]` is `tenants[i]`'s path): a forward
/// may lead into another tenant's number and back. With `only`, the search starts from those
/// tenants' nodes alone (it still follows moves into any tenant): when the others are as they
/// were in a config that had no loop, a new loop must pass through a tenant that changed —
/// its own moves changed, or a number the others forward to is now, or no longer, its.
pub(super) fn check_loops(
    ctx: &mut Ctx,
    tenants: &[Arc<Tenant>],
    paths: &[ConfigPath],
    only: Option<&HashSet<usize>>,
) {
    let mut numbers = HashMap::new();
    for (ti, t) in tenants.iter().enumerate() {
        for (i, n) in t.numbers.iter().enumerate() {
            numbers.entry(n.number.as_str()).or_insert((ti, i));
        }
    }
    let server = Server {
        tenants,
        paths,
        numbers,
    };
    let nodes = tenants
        .iter()
        .enumerate()
        .filter(|(ti, _)| only.is_none_or(|o| o.contains(ti)))
        .flat_map(|(ti, t)| {
            (0..t.staff.len())
                .map(move |i| Node::Staff(ti, i))
                .chain((0..t.departments.len()).map(move |i| Node::Department(ti, i)))
                .chain((0..t.menus.len()).map(move |i| Node::Menu(ti, i)))
                .chain((0..t.numbers.len()).map(move |i| Node::Number(ti, i)))
        });
    let mut marks: HashMap<Node, Mark> = HashMap::new();
    for start in nodes {
        if marks.contains_key(&start) {
            continue;
        }
        // The trail: each node with its moves and how many of them have been followed.
        let mut trail: Vec<(Node, Vec<Edge>, usize)> = vec![(start, server.edges(start), 0)];
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
                    let out = server.edges(edge.to);
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
                    report(ctx, &server, &steps);
                }
                Some(Mark::Done) => {}
            }
        }
    }
}

/// Reports the circle `steps` (each node and the move out of it; the last move returns to the
/// first node) at its last move.
fn report(ctx: &mut Ctx, server: &Server, steps: &[(Node, Edge)]) {
    let Some((_, closing)) = steps.last() else {
        return;
    };
    let qualified = steps.iter().any(|(n, _)| n.tenant() != steps[0].0.tenant());
    let circle: Vec<String> = steps
        .iter()
        .map(|(n, _)| name(server, *n, qualified))
        .chain([name(server, steps[0].0, qualified)])
        .collect();
    let menus = steps.iter().any(|(_, e)| e.why == Why::NoChoice);
    let network = steps.iter().any(|(n, _)| matches!(n, Node::Number(..)));
    let consequence = match (menus, network) {
        (true, _) => {
            "with nobody answering and no valid key pressed, the call would go round forever"
        }
        (false, true) => "an unanswered call would go round forever through the telephone network",
        (false, false) => "an unanswered call would go round forever",
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
    } else if network {
        "end one of these with `voicemail` or a destination outside the circle: a forward to a \
         number served here comes straight back in"
            .into()
    } else {
        "end one of these with `voicemail`, a forward, or a destination outside the circle".into()
    });
    ctx.out.push(d);
}
