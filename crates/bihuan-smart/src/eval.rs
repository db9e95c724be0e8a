//! Evaluation: cross-validated classification and duplicate detection over labelled files.

use std::collections::BTreeMap;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use crate::classify::{train, Model, ModelError, Options};
use crate::dedup::{Doc, Facts, Index};
use crate::text::Tokenizer;

/// Stratified fold numbers (0..k) for each row: every class spread evenly over the folds.
pub fn stratified_folds(labels: &[&str], k: usize, seed: u64) -> Vec<usize> {
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        by_class.entry(l).or_default().push(i);
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut fold = vec![0; labels.len()];
    let mut next = 0;
    for (_, mut rows) in by_class {
        rows.shuffle(&mut rng);
        for r in rows {
            fold[r] = next % k;
            next += 1;
        }
    }
    fold
}

#[derive(Debug, Clone, Serialize)]
pub struct ClassScore {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

/// Accuracy, macro-F1 and a per-class table of predictions against the truth.
pub fn score(truth: &[&str], predicted: &[&str]) -> (f64, f64, Vec<ClassScore>) {
    let mut classes: Vec<&str> = truth.iter().chain(predicted).copied().collect();
    classes.sort();
    classes.dedup();
    let right = truth.iter().zip(predicted).filter(|(a, b)| a == b).count();
    let mut table = Vec::new();
    for c in &classes {
        let tp = truth
            .iter()
            .zip(predicted)
            .filter(|(t, p)| *t == c && *p == c)
            .count() as f64;
        let support = truth.iter().filter(|t| *t == c).count();
        let said = predicted.iter().filter(|p| *p == c).count() as f64;
        let precision = if said > 0.0 { tp / said } else { 0.0 };
        let recall = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        table.push(ClassScore {
            class: c.to_string(),
            precision,
            recall,
            f1,
            support,
        });
    }
    let macro_f1 = table.iter().map(|c| c.f1).sum::<f64>() / table.len().max(1) as f64;
    (right as f64 / truth.len().max(1) as f64, macro_f1, table)
}

#[derive(Debug, Clone, Serialize)]
pub struct CvReport {
    pub rows: usize,
    pub folds: usize,
    pub accuracy: f64,
    /// Mean over folds of each fold's macro-F1 (as scikit-learn's cross-validation reports it).
    pub macro_f1: f64,
    /// Per class, over all folds' predictions pooled.
    pub per_class: Vec<ClassScore>,
    /// Mean seconds to train on one fold's training part.
    pub train_seconds: f64,
    /// Texts classified per second on one thread (tokenising included).
    pub per_second: f64,
    pub features: usize,
}

/// k-fold cross-validation on the given folds.
pub fn cross_validate(
    tok: &Tokenizer,
    data: &[(String, String)],
    folds: &[usize],
    options: &Options,
) -> Result<CvReport, ModelError> {
    let k = folds.iter().max().map_or(0, |m| m + 1);
    let mut predicted: Vec<String> = vec![String::new(); data.len()];
    let (mut train_s, mut classify_s, mut classified, mut f1s, mut features) =
        (0.0, 0.0, 0usize, Vec::new(), 0);
    for f in 0..k {
        let tr: Vec<(&str, &str)> = data
            .iter()
            .zip(folds)
            .filter(|(_, x)| **x != f)
            .map(|((l, t), _)| (l.as_str(), t.as_str()))
            .collect();
        let t0 = Instant::now();
        let model: Model = train(tok, &tr, options)?;
        train_s += t0.elapsed().as_secs_f64();
        features += model.features();
        let test: Vec<usize> = (0..data.len()).filter(|i| folds[*i] == f).collect();
        let t1 = Instant::now();
        for &i in &test {
            predicted[i] = model.best(tok, &data[i].1).to_string();
        }
        classify_s += t1.elapsed().as_secs_f64();
        classified += test.len();
        let truth: Vec<&str> = test.iter().map(|&i| data[i].0.as_str()).collect();
        let pred: Vec<&str> = test.iter().map(|&i| predicted[i].as_str()).collect();
        f1s.push(score(&truth, &pred).1);
    }
    let truth: Vec<&str> = data.iter().map(|(l, _)| l.as_str()).collect();
    let pred: Vec<&str> = predicted.iter().map(|s| s.as_str()).collect();
    let (accuracy, _, per_class) = score(&truth, &pred);
    Ok(CvReport {
        rows: data.len(),
        folds: k,
        accuracy,
        macro_f1: f1s.iter().sum::<f64>() / f1s.len().max(1) as f64,
        per_class,
        train_seconds: train_s / k.max(1) as f64,
        per_second: classified as f64 / classify_s.max(1e-9),
        features: features / k.max(1),
    })
}

/// One message for the duplicate evaluation: the group that defines "the same matter" (the
/// subject in the public data), the title, the text and the time (seconds).
pub struct Message {
    /// The row's id in its file (judgments name pairs by it).
    pub id: String,
    pub group: String,
    pub title: String,
    pub text: String,
    /// Who wrote it (the same person raising it again counts).
    pub caller: String,
    pub at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DupReport {
    pub threshold: f32,
    /// Pairs sharing a subject (the subject truth).
    pub true_pairs: usize,
    pub found_pairs: usize,
    /// Found pairs sharing a subject.
    pub right_pairs: usize,
    pub precision: f64,
    pub recall: f64,
    /// Found pairs sharing a subject or judged the same matter by a reviewer.
    pub judged_right: usize,
    /// Found pairs that share no subject and have no judgment yet.
    pub unjudged: usize,
    /// Precision against the judged truth (unjudged pairs count as wrong).
    pub judged_precision: f64,
    /// Mean microseconds per check at intake (signature + index lookup), over every message.
    pub check_micros: f64,
}

/// A reviewer's judgment of one pair: `(first id, second id) → same matter`.
pub type Judgments = BTreeMap<(String, String), bool>;

fn pair_key(a: &str, b: &str) -> (String, String) {
    if a <= b {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    }
}

/// Reads judgments: lines `id_a,id_b,same|different,note` (a `#` line is a comment).
pub fn read_judgments(text: &str) -> Result<Judgments, String> {
    let mut out = Judgments::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("id_a,") {
            continue;
        }
        let mut parts = line.splitn(4, ',');
        let (Some(a), Some(b), Some(v)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!(
                "line {}: expected id_a,id_b,same|different,note",
                i + 1
            ));
        };
        let same = match v.trim() {
            "same" => true,
            "different" => false,
            other => {
                return Err(format!(
                    "line {}: `{other}` is neither same nor different",
                    i + 1
                ))
            }
        };
        out.insert(pair_key(a.trim(), b.trim()), same);
    }
    Ok(out)
}

