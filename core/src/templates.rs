//! Default records for new domains: the platform's template (set by administrators) and each
//! account's own. A domain created empty (`POST /api/v1/domains`) gets its owner's template,
//! or the platform's when the owner has none, as one `rrsets.update` change right after its
//! `domain.create`, checked by the same rules as any batch. A domain created from a zone file
//! gets the file instead.
//!
//! Names are relative to the new zone (`@`, `www`, `_dmarc`); `{domain}` in content stands for
//! the zone's name with its final dot, so `10 mail.{domain}` becomes `10 mail.example.com.`.

use std::collections::BTreeMap;

use apex_zone::content::{self, parse_type};
use apex_zone::name::{RecordName, ZoneName};
use apex_zone::rdata::{RrType, type_name};
use apex_zone::rrset::{Neighbourhood, Sibling, check_add};
use apex_zone::ttl::Ttl;
use serde::{Deserialize, Serialize};
use sqlx::{Postgres, Transaction};

use crate::actor::{Actor, Permission};
use crate::authz::{self, AccountAction, Request};
use crate::change_action::ChangeAction;
use crate::domain::Domain;
use crate::ids::UserId;
use crate::rrsets::{self, Meta, Target, Wanted};
use crate::{Core, CoreError};

/// Most records a template may hold.
pub const MAX_RECORDS: usize = 100;

/// One record of a template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateRecord {
    /// Owner relative to the new zone (`@` for the apex).
    pub name: String,
    /// Type mnemonic.
    #[serde(rename = "type")]
    pub rtype: String,
    /// Seconds; left out: 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// Content in presentation form; `{domain}` stands for the new zone's name with its dot.
    pub content: String,
}

/// A template: its records, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"records": [{"name": "@", "type": "MX", "ttl": 300, "content": "10 mail.{domain}"}]}))]
pub struct Template {
    /// The records a new domain gets.
    pub records: Vec<TemplateRecord>,
}

/// The zone a template is checked in when it is saved.
const PROBE: &str = "template.apex.invalid";

/// Checks a template as it would be applied to a zone: every name, type, TTL and content,
/// and the rules between its records.
fn check(core: &Core, template: &Template) -> Result<(), CoreError> {
    if template.records.len() > MAX_RECORDS {
        return Err(CoreError::invalid(
            "records",
            format!(
                "{} records; a template holds at most {MAX_RECORDS}",
                template.records.len()
            ),
        ));
    }
    let zone = ZoneName::parse(PROBE).map_err(|e| CoreError::Internal(e.to_string()))?;
    let (targets, at_index) = targets(core, &zone, template, "records")?;
    // The rules among the template's own records.
    let mut at: BTreeMap<String, Vec<(RrType, String)>> = BTreeMap::new();
    for t in &targets {
        at.entry(t.name.to_fqdn())
            .or_default()
            .extend(t.records.iter().map(|w| (t.rtype, w.content.clone())));
    }
    for (t, indices) in targets.iter().zip(&at_index) {
        let siblings = &at[&t.name.to_fqdn()];
        for (j, w) in t.records.iter().enumerate() {
            let mut skipped = false;
            let near = Neighbourhood {
                name: zone.relative(t.name.name()),
                at_apex: t.name.name() == zone.name(),
                siblings: siblings
                    .iter()
                    .filter(|(rt, c)| {
                        let me = !skipped && *rt == t.rtype && *c == w.content;
                        skipped |= me;
                        !me
                    })
                    .map(|(rt, c)| Sibling {
                        rtype: *rt,
                        content: c.as_str().into(),
                    })
                    .collect(),
                dname_above: None,
                has_descendants: false,
            };
            check_add(&near, t.rtype, &w.content)
                .map_err(|e| CoreError::invalid(format!("records[{}]", indices[j]), e))?;
        }
    }
    Ok(())
}

/// The template's records for `zone`, as RRsets (records of one name and type together, the
/// first TTL given for them theirs), and for each RRset the indices of its records in the
/// template. Field paths point into `records`.
fn targets(
    core: &Core,
    zone: &ZoneName,
    template: &Template,
    field: &str,
) -> Result<(Vec<Target>, Vec<Vec<usize>>), CoreError> {
    let apex = format!("{}.", zone.as_text());
    let mut out: Vec<Target> = Vec::new();
    let mut indices: Vec<Vec<usize>> = Vec::new();
    for (i, r) in template.records.iter().enumerate() {
        let at = |what: &str| format!("{field}[{i}].{what}");
        let name =
            RecordName::parse(&r.name, zone).map_err(|e| CoreError::invalid(at("name"), e))?;
        let rtype = parse_type(&r.rtype).map_err(|e| CoreError::invalid(at("type"), e))?;
        let ttl = r
            .ttl
            .map(|t| Ttl::new(t, core.platform.ttl).map_err(|e| CoreError::invalid(at("ttl"), e)))
            .transpose()?;
        let text = r.content.replace("{domain}", &apex);
        let wire =
            content::parse(rtype, &text, None).map_err(|e| CoreError::invalid(at("content"), e))?;
        let canonical =
            content::format(rtype, &wire).map_err(|e| CoreError::Internal(e.to_string()))?;
        let wanted = Wanted {
            content: canonical,
            wire,
            meta: Meta::Listed,
        };
        match out
            .iter_mut()
            .position(|t| t.name.to_fqdn() == name.to_fqdn() && t.rtype == rtype)
        {
            Some(k) => {
                let t = &mut out[k];
                indices[k].push(i);
                if t.records.iter().any(|w| w.content == wanted.content) {
                    return Err(CoreError::invalid(
                        at("content"),
                        format!("the same {} record is given twice", type_name(rtype)),
                    ));
                }
                t.records.push(wanted);
            }
            None => {
                indices.push(vec![i]);
                out.push(Target {
                    name,
                    rtype,
                    ttl,
                    records: vec![wanted],
                    field: format!("{field}[{i}]"),
                    exact: false,
                });
            }
        }
    }
    Ok((out, indices))
}

