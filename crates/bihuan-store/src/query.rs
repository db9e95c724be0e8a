//! The WHERE clauses of appeal lists, shared by both stores. Placeholders are written `?`; the
//! PostgreSQL store numbers them.

use crate::{AppealFilter, Catalog};

/// A query argument, in the types both databases take.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(i64),
    Text(String),
    /// A set of ids, bound as one argument (a JSON array for SQLite, an array for PostgreSQL).
    Ids(Vec<i64>),
}

/// The snake_case code of a serde enum (`Status::InProgress` → `in_progress`).
pub(crate) fn code<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => panic!("not a unit enum: {other:?}"),
    }
}

pub(crate) fn secs(t: bihuan_domain::time::Instant) -> i64 {
    t.timestamp()
}

/// The WHERE clauses and their arguments for a filter (shared by lists and counts).
/// `ids_sql` is the store's subquery over one bound id set (`SELECT value FROM json_each(?)`,
/// `SELECT unnest(?::bigint[])`): one statement text whatever the set's size, so it is prepared
/// once.
pub(crate) fn filter_clauses(
    catalog: &Catalog,
    f: &AppealFilter,
    ids_sql: &str,
) -> (Vec<String>, Vec<Arg>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    use Arg as V;
    if let Some(ids) = &f.ids {
        if ids.is_empty() {
            clauses.push("1 = 0".into());
        } else {
            clauses.push(format!("id IN ({ids_sql})"));
            args.push(V::Ids(ids.iter().map(|i| i.0 as i64).collect()));
        }
    }
    if !f.status.is_empty() {
        clauses.push(format!(
            "status IN ({})",
            vec!["?"; f.status.len()].join(",")
        ));
        args.extend(f.status.iter().map(|s| V::Text(code(s))));
    }
    if let Some(u) = f.lead {
        clauses.push("lead = ?".into());
        args.push(V::Int(u.0 as i64));
    }
    if let Some(u) = f.township {
        clauses.push("township = ?".into());
        args.push(V::Int(u.0 as i64));
    }
    if let Some(c) = f.category {
        // The category and everything below it.
        let mut ids = vec![c];
        let mut frontier = vec![c];
        while let Some(p) = frontier.pop() {
            for child in catalog.categories.iter().filter(|x| x.parent == Some(p)) {
                ids.push(child.id);
                frontier.push(child.id);
            }
        }
        clauses.push(format!("category IN ({})", vec!["?"; ids.len()].join(",")));
        args.extend(ids.iter().map(|i| V::Int(i.0 as i64)));
    }
    if let Some(ch) = f.channel {
        clauses.push("channel = ?".into());
        args.push(V::Text(code(&ch)));
    }
    if let Some(k) = f.kind {
        clauses.push("kind = ?".into());
        args.push(V::Text(code(&k)));
    }
    if let Some(r) = f.regime {
        clauses.push("regime = ?".into());
        args.push(V::Text(code(&r)));
    }
    let now = f.now.map(secs).unwrap_or(0);
    match f.overdue {
        Some(true) => {
            clauses.push("next_due < ?".into());
            args.push(V::Int(now));
        }
        Some(false) => {
            clauses.push("(next_due IS NULL OR next_due >= ?)".into());
            args.push(V::Int(now));
        }
        None => {}
    }
    match f.due_soon {
        Some(true) => {
            clauses.push("(due_soon_at <= ? AND next_due >= ?)".into());
            args.push(V::Int(now));
            args.push(V::Int(now));
        }
        Some(false) => {
            clauses.push(
                "NOT (due_soon_at IS NOT NULL AND due_soon_at <= ? AND next_due >= ?)".into(),
            );
            args.push(V::Int(now));
            args.push(V::Int(now));
        }
        None => {}
    }
    if let Some(t) = f.from {
        clauses.push("registered_at >= ?".into());
        args.push(V::Int(secs(t)));
    }
    if let Some(t) = f.to {
        clauses.push("registered_at < ?".into());
        args.push(V::Int(secs(t)));
    }
    if let Some(t) = f.active_since {
        clauses.push("updated_at >= ?".into());
        args.push(V::Int(secs(t)));
    }
    if let Some(u) = f.owner {
        clauses.push("owner = ?".into());
        args.push(V::Int(u.0 as i64));
    }
    if let Some(u) = f.registered_by {
        clauses.push("registered_by = ?".into());
        args.push(V::Int(u.0 as i64));
    }
    if let Some(identity) = &f.citizen {
        clauses.push("citizen_key = ?".into());
        args.push(V::Text(crate::citizen_key(identity)));
    }
    if let Some(ff) = &f.fact {
        let (sub, fact_args) = fact_ids_sql(ff, now);
        clauses.push(format!("id IN ({sub})"));
        args.extend(fact_args);
    }
    if let Some(units) = &f.involving {
        if units.is_empty() {
            clauses.push("1 = 0".into());
        } else {
            clauses.push(format!(
                "id IN (SELECT appeal_id FROM appeal_units WHERE unit_id IN ({}))",
                vec!["?"; units.len()].join(",")
            ));
            args.extend(units.iter().map(|u| V::Int(u.0 as i64)));
        }
    }
    if let Some(u) = f.hidden_from {
        // An accused person's row in `appeal_units` ([`crate::access_rows`]).
        clauses.push("id NOT IN (SELECT appeal_id FROM appeal_units WHERE unit_id = ?)".into());
        args.push(V::Int(-i64::from(u.0)));
    }
    if let crate::Sort::Deadline(d) = f.sort {
        // Sorted by one deadline: the appeals whose deadline runs (the count agrees).
        clauses.push(format!("{} IS NOT NULL", d.column()));
    }
    (clauses, args)
}