/// Every pair the check finds at `lowest` or above: `(earlier index, later index, score)`, each
/// message checked against all before it, as at intake.
pub fn found_pairs(
    messages: &[Message],
    lowest: f32,
) -> (Vec<(usize, usize, crate::dedup::Score)>, f64) {
    let mut index = Index::default();
    let mut pairs = Vec::new();
    let t0 = Instant::now();
    for (i, m) in messages.iter().enumerate() {
        let doc = Doc::of(&Facts {
            title: &m.title,
            content: &m.text,
            at: m.at,
            caller: Some(m.caller.as_str()),
            ..Facts::default()
        });
        for hit in index.similar(&doc, lowest, i64::MIN, None) {
            pairs.push((hit.id as usize, i, hit.score));
        }
        index.insert(i as u64, doc);
    }
    let check_micros = t0.elapsed().as_secs_f64() * 1e6 / messages.len().max(1) as f64;
    (pairs, check_micros)
}

/// Puts every message through the intake check against those before it (any time: the public
/// data spans years) and scores the pairs found against both truths.
pub fn duplicates(messages: &[Message], thresholds: &[f32], judged: &Judgments) -> Vec<DupReport> {
    let mut truth = 0usize;
    let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
    for m in messages {
        *groups.entry(m.group.as_str()).or_insert(0) += 1;
    }
    for n in groups.values() {
        truth += n * (n - 1) / 2;
    }
    let lowest = thresholds.iter().cloned().fold(f32::INFINITY, f32::min);
    let (pairs, check_micros) = found_pairs(messages, lowest);
    thresholds
        .iter()
        .map(|&t| {
            let found: Vec<_> = pairs.iter().filter(|p| p.2.value >= t).collect();
            let subject = |p: &&&(usize, usize, crate::dedup::Score)| {
                messages[p.0].group == messages[p.1].group
            };
            let right = found.iter().filter(subject).count();
            let mut judged_right = right;
            let mut unjudged = 0;
            for p in found.iter().filter(|p| !subject(p)) {
                match judged.get(&pair_key(&messages[p.0].id, &messages[p.1].id)) {
                    Some(true) => judged_right += 1,
                    Some(false) => {}
                    None => unjudged += 1,
                }
            }
            DupReport {
                threshold: t,
                true_pairs: truth,
                found_pairs: found.len(),
                right_pairs: right,
                precision: right as f64 / found.len().max(1) as f64,
                recall: right as f64 / truth.max(1) as f64,
                judged_right,
                unjudged,
                judged_precision: judged_right as f64 / found.len().max(1) as f64,
                check_micros,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_by_hand() {
        let truth = ["a", "a", "b", "b"];
        let pred = ["a", "b", "b", "b"];
        let (acc, f1, table) = score(&truth, &pred);
        assert_eq!(acc, 0.75);
        // a: p=1 r=.5 f=.667; b: p=.667 r=1 f=.8
        assert!((f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
        assert_eq!(table[1].support, 2);
    }

    #[test]
    fn folds_are_stratified() {
        let labels: Vec<&str> = (0..30)
            .map(|i| if i % 3 == 0 { "x" } else { "y" })
            .collect();
        let f = stratified_folds(&labels, 5, 1);
        for k in 0..5 {
            let xs = (0..30).filter(|&i| f[i] == k && labels[i] == "x").count();
            assert_eq!(xs, 2);
        }
    }

    #[test]
    fn duplicate_pairs_are_counted() {
        let m = |g: &str, t: &str, x: &str| Message {
            id: format!("{g}{}", x.len()),
            group: g.into(),
            title: t.into(),
            text: x.into(),
            caller: String::new(),
            at: 0,
        };
        let msgs = vec![
            m(
                "pipe",
                "人民路水管爆裂",
                "人民路与建设路交叉口自来水管爆裂,水漫到马路上",
            ),
            m(
                "pipe",
                "人民路水管爆裂",
                "人民路建设路交叉口水管爆了,一直在漏水",
            ),
            m("noise", "KTV噪音扰民", "楼下KTV每天晚上唱到凌晨两点"),
        ];
        let r = &duplicates(&msgs, &[0.5], &Judgments::new())[0];
        assert_eq!(r.true_pairs, 1);
        assert_eq!(r.right_pairs, 1);
        assert_eq!(r.found_pairs, 1);
        assert_eq!(r.precision, 1.0);
    }
}
