//! Rendering a `Plan`: `human` (terminal), `json` (the versioned `Plan` shape) and `markdown`
//! (a pull-request comment). Personal data is masked unless the caller asks for it.

use super::plan::{Action, Change, Field, Plan};
use std::fmt::Write;

/// An output format of `pbx plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
    Markdown,
}

/// Renders `plan`; `show_sensitive` prints mobile numbers and e-mails unmasked.
pub fn render(plan: &Plan, format: PlanFormat, show_sensitive: bool) -> String {
    let plan = if show_sensitive {
        plan.clone()
    } else {
        masked(plan)
    };
    match format {
        PlanFormat::Human => human(&plan),
        PlanFormat::Json => {
            let mut s = serde_json::to_string_pretty(&plan).expect("a plan always serializes");
            s.push('\n');
            s
        }
        PlanFormat::Markdown => markdown(&plan),
    }
}

/// The summary line: `Plan: 1 to add, 2 to change, 0 to remove.`
pub fn summary_line(plan: &Plan) -> String {
    let s = plan.summary;
    if plan.is_empty() {
        "No changes: the config matches what is applied.".to_string()
    } else {
        format!(
            "Plan: {} to add, {} to change, {} to remove.",
            s.add, s.change, s.remove
        )
    }
}

fn masked(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    for c in &mut plan.changes {
        for f in &mut c.fields {
            for side in [&mut f.before, &mut f.after].into_iter().flatten() {
                if side.sensitive {
                    side.value = mask(&side.value);
                }
            }
        }
    }
    plan
}

/// `+79161234567` -> `+7916*****67`; `maria@example.com` -> `m***@example.com`.
pub fn mask(value: &str) -> String {
    if let Some((local, domain)) = value.split_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..5].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

fn sign(a: Action) -> char {
    match a {
        Action::Add => '+',
        Action::Change => '~',
        Action::Remove => '-',
    }
}

fn title(c: &Change) -> String {
    let verb = match c.action {
        Action::Add => "add",
        Action::Change => "change",
        Action::Remove => "remove",
    };
    match &c.tenant {
        Some(t) => format!("{} {verb} {} {t}/{}", sign(c.action), c.kind, c.id),
        None => format!("{} {verb} {} {}", sign(c.action), c.kind, c.id),
    }
}

fn show(f: &Field) -> String {
    if f.generated {
        format!("{:?} (generated)", f.value)
    } else {
        format!("{:?}", f.value)
    }
}

fn body(c: &Change, out: &mut String) {
    for f in &c.fields {
        let line = match (&f.before, &f.after) {
            (Some(b), Some(a)) => format!("{}: {} -> {}", f.field, show(b), show(a)),
            (Some(b), None) if c.action == Action::Remove => format!("{}: {}", f.field, show(b)),
            (Some(b), None) => format!("{}: {} -> (unset)", f.field, show(b)),
            (None, Some(a)) if c.action == Action::Add => format!("{}: {}", f.field, show(a)),
            (None, Some(a)) => format!("{}: (unset) -> {}", f.field, show(a)),
            (None, None) => continue,
        };
        let _ = writeln!(out, "      {line}");
    }
}

fn human(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", summary_line(plan));
    for r in &plan.restart_required {
        let _ = writeln!(
            out,
            "Restart required: `{r}` changes only when the server restarts."
        );
    }
    for n in &plan.notes {
        let _ = writeln!(out, "Note: tenant {}: {}", n.tenant, n.message);
    }
    for c in &plan.changes {
        out.push('\n');
        let _ = writeln!(out, "{}", title(c));
        body(c, &mut out);
    }
    out
}

fn markdown(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "### pbx plan\n\n**{}**\n", summary_line(plan));
    for r in &plan.restart_required {
        let _ = writeln!(
            out,
            "> Restart required: `{r}` changes only when the server restarts.\n"
        );
    }
    for n in &plan.notes {
        let _ = writeln!(out, "> **Note** (tenant `{}`): {}\n", n.tenant, n.message);
    }
    if !plan.is_empty() {
        out.push_str("```diff\n");
        for c in &plan.changes {
            let _ = writeln!(out, "{}", title(c));
            body(c, &mut out);
        }
        out.push_str("```\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_personal_data() {
        assert_eq!(mask("+79161234567"), "+7916*****67");
        assert_eq!(mask("maria@example.com"), "m***@example.com");
        assert_eq!(mask("+7916"), "*****");
    }
}