/// The sort of a list: the key each row is read with (`SELECT id, <key>, state`), the ORDER BY,
/// and — after a cursor — the condition for the rows after it, pushed onto the filter's.
pub(crate) fn order_clause(
    sort: crate::Sort,
    cursor: Option<&str>,
    clauses: &mut Vec<String>,
    args: &mut Vec<Arg>,
) -> crate::Result<(String, String)> {
    use crate::Sort;
    let bad_cursor = || {
        crate::StoreError::invalid(
            bihuan_domain::ErrorCode::BadCursor,
            "分页游标无效，请从第一页重新查询",
        )
    };
    let key = match sort {
        Sort::Newest => "id".to_string(),
        Sort::DueFirst => format!("COALESCE(next_due, {})", i64::MAX),
        Sort::Deadline(d) => d.column().to_string(),
    };
    if let Some(c) = cursor {
        if sort == Sort::Newest {
            let id: i64 = c.parse().map_err(|_| bad_cursor())?;
            clauses.push("id < ?".into());
            args.push(Arg::Int(id));
        } else {
            let (k, id) = c.split_once(':').ok_or_else(bad_cursor)?;
            let k: i64 = k.parse().map_err(|_| bad_cursor())?;
            let id: i64 = id.parse().map_err(|_| bad_cursor())?;
            clauses.push(format!("({key} > ? OR ({key} = ? AND id > ?))"));
            args.extend([Arg::Int(k), Arg::Int(k), Arg::Int(id)]);
        }
    }
    let order = match sort {
        Sort::Newest => "ORDER BY id DESC".to_string(),
        _ => format!("ORDER BY {key}, id"),
    };
    Ok((key, order))
}

/// The cursor after the row `(id, key)` of a list in this sort.
pub(crate) fn cursor_after(sort: crate::Sort, id: i64, key: i64) -> String {
    match sort {
        crate::Sort::Newest => id.to_string(),
        _ => format!("{key}:{id}"),
    }
}

/// The condition on `appeal_facts` rows of a fact filter, and its arguments.
fn fact_condition(ff: &crate::FactFilter, now: i64) -> (String, Vec<Arg>) {
    use crate::rollups::day_bucket;
    use crate::{FactFilter, FactPart};
    let unit_arg = |u: &Option<bihuan_domain::org::UnitId>| u.map(|u| Arg::Int(u.0 as i64));
    match ff {
        FactFilter::Counted {
            metric,
            first,
            last,
            unit,
            part,
        } => {
            let mut cond = "metric = ? AND day BETWEEN ? AND ?".to_string();
            let mut args = vec![
                Arg::Text(metric.code().into()),
                Arg::Int(day_bucket(*first)),
                Arg::Int(day_bucket(*last)),
            ];
            if let Some(a) = unit_arg(unit) {
                cond.push_str(" AND unit = ?");
                args.push(a);
            }
            match part {
                FactPart::Den => cond.push_str(" AND (den > 0 OR (pending > 0 AND due < ?))"),
                FactPart::Num => cond.push_str(" AND num > 0"),
                FactPart::Missed => cond.push_str(" AND (den > num OR (pending > 0 AND due < ?))"),
            }
            if *part != FactPart::Num {
                args.push(Arg::Int(now));
            }
            (cond, args)
        }
        FactFilter::OverdueAt { day, unit } => {
            let mut cond = "metric IN ('overdue_from', 'overdue_until') AND day < ?".to_string();
            let mut args = vec![Arg::Int(day_bucket(*day))];
            if let Some(a) = unit_arg(unit) {
                cond.push_str(" AND unit = ?");
                args.push(a);
            }
            (cond, args)
        }
    }
}

