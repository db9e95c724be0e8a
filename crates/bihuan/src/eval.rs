//! `bihuan eval`: the routing classifier and the duplicate check, scored on labelled files.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context as _};
use bihuan_smart::classify::{train, Options};
use bihuan_smart::eval::{cross_validate, duplicates, stratified_folds, Message};
use bihuan_smart::text::Tokenizer;

/// Reads a `label,text` CSV with a header.
pub fn read_labelled(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, row) in r.records().enumerate() {
        let row = row.with_context(|| format!("{} line {}", path.display(), i + 2))?;
        let (Some(l), Some(t)) = (row.get(0), row.get(1)) else {
            bail!("{} line {}: expected label,text", path.display(), i + 2);
        };
        if !l.trim().is_empty() && !t.trim().is_empty() {
            out.push((l.trim().to_string(), t.to_string()));
        }
    }
    if out.is_empty() {
        bail!("{} has no labelled rows", path.display());
    }
    Ok(out)
}

/// Cross-validates the classifier and, in the same run, the scikit-learn baseline on the same
/// folds.
pub fn classify(path: &Path, folds: usize, python: &str) -> anyhow::Result<String> {
    if !(2..=20).contains(&folds) {
        bail!("--folds must be between 2 and 20");
    }
    let data = read_labelled(path)?;
    let labels: Vec<&str> = data.iter().map(|(l, _)| l.as_str()).collect();
    let fold = stratified_folds(&labels, folds, 7);
    let tok = Tokenizer::default();
    let options = Options::default();
    let mut out = String::new();
    let report = cross_validate(&tok, &data, &fold, &options)?;
    writeln!(
        out,
        "bihuan classifier (jieba words + character 1–{}-grams, sublinear TF-IDF, linear SVM, balanced), {} rows, {}-fold stratified CV:",
        options.max_ngram, report.rows, report.folds
    )?;
    writeln!(
        out,
        "  accuracy {:.4}  macro-F1 {:.4}  train {:.2} s/fold  features {}  classify {:.0}/s (one thread, tokenising included)",
        report.accuracy, report.macro_f1, report.train_seconds, report.features, report.per_second
    )?;
    writeln!(
        out,
        "  {:<16} {:>9} {:>9} {:>9} {:>8}",
        "class", "precision", "recall", "F1", "support"
    )?;
    for c in &report.per_class {
        writeln!(
            out,
            "  {:<16} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            c.class, c.precision, c.recall, c.f1, c.support
        )?;
    }

    // Throughput on one core: a model trained on everything classifies every text, repeated
    // for at least two seconds.
    let model = train(&tok, &data, &options)?;
    let t = Instant::now();
    let mut n = 0usize;
    let mut checksum = 0usize;
    while t.elapsed().as_secs_f64() < 2.0 {
        for (_, text) in &data {
            checksum += model.best(&tok, text).len();
            n += 1;
        }
    }
    let per_s = n as f64 / t.elapsed().as_secs_f64();
    // Anchor in the same run: jieba's cut alone over the same texts (the classifier cuts each
    // text once, then counts characters and looks up features).
    let t = Instant::now();
    let mut cut = 0usize;
    while t.elapsed().as_secs_f64() < 2.0 {
        for (_, text) in &data {
            checksum += tok.words(&bihuan_smart::text::normalise(text)).len();
            cut += 1;
        }
    }
    let cut_s = cut as f64 / t.elapsed().as_secs_f64();
    let mean_chars =
        data.iter().map(|(_, t)| t.chars().count()).sum::<usize>() as f64 / data.len() as f64;
    writeln!(
        out,
        "  throughput: {per_s:.0} classifications/s on one thread ({n} texts of {mean_chars:.0} characters on average)\n  anchor, same run: jieba cut alone {cut_s:.0} texts/s; classification costs {:.2}× a cut (checksum {checksum})",
        cut_s / per_s
    )?;

    // The baseline, same folds, same run.
    let dir = std::env::temp_dir().join(format!("bihuan-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let folds_file = dir.join("folds.txt");
    std::fs::write(
        &folds_file,
        fold.iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/classify_baseline.py");
    let run = std::process::Command::new(python)
        .arg(&script)
        .arg(path)
        .arg(&folds_file)
        .output();
    match run {
        Ok(o) if o.status.success() => {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
            let f1 = v["macro_f1"].as_f64().unwrap_or(0.0);
            writeln!(
                out,
                "baseline (scikit-learn {} TF-IDF over jieba words + LinearSVC), same folds, same run:\n  accuracy {:.4}  macro-F1 {:.4}  train {:.2} s/fold  classify {:.0}/s (batch, tokenising excluded)",
                v["sklearn"].as_str().unwrap_or("?"),
                v["accuracy"].as_f64().unwrap_or(0.0),
                f1,
                v["train_s"].as_f64().unwrap_or(0.0),
                v["per_second_batch_no_tokenising"].as_f64().unwrap_or(0.0),
            )?;
            writeln!(
                out,
                "macro-F1 bihuan − baseline: {:+.4}",
                report.macro_f1 - f1
            )?;
        }
        Ok(o) => writeln!(
            out,
            "baseline skipped: {python} failed ({}); `pip install scikit-learn jieba` or pass --python",
            String::from_utf8_lossy(&o.stderr).lines().last().unwrap_or("")
        )?,
        Err(e) => writeln!(out, "baseline skipped: cannot run {python}: {e}")?,
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(out)
}

/// Reads the messages CSV (`id,user,subject,created,detail,…`): rows sharing a subject are
/// the same matter.
pub fn read_messages(path: &Path) -> anyhow::Result<Vec<Message>> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let headers = r.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{} has no column {name}", path.display()))
    };
    let (id, user, subject, detail, created) = (
        col("id")?,
        col("user")?,
        col("subject")?,
        col("detail")?,
        col("created")?,
    );
    let mut out = Vec::new();
    for (i, row) in r.records().enumerate() {
        let row = row.with_context(|| format!("{} line {}", path.display(), i + 2))?;
        let at =
            crate::import::parse_time(row.get(created).unwrap_or(""), bihuan_domain::time::cst())
                .map(|t| t.timestamp())
                .unwrap_or(0);
        out.push(Message {
            id: row.get(id).unwrap_or("").trim().to_string(),
            group: row.get(subject).unwrap_or("").trim().to_string(),
            title: row.get(subject).unwrap_or("").to_string(),
            text: row.get(detail).unwrap_or("").to_string(),
            caller: row.get(user).unwrap_or("").trim().to_string(),
            at,
        });
    }
    Ok(out)
}

/// The reviewed judgments of pairs the check finds without sharing a subject, kept with the
/// tests (ids of the shared messages set, never its text).
pub const JUDGMENTS: &str = include_str!("../../bihuan-smart/tests/duplicate-judgments.csv");

/// Precision and recall of the duplicate pairs found at several thresholds, against the subject
/// truth and the judged truth; with `unjudged`, writes the found pairs that share no subject and
/// have no judgment yet (with their texts) for a reviewer.
pub fn dups(path: &Path, unjudged: Option<&Path>) -> anyhow::Result<String> {
    let mut messages = read_messages(path)?;
    // In the order they arrived, as at intake.
    messages.sort_by_key(|m| m.at);
    let judged = bihuan_smart::eval::read_judgments(JUDGMENTS).map_err(anyhow::Error::msg)?;
    let thresholds = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    let mut out = String::new();
    writeln!(
        out,
        "duplicate check over {} messages, each checked against all before it (text, title, caller, time apart; the set has no places)",
        messages.len(),
    )?;
    writeln!(
        out,
        "subject truth: rows sharing a subject; judged truth: those, plus the {} reviewed pairs judged the same matter ({} judged different)",
        judged.values().filter(|v| **v).count(),
        judged.values().filter(|v| !**v).count(),
    )?;
    let reports = duplicates(&messages, &thresholds, &judged);
    writeln!(
        out,
        "{} subject pairs",
        reports.first().map_or(0, |r| r.true_pairs)
    )?;
    writeln!(
        out,
        "  {:>9} {:>6} {:>7} {:>9} {:>7} {:>7} {:>9} {:>9}",
        "threshold", "found", "subject", "precision", "recall", "judged", "precision", "unjudged"
    )?;
    for r in &reports {
        writeln!(
            out,
            "  {:>9.2} {:>6} {:>7} {:>9.3} {:>7.3} {:>7} {:>9.3} {:>9}",
            r.threshold,
            r.found_pairs,
            r.right_pairs,
            r.precision,
            r.recall,
            r.judged_right,
            r.judged_precision,
            r.unjudged
        )?;
    }
    if let Some(r) = reports.first() {
        writeln!(
            out,
            "  mean check: {:.0} µs (signature + index lookup)",
            r.check_micros
        )?;
    }
    if let Some(dump) = unjudged {
        let lowest = thresholds[0];
        let (pairs, _) = bihuan_smart::eval::found_pairs(&messages, lowest);
        let mut w = csv::Writer::from_path(dump)?;
        w.write_record([
            "id_a", "id_b", "score", "reasons", "title_a", "title_b", "text_a", "text_b",
        ])?;
        let mut n = 0;
        for (a, b, score) in pairs {
            let (ma, mb) = (&messages[a], &messages[b]);
            let key = if ma.id <= mb.id {
                (ma.id.clone(), mb.id.clone())
            } else {
                (mb.id.clone(), ma.id.clone())
            };
            if ma.group == mb.group || judged.contains_key(&key) {
                continue;
            }
            let cut = |t: &str| t.chars().take(160).collect::<String>();
            w.write_record([
                ma.id.as_str(),
                mb.id.as_str(),
                &format!("{:.2}", score.value),
                &score.reasons().join("；"),
                &ma.title,
                &mb.title,
                &cut(&ma.text),
                &cut(&mb.text),
            ])?;
            n += 1;
        }
        w.flush()?;
        writeln!(out, "{n} unjudged pairs written to {}", dump.display())?;
    }
    Ok(out)
}