async fn read(pool: &sqlx::PgPool, user: Option<UserId>) -> Result<Template, CoreError> {
    let records = sqlx::query!(
        r#"SELECT name, type AS rtype, ttl, content FROM record_templates
            WHERE user_id IS NOT DISTINCT FROM $1 ORDER BY position"#,
        user.map(|u| u.0),
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| TemplateRecord {
        name: r.name,
        rtype: r.rtype,
        ttl: r.ttl.map(i64::from),
        content: r.content,
    })
    .collect();
    Ok(Template { records })
}

async fn write(
    core: &Core,
    user: Option<UserId>,
    template: &Template,
) -> Result<Template, CoreError> {
    check(core, template)?;
    let mut tx = core.pool.begin().await?;
    sqlx::query!(
        "DELETE FROM record_templates WHERE user_id IS NOT DISTINCT FROM $1",
        user.map(|u| u.0)
    )
    .execute(&mut *tx)
    .await?;
    let positions: Vec<i32> = (0..template.records.len())
        .map(|i| i32::try_from(i).unwrap_or(i32::MAX))
        .collect();
    let names: Vec<String> = template.records.iter().map(|r| r.name.clone()).collect();
    let types: Vec<String> = template
        .records
        .iter()
        .map(|r| r.rtype.to_ascii_uppercase())
        .collect();
    let ttls: Vec<Option<i32>> = template
        .records
        .iter()
        .map(|r| r.ttl.and_then(|t| i32::try_from(t).ok()))
        .collect();
    let contents: Vec<String> = template.records.iter().map(|r| r.content.clone()).collect();
    sqlx::query!(
        "INSERT INTO record_templates (user_id, position, name, type, ttl, content)
         SELECT $1, * FROM UNNEST($2::int[], $3::text[], $4::text[], $5::int[], $6::text[])",
        user.map(|u| u.0),
        &positions,
        &names,
        &types,
        &ttls as &[Option<i32>],
        &contents,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    read(&core.pool, user).await
}

/// The actor's own template (empty: new domains get the platform's).
pub async fn own(core: &Core, actor: &Actor) -> Result<Template, CoreError> {
    let user = authz::account(actor, AccountAction::Read)?;
    read(&core.pool, Some(user)).await
}

/// Replaces the actor's own template (an empty list: new domains get the platform's).
pub async fn set_own(
    core: &Core,
    actor: &Actor,
    template: &Template,
) -> Result<Template, CoreError> {
    let user = authz::account(actor, AccountAction::Manage)?;
    write(core, Some(user), template).await
}

/// The platform's template (needs the `manage_domains` platform role).
pub async fn platform(core: &Core, actor: &Actor) -> Result<Template, CoreError> {
    authz::authorize(actor, Request::Platform(Permission::ManageDomains))?;
    read(&core.pool, None).await
}

/// Replaces the platform's template (needs the `manage_domains` platform role).
pub async fn set_platform(
    core: &Core,
    actor: &Actor,
    template: &Template,
) -> Result<Template, CoreError> {
    authz::authorize(actor, Request::Platform(Permission::ManageDomains))?;
    write(core, None, template).await
}

/// Gives a new `domain` the template of `owner`, or the platform's, as one change in the
/// caller's transaction; none when both are empty.
pub(crate) async fn apply(
    tx: &mut Transaction<'_, Postgres>,
    core: &Core,
    actor: &Actor,
    domain: &Domain,
    owner: UserId,
) -> Result<Option<crate::changes::Change>, CoreError> {
    let mut template = read(&core.pool, Some(owner)).await?;
    if template.records.is_empty() {
        template = read(&core.pool, None).await?;
    }
    if template.records.is_empty() {
        return Ok(None);
    }
    let in_template = |e: CoreError| match e {
        CoreError::Invalid { field, message } => CoreError::invalid(
            "name",
            format!("the default records (template) do not fit this domain: {field}: {message}"),
        ),
        other => other,
    };
    let (targets, _) = targets(core, &domain.zone, &template, "records").map_err(in_template)?;
    let outcome = rrsets::apply(
        core,
        tx,
        actor,
        domain,
        targets,
        rrsets::How {
            action: ChangeAction::RrsetsUpdate,
            dry_run: false,
            check: rrsets::Check::Authorized,
        },
    )
    .await
    .map_err(in_template)?;
    Ok(outcome.change)
}
