//! `/domains/{name}/history`: the domain's changes, newest first, who made each and through
//! what (the dashboard, an API key, an import, the command line, DNS UPDATE), each with its
//! diff. (Reverting a change comes with the API's history issue; its button goes next to
//! each entry.)

use apex_core::ids::ChangeId;
use apex_core::{Core, changes};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use super::receipt::action_words;
use super::{DomainHead, path_segment};
use crate::page::{Chrome, Failure, failure_page, render};
use crate::session::Viewer;

/// Changes per page.
const PER_PAGE: i64 = 25;

/// Lines of a diff shown per change.
const MAX_LINES: usize = 40;

/// One line of a diff: `+` added, `-` removed, `~` changed in place.
pub(crate) struct DiffLine {
    pub sign: char,
    pub text: String,
}

impl DiffLine {
    fn new(sign: char, text: impl Into<String>) -> Self {
        Self {
            sign,
            text: text.into(),
        }
    }

    /// The CSS class of its sign.
    pub(crate) fn class(&self) -> &'static str {
        match self.sign {
            '+' => "diff-add",
            '-' => "diff-del",
            _ => "",
        }
    }

    /// The sign in words, for screen readers.
    pub(crate) fn words(&self) -> &'static str {
        match self.sign {
            '+' => "added",
            '-' => "removed",
            _ => "changed",
        }
    }
}

/// A record as one zone-file-like line.
fn record_line(r: &Value) -> String {
    let s = |k: &str| match r.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let line = format!("{} {} {} {}", s("name"), s("ttl"), s("type"), s("content"));
    match s("comment") {
        c if c.is_empty() => line,
        c => format!("{line} ; {c}"),
    }
}

/// `prefix.key = value` for every leaf of a JSON object.
fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

/// The diff of a change, from what it stored before and after.
pub(crate) fn diff(before: Option<&Value>, after: Option<&Value>) -> Vec<DiffLine> {
    let mut lines = Vec::new();
    match (before, after) {
        // Record changes: the records before and after.
        (b, a) if b.is_none_or(Value::is_array) && a.is_none_or(Value::is_array) => {
            let list = |v: Option<&Value>| -> Vec<String> {
                v.and_then(Value::as_array)
                    .map(|a| a.iter().map(record_line).collect())
                    .unwrap_or_default()
            };
            let (old, new) = (list(b), list(a));
            lines.extend(
                old.iter()
                    .filter(|l| !new.contains(l))
                    .map(|l| DiffLine::new('-', l)),
            );
            lines.extend(
                new.iter()
                    .filter(|l| !old.contains(l))
                    .map(|l| DiffLine::new('+', l)),
            );
        }
        // An import: what it removed, added and updated (counted, listed up to a limit).
        (b, Some(a)) if a.get("added").is_some() => {
            // Each part is the records (an array), or `{"count": n}` when there were too
            // many to keep.
            let part = |v: Option<&Value>, sign: char, lines: &mut Vec<DiffLine>| match v {
                Some(Value::Array(records)) => {
                    lines.extend(records.iter().map(|r| DiffLine::new(sign, record_line(r))));
                }
                Some(v) => {
                    if let Some(n) = v.get("count").and_then(Value::as_u64) {
                        lines.push(DiffLine::new(sign, format!("{n} records")));
                    }
                }
                None => {}
            };
            part(b.and_then(|b| b.get("removed")), '-', &mut lines);
            part(a.get("added"), '+', &mut lines);
            part(a.get("updated"), '~', &mut lines);
        }
        // Settings: each value that changed.
        (b, a) => {
            let (mut old, mut new) = (Vec::new(), Vec::new());
            if let Some(b) = b {
                flatten("", b, &mut old);
            }
            if let Some(a) = a {
                flatten("", a, &mut new);
            }
            for (k, v) in &new {
                match old.iter().find(|(ok, _)| ok == k) {
                    Some((_, ov)) if ov == v => {}
                    Some((_, ov)) => {
                        lines.push(DiffLine::new('-', format!("{k} = {ov}")));
                        lines.push(DiffLine::new('+', format!("{k} = {v}")));
                    }
                    None => lines.push(DiffLine::new('+', format!("{k} = {v}"))),
                }
            }
            for (k, ov) in &old {
                if !new.iter().any(|(nk, _)| nk == k) {
                    lines.push(DiffLine::new('-', format!("{k} = {ov}")));
                }
            }
        }
    }
    if lines.len() > MAX_LINES {
        let more = lines.len() - MAX_LINES;
        lines.truncate(MAX_LINES);
        lines.push(DiffLine::new('~', format!("… and {more} more lines")));
    }
    lines
}