/// The ids of the appeals a fact filter selects, each once: a subquery over `appeal_facts`.
fn fact_ids_sql(ff: &crate::FactFilter, now: i64) -> (String, Vec<Arg>) {
    let (cond, args) = fact_condition(ff, now);
    let sql = match ff {
        crate::FactFilter::Counted { .. } => {
            format!("SELECT DISTINCT appeal_id FROM appeal_facts WHERE {cond}")
        }
        crate::FactFilter::OverdueAt { .. } => format!(
            "SELECT appeal_id FROM appeal_facts WHERE {cond} GROUP BY appeal_id
             HAVING SUM(CASE WHEN metric = 'overdue_from' THEN den ELSE -den END) > 0"
        ),
    };
    (sql, args)
}

/// The count of a filter's appeals. A drill-down with no other filter (the figure's own list)
/// is counted in `appeal_facts` alone: at a million appeals, counting a quarter's 250,000 ids
/// through the appeals table read each wide row (about 600 ms on SQLite; 200 ms this way).
pub(crate) fn count_sql(catalog: &Catalog, f: &AppealFilter, ids_sql: &str) -> (String, Vec<Arg>) {
    if let Some(ff) = &f.fact {
        let rest = AppealFilter {
            fact: None,
            hidden_from: None,
            ..f.clone()
        };
        if filter_clauses(catalog, &rest, ids_sql).0.is_empty() {
            let (sub, mut args) = fact_ids_sql(ff, f.now.map(secs).unwrap_or(0));
            // A reader named as an accused person (every scoped query says who reads).
            let hidden = match f.hidden_from {
                Some(u) => {
                    args.push(Arg::Int(-i64::from(u.0)));
                    " WHERE appeal_id NOT IN (SELECT appeal_id FROM appeal_units WHERE unit_id = ?)"
                }
                None => "",
            };
            return (format!("SELECT COUNT(*) FROM ({sub}) ids{hidden}"), args);
        }
    }
    let (clauses, args) = filter_clauses(catalog, f, ids_sql);
    (
        format!("SELECT COUNT(*) FROM appeals {}", where_sql(&clauses)),
        args,
    )
}

/// The facts a filter's appeals contribute (see `AppealStore::count_facts`): the statement
/// and its arguments, `None` when the filter counts no facts.
pub(crate) fn fact_count_sql(
    catalog: &Catalog,
    f: &AppealFilter,
    ids_sql: &str,
) -> Option<(String, Vec<Arg>)> {
    use crate::{FactFilter, FactPart};
    let ff @ FactFilter::Counted { part, .. } = f.fact.as_ref()? else {
        return None;
    };
    let now = f.now.map(secs).unwrap_or(0);
    let (cond, mut args) = fact_condition(ff, now);
    // The other filters, on the appeals the facts belong to.
    let rest = AppealFilter {
        fact: None,
        ..f.clone()
    };
    let (clauses, rest_args) = filter_clauses(catalog, &rest, ids_sql);
    let missed = "CASE WHEN pending > 0 AND due < ? THEN pending ELSE 0 END";
    let weight = match part {
        FactPart::Den => format!("den + {missed}"),
        FactPart::Num => "num".to_string(),
        FactPart::Missed => format!("den - num + {missed}"),
    };
    let mut all_args = Vec::new();
    if *part != FactPart::Num {
        all_args.push(Arg::Int(now));
    }
    all_args.append(&mut args);
    let mut sql =
        format!("SELECT CAST(COALESCE(SUM({weight}), 0) AS BIGINT) FROM appeal_facts WHERE {cond}");
    if !clauses.is_empty() {
        sql.push_str(&format!(
            " AND appeal_id IN (SELECT id FROM appeals {})",
            where_sql(&clauses)
        ));
        all_args.extend(rest_args);
    }
    Some((sql, all_args))
}

pub(crate) fn where_sql(clauses: &[String]) -> String {
    if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    }
}

/// `?` placeholders numbered `$1, $2 …` for PostgreSQL (the SQL here never holds a literal `?`).
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for ch in sql.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}
