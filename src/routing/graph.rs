//! `Graph`: the picture of a tenant's call flow (the seed's "graphical scheme") — each number
//! (with its greeting), its schedule, the person, department or voice menu it leads to (each
//! option by its key, and where no input or invalid input goes), where an unanswered call goes
//! next, and the voicemail boxes (with their own greetings) — built from the config alone,
//! rendered as Mermaid or Graphviz DOT text.

use crate::config::clock::format_duration;
use crate::config::model::{Destination, Forwarding, NoAnswer, Strategy, Target, Tenant};
use std::fmt::Write;
use std::path::Path;

/// What a box looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A number calls arrive on.
    Number,
    /// A question (the schedule).
    Decision,
    /// Someone or something that takes the call.
    Step,
    /// Where the call ends.
    End,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub shape: Shape,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: Option<String>,
}

/// A call-flow picture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Graph {
    /// The call flow of `tenant`'s numbers (only `number` when given).
    pub fn of(tenant: &Tenant, number: Option<&str>) -> Graph {
        let mut g = Graph::default();
        for (i, n) in tenant.numbers.iter().enumerate() {
            if number.is_some_and(|only| only != n.number.as_str()) {
                continue;
            }
            let id = format!("number{i}");
            let mut label = match &n.name {
                Some(name) => format!("{}\n{name}", n.number),
                None => n.number.to_string(),
            };
            if let Some(g) = &n.greeting {
                let _ = write!(label, "\ngreeting {}", file_name(g));
            }
            g.node(&id, label, Shape::Number);
            let Some(s) = n.schedule else {
                g.link(tenant, &id, Some("24/7"), &n.destination);
                continue;
            };
            let decision = format!("schedule{i}");
            let label = format!("{}: working hours?", tenant.schedules[s.0].id);
            g.node(&decision, label, Shape::Decision);
            g.edge(&id, &decision, None);
            g.link(tenant, &decision, Some("open"), &n.destination);
            match &n.after_hours {
                Some(d) => g.link(tenant, &decision, Some("closed"), d),
                None => {
                    let closed = g.end("closed", "after-hours prompt, hang up");
                    g.edge(&decision, &closed, Some("closed"));
                }
            }
        }
        g
    }

    fn node(&mut self, id: &str, label: String, shape: Shape) -> bool {
        if self.nodes.iter().any(|n| n.id == id) {
            return false;
        }
        self.nodes.push(Node {
            id: id.to_string(),
            label,
            shape,
        });
        true
    }

    fn edge(&mut self, from: &str, to: &str, label: Option<&str>) {
        let edge = Edge {
            from: from.to_string(),
            to: to.to_string(),
            label: label.map(str::to_string),
        };
        if !self.edges.contains(&edge) {
            self.edges.push(edge);
        }
    }

    fn end(&mut self, id: &str, label: &str) -> String {
        let id = format!("end_{}", slug(id));
        self.node(&id, label.to_string(), Shape::End);
        id
    }

    /// An arrow from `from` to destination `d`, then `d` and what follows it (once).
    fn link(&mut self, tenant: &Tenant, from: &str, label: Option<&str>, d: &Destination) {
        let to = id_of(tenant, d);
        self.edge(from, &to, label);
        self.destination(tenant, d);
    }

    /// The node of `d` with what follows it, unless it is there already.
    fn destination(&mut self, tenant: &Tenant, d: &Destination) {
        let id = id_of(tenant, d);
        match d {
            Destination::Staff(s) => {
                let staff = &tenant.staff[s.0];
                let mut label = format!(
                    "{} ({})\nrings {}",
                    staff.name,
                    staff.login,
                    format_duration(staff.ring_time)
                );
                if let Some(m) = &staff.mobile {
                    match m.forwarding {
                        Forwarding::Instant => {
                            let _ = write!(label, "\nmobile {} instead", m.number);
                        }
                        Forwarding::Delayed => {
                            let _ = write!(
                                label,
                                "\n+ mobile {} after {}",
                                m.number,
                                format_duration(m.delay)
                            );
                        }
                        Forwarding::Off => {}
                    }
                }
                if self.node(&id, label, Shape::Step) {
                    self.no_answer(tenant, &id, Target::Staff(*s), &staff.no_answer);
                }
            }
            Destination::Department(dep) => {
                let dept = &tenant.departments[dep.0];
                let members: Vec<&str> = dept
                    .members
                    .iter()
                    .map(|m| tenant.staff[m.0].login.as_str())
                    .collect();
                let step = match dept.strategy {
                    Strategy::InOrder | Strategy::Increasing | Strategy::Evenly => {
                        format!(", {} each", format_duration(dept.step))
                    }
                    Strategy::AllAtOnce => String::new(),
                };
                let label = format!(
                    "department {}\n{}{step}, {}\n{}",
                    dept.id,
                    dept.strategy.words(),
                    format_duration(dept.ring_time),
                    members.join(", ")
                );
                if self.node(&id, label, Shape::Step) {
                    self.no_answer(tenant, &id, Target::Department(*dep), &dept.no_answer);
                }
            }
            Destination::Menu(m) => {
                let menu = &tenant.menus[m.0];
                let repeats = match menu.repeat {
                    0 => "no repeats".to_string(),
                    1 => "1 repeat".to_string(),
                    n => format!("{n} repeats"),
                };
                let mut label = format!(
                    "voice menu {}\n{}, waits {}, {repeats}",
                    menu.id,
                    file_name(&menu.prompt),
                    format_duration(menu.timeout),
                );
                if menu.dial_extensions {
                    label.push_str("\nor dial an extension");
                }
                if self.node(&id, label, Shape::Step) {
                    for (digit, d) in &menu.options {
                        self.link(tenant, &id, Some(&format!("press {digit}")), d);
                    }
                    // Without a destination the PBX hangs up.
                    for (label, d) in [
                        ("no input", &menu.on_timeout),
                        ("invalid input", &menu.on_invalid),
                    ] {
                        let d = d.clone().unwrap_or(Destination::Hangup);
                        self.link(tenant, &id, Some(label), &d);
                    }
                }
            }
            Destination::Voicemail(t) => {
                self.voicemail(tenant, *t);
            }
            Destination::External(n) => {
                self.node(&id, format!("{n} (outside)"), Shape::End);
            }
            Destination::Hangup => {
                self.node(&id, "hang up".into(), Shape::End);
            }
        }
    }

    /// The node of `box`'s voicemail (with its own greeting, when it has one); its id.
    fn voicemail(&mut self, tenant: &Tenant, mailbox: Target) -> String {
        let id = id_of(tenant, &Destination::Voicemail(mailbox));
        let greeting = match mailbox {
            Target::Staff(s) => tenant.staff[s.0].voicemail_greeting.as_ref(),
            Target::Department(d) => tenant.departments[d.0].voicemail_greeting.as_ref(),
        };
        let mut label = format!("voicemail {}", owner(tenant, mailbox));
        if let Some(g) = greeting {
            let _ = write!(label, "\ngreeting {}", file_name(g));
        }
        self.node(&id, label, Shape::End);
        id
    }

    /// What follows `from` when nobody answers; `mailbox` is whose voicemail it would be.
    fn no_answer(&mut self, tenant: &Tenant, from: &str, mailbox: Target, action: &NoAnswer) {
        match action {
            NoAnswer::Voicemail => {
                let to = self.voicemail(tenant, mailbox);
                self.edge(from, &to, Some("no answer"));
            }
            NoAnswer::Forward { number, timeout } => {
                let id = format!("forward_{}", slug(&owner(tenant, mailbox)));
                let label = format!("{number} (outside)\nrings {}", format_duration(*timeout));
                self.node(&id, label, Shape::Step);
                self.edge(from, &id, Some("no answer"));
                let to = self.voicemail(tenant, mailbox);
                self.edge(&id, &to, Some("no answer"));
            }
            NoAnswer::Transfer(t) => {
                let d = match t {
                    Target::Staff(s) => Destination::Staff(*s),
                    Target::Department(d) => Destination::Department(*d),
                };
                self.link(tenant, from, Some("no answer"), &d);
            }
        }
    }

    /// Mermaid flowchart text.
    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for n in &self.nodes {
            let label = n.label.replace('"', "#quot;").replace('\n', "<br/>");
            let (open, close) = match n.shape {
                Shape::Number => ("([\"", "\"])"),
                Shape::Decision => ("{\"", "\"}"),
                Shape::Step => ("[\"", "\"]"),
                Shape::End => ("[[\"", "\"]]"),
            };
            let _ = writeln!(out, "    {}{open}{label}{close}", n.id);
        }
        for e in &self.edges {
            match &e.label {
                Some(l) => {
                    let _ = writeln!(out, "    {} -->|{}| {}", e.from, l.replace('|', "/"), e.to);
                }
                None => {
                    let _ = writeln!(out, "    {} --> {}", e.from, e.to);
                }
            }
        }
        out
    }

    /// Graphviz DOT text.
    pub fn dot(&self) -> String {
        let quote = |s: &str| {
            s.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        };
        let mut out = String::from(
            "digraph callflow {\n    rankdir=LR;\n    node [fontname=\"sans-serif\"];\n",
        );
        for n in &self.nodes {
            let shape = match n.shape {
                Shape::Number => "oval",
                Shape::Decision => "diamond",
                Shape::Step => "box",
                Shape::End => "note",
            };
            let _ = writeln!(
                out,
                "    {} [label=\"{}\", shape={shape}];",
                n.id,
                quote(&n.label)
            );
        }
        for e in &self.edges {
            match &e.label {
                Some(l) => {
                    let _ = writeln!(out, "    {} -> {} [label=\"{}\"];", e.from, e.to, quote(l));
                }
                None => {
                    let _ = writeln!(out, "    {} -> {};", e.from, e.to);
                }
            }
        }
        out.push_str("}\n");
        out
    }
}