/// One change as the page shows it.
struct Item {
    id: ChangeId,
    what: &'static str,
    when: String,
    by: String,
    via: String,
    serial: Option<u32>,
    state: &'static str,
    lines: Vec<DiffLine>,
}

#[derive(Template)]
#[template(path = "history.html")]
struct HistoryPage {
    chrome: Chrome,
    head: DomainHead,
    items: Vec<Item>,
    older: Option<String>,
}

/// `?before=<change id>`.
#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    before: Option<i64>,
}

/// Through what, in words.
fn via_words(via: &str, key: Option<i64>) -> String {
    match (via, key) {
        ("api", Some(k)) => format!("the API (key {k})"),
        ("api", None) => "the API".into(),
        ("web", _) => "the dashboard".into(),
        ("cli", _) => "the command line".into(),
        ("import", _) => "a zone-file import".into(),
        ("dns-update", _) => "DNS UPDATE".into(),
        (other, _) => other.to_string(),
    }
}

/// `GET /domains/{name}/history`.
pub(crate) async fn show(
    State(core): State<Core>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Response {
    let chrome = viewer.chrome.at("domains");
    let domain = match super::load(&core, &viewer, &name).await {
        Ok(d) => d,
        Err(page) => return page,
    };
    let entries = match changes::history(
        &core.pool,
        &viewer.actor,
        &name,
        q.before.map(ChangeId),
        PER_PAGE + 1,
    )
    .await
    {
        Ok(e) => e,
        Err(e) => return failure_page(Failure::from(e), chrome),
    };
    // One more than a page was asked for: it says whether there are older changes.
    let mut entries = entries;
    let more = entries.len() as i64 > PER_PAGE;
    entries.truncate(usize::try_from(PER_PAGE).unwrap_or(25));
    let older = more
        .then(|| {
            entries.last().map(|e| {
                format!(
                    "/domains/{}/history?before={}",
                    path_segment(&domain.name),
                    e.change.id
                )
            })
        })
        .flatten();
    let items = entries
        .into_iter()
        .map(|e| {
            let c = e.change;
            let mut by = c.by.user.clone().unwrap_or_else(|| match c.by.api_key_id {
                Some(k) => format!("domain key {k}"),
                None => "the platform".into(),
            });
            if let Some(admin) = &c.by.impersonator {
                by = format!("{admin}, acting as {by}");
            }
            Item {
                id: c.id,
                what: action_words(c.action),
                when: c.created_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                via: via_words(&c.by.via, c.by.api_key_id.map(|k| k.0)),
                by,
                serial: c.serial,
                state: c.state.as_str(),
                lines: diff(e.before.as_ref(), e.after.as_ref()),
            }
        })
        .collect();
    render(
        StatusCode::OK,
        &HistoryPage {
            chrome,
            head: DomainHead::of(&domain, "history"),
            items,
            older,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(lines: &[DiffLine]) -> Vec<String> {
        lines
            .iter()
            .map(|l| format!("{}{}", l.sign, l.text))
            .collect()
    }

    #[test]
    fn record_changes() {
        let before = json!([{"name": "www", "type": "A", "ttl": 300, "content": "192.0.2.1"}]);
        let after = json!([{"name": "www", "type": "A", "ttl": 300, "content": "192.0.2.2"}]);
        assert_eq!(
            text(&diff(Some(&before), Some(&after))),
            ["-www 300 A 192.0.2.1", "+www 300 A 192.0.2.2"]
        );
        assert_eq!(text(&diff(None, Some(&after))), ["+www 300 A 192.0.2.2"]);
    }

    #[test]
    fn imports_and_settings() {
        let before = json!({"removed": []});
        let after = json!({"added": [{"name": "a", "type": "A", "ttl": 60, "content": "192.0.2.9"}],
                           "updated": {"count": 1200}, "mode": "merge"});
        assert_eq!(
            text(&diff(Some(&before), Some(&after))),
            ["+a 60 A 192.0.2.9", "~1200 records"]
        );
        let before = json!({"soa": {"refresh": 7200}, "dnssec": {"state": "off"}});
        let after = json!({"soa": {"refresh": 3600}, "dnssec": {"state": "off"}});
        assert_eq!(
            text(&diff(Some(&before), Some(&after))),
            ["-soa.refresh = 7200", "+soa.refresh = 3600"]
        );
    }
}
