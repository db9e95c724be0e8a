//! `docs/errors.md` lists exactly the codes of `ErrorCode`, each with its meaning.

use bihuan_domain::ErrorCode;

#[test]
fn the_error_document_lists_exactly_the_codes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md");
    let doc = std::fs::read_to_string(path).expect("docs/errors.md");
    let listed: Vec<(String, String)> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| {
            let (code, rest) = l.split_once("` | ")?;
            Some((code.to_string(), rest.trim_end_matches(" |").to_string()))
        })
        .collect();
    let expected: Vec<(String, String)> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.meaning().to_string()))
        .collect();
    if listed != expected {
        let table: String = expected
            .iter()
            .map(|(c, m)| format!("| `{c}` | {m} |\n"))
            .collect();
        let missing: Vec<_> = expected.iter().filter(|e| !listed.contains(e)).collect();
        let extra: Vec<_> = listed.iter().filter(|e| !expected.contains(e)).collect();
        panic!(
            "docs/errors.md differs from ErrorCode.\nmissing: {missing:?}\nnot a code: {extra:?}\n\
             the table should read:\n{table}"
        );
    }
}

#[test]
fn every_domain_refusal_has_a_listed_code() {
    use bihuan_domain::DomainError;
    for e in [
        DomainError::AppealClosed,
        DomainError::NoReportDue,
        DomainError::invalid("title", "x"),
    ] {
        assert!(ErrorCode::parse(e.code()).is_some(), "{}", e.code());
    }
}

/// Every field a domain refusal names has a Chinese label (the message says `标题：不能为空`, not
/// `title：不能为空`): the fields are read from the sources' `invalid("…"` and `text("…"` calls.
#[test]
fn every_field_a_refusal_names_has_a_chinese_label() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut fields = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        for call in ["invalid(\"", "text(\""] {
            for part in src.split(call).skip(1) {
                let field = part.split('"').next().unwrap_or("");
                if !field.is_empty()
                    && field
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
                {
                    fields.insert(field.to_string());
                }
            }
        }
    }
    assert!(fields.len() > 20, "{fields:?}");
    let unlabelled: Vec<&String> = fields
        .iter()
        .filter(|f| bihuan_domain::error::field_label(f) == f.as_str())
        .collect();
    assert!(
        unlabelled.is_empty(),
        "fields without a Chinese label: {unlabelled:?}"
    );
}