/// The node id of destination `d`.
fn id_of(tenant: &Tenant, d: &Destination) -> String {
    match d {
        Destination::Staff(s) => format!("staff_{}", slug(tenant.staff[s.0].login.as_str())),
        Destination::Department(dep) => {
            format!("department_{}", slug(&tenant.departments[dep.0].id))
        }
        Destination::Menu(m) => format!("menu_{}", slug(&tenant.menus[m.0].id)),
        Destination::Voicemail(t) => {
            format!("end_{}", slug(&format!("voicemail_{}", owner(tenant, *t))))
        }
        Destination::External(n) => format!("end_{}", slug(&format!("external_{n}"))),
        Destination::Hangup => "end_hangup".into(),
    }
}

/// A file's name without its directory, as the picture shows it.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    )
}

/// The login or department id a voicemail box belongs to.
fn owner(tenant: &Tenant, t: Target) -> String {
    match t {
        Target::Staff(s) => tenant.staff[s.0].login.to_string(),
        Target::Department(d) => tenant.departments[d.0].id.clone(),
    }
}

/// An identifier safe in Mermaid and DOT, distinct for distinct names: ASCII letters and
/// digits as they are, anything else as `_` and its code in hex.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else {
            let _ = write!(out, "_{:x}", c as u32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::validate::validate_text;

    const YAML: &str = r#"version: 1
tenants:
  - id: acme
    name: Acme
    domain: acme.example
    max_users: 10
    trunks:
      - { id: gw, host: 127.0.0.1 }
    outbound_trunks: [gw]
    staff:
      - { name: Maria, login: maria }
      - name: Ivan
        login: ivan
        mobile: { number: "+79160000001", forwarding: delayed, delay: 10s }
        no_answer: { forward: { number: "+79160000002", timeout: 20s } }
        voicemail_greeting: prompts/ivan.wav
    departments:
      - id: sales
        strategy: in_order
        step: 10s
        ring_time: 40s
        members: [maria, ivan]
        no_answer: { transfer: { staff: ivan } }
    menus:
      - id: main
        prompt: main.wav
        dial_extensions: true
        options:
          "1": { department: sales }
          "0": hangup
        on_timeout: { voicemail: sales }
    schedules:
      - { id: office, hours: { weekdays: ["09:00-18:00"] } }
    numbers:
      - { number: "+74950000001", name: Main, schedule: office, destination: { menu: main }, greeting: hello.wav }
      - { number: "+74950000002", destination: { external: "+74957777777" } }
"#;

    #[test]
    fn the_flow_of_every_number_as_mermaid() {
        let config = validate_text(YAML).unwrap();
        let got = Graph::of(&config.tenants[0], None).mermaid();
        let want = r#"flowchart LR
    number0(["+74950000001<br/>Main<br/>greeting hello.wav"])
    schedule0{"office: working hours?"}
    menu_main["voice menu main<br/>main.wav, waits 5s, 2 repeats<br/>or dial an extension"]
    end_hangup[["hang up"]]
    department_sales["department sales<br/>in order, 10s each, 40s<br/>maria, ivan"]
    staff_ivan["Ivan (ivan)<br/>rings 30s<br/>+ mobile +79160000001 after 10s"]
    forward_ivan["+79160000002 (outside)<br/>rings 20s"]
    end_voicemail_5fivan[["voicemail ivan<br/>greeting ivan.wav"]]
    end_voicemail_5fsales[["voicemail sales"]]
    end_closed[["after-hours prompt, hang up"]]
    number1(["+74950000002"])
    end_external_5f_2b74957777777[["+74957777777 (outside)"]]
    number0 --> schedule0
    schedule0 -->|open| menu_main
    menu_main -->|press 0| end_hangup
    menu_main -->|press 1| department_sales
    department_sales -->|no answer| staff_ivan
    staff_ivan -->|no answer| forward_ivan
    forward_ivan -->|no answer| end_voicemail_5fivan
    menu_main -->|no input| end_voicemail_5fsales
    menu_main -->|invalid input| end_hangup
    schedule0 -->|closed| end_closed
    number1 -->|24/7| end_external_5f_2b74957777777
"#;
        assert_eq!(got, want, "got:\n{got}");
    }

    #[test]
    fn one_number_as_dot() {
        let config = validate_text(YAML).unwrap();
        let got = Graph::of(&config.tenants[0], Some("+74950000002")).dot();
        let want = "digraph callflow {
    rankdir=LR;
    node [fontname=\"sans-serif\"];
    number1 [label=\"+74950000002\", shape=oval];
    end_external_5f_2b74957777777 [label=\"+74957777777 (outside)\", shape=note];
    number1 -> end_external_5f_2b74957777777 [label=\"24/7\"];
}
";
        assert_eq!(got, want, "got:\n{got}");
    }

    #[test]
    fn identifiers_of_different_names_differ() {
        assert_ne!(slug("отдел"), slug("отде"));
        assert_ne!(slug("a.b"), slug("a_b"));
        assert!(slug("продажи")
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'));
    }
}
