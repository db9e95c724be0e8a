//! Near-duplicate detection: appeals about the same matter.
//!
//! Each appeal gets a MinHash signature (128 values) of the character 3-grams of its title and
//! content, and keeps its title's 3-grams exactly (titles are short). Two appeals are alike by
//! the larger of the estimated Jaccard similarity of their texts and the exact one of their
//! titles. An in-memory index finds candidates by locality-sensitive hashing (64 bands of 2
//! values: a pair with similarity 0.3 becomes a candidate with probability 0.998, one with 0.05
//! with 0.15), so a check reads a few hundred signatures instead of every appeal in the window.

use rustc_hash::FxHashMap;
use serde::Serialize;

use crate::text::{is_word_char, normalise};

pub const HASHES: usize = 128;
const ROWS: usize = 2;
const BANDS: usize = HASHES / ROWS;
const SHINGLE: usize = 3;

const fn mix(mut z: u64) -> u64 {
    // splitmix64 finaliser
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes of the character 3-grams of a text (letters, digits and CJK only; a text shorter than
/// three such characters gives its whole run).
pub fn shingles(text: &str) -> Vec<u64> {
    let t = normalise(text);
    let cs: Vec<char> = t.chars().filter(|c| is_word_char(*c)).collect();
    let mut out = Vec::with_capacity(cs.len());
    if cs.is_empty() {
        return out;
    }
    let k = SHINGLE.min(cs.len());
    for w in cs.windows(k) {
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for c in w {
            h = mix(h ^ *c as u64);
        }
        out.push(h);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// What the index keeps of one appeal.
#[derive(Debug, Clone)]
pub struct Doc {
    pub signature: Box<[u32; HASHES]>,
    pub title: Vec<u64>,
    /// Registration time (seconds), for the window.
    pub at: i64,
    pub township: Option<u32>,
}

impl Doc {
    pub fn new(title: &str, content: &str, at: i64, township: Option<u32>) -> Doc {
        let mut all = shingles(title);
        all.extend(shingles(content));
        all.sort_unstable();
        all.dedup();
        Doc {
            signature: signature(&all),
            title: shingles(title),
            at,
            township,
        }
    }

    /// How alike two appeals are, 0 to 1.
    pub fn similarity(&self, other: &Doc) -> f32 {
        let same = self
            .signature
            .iter()
            .zip(other.signature.iter())
            .filter(|(a, b)| a == b)
            .count();
        let text = same as f32 / HASHES as f32;
        text.max(jaccard(&self.title, &other.title))
    }
}

/// The `HASHES` hash functions of the signature: `h_i(x) = (a_i·x + b_i) >> 32` over the
/// shingle's 64-bit hash `x`, with odd multipliers `a_i` and offsets `b_i` drawn once from
/// splitmix64 (multiply-add-shift hashing). One multiplication per shingle and function, where
/// mixing each pair afresh took five; the signature was most of an intake check's time.
const PERMUTATIONS: ([u64; HASHES], [u64; HASHES]) = {
    let (mut a, mut b) = ([0u64; HASHES], [0u64; HASHES]);
    let mut i = 0;
    while i < HASHES {
        a[i] = mix(0x5bd1_e995 + 2 * i as u64) | 1;
        b[i] = mix(0x5bd1_e995 + 2 * i as u64 + 1);
        i += 1;
    }
    (a, b)
};

fn signature(shingles: &[u64]) -> Box<[u32; HASHES]> {
    let (a, b) = &PERMUTATIONS;
    let mut sig = Box::new([u32::MAX; HASHES]);
    for &x in shingles {
        for ((m, a), b) in sig.iter_mut().zip(a).zip(b) {
            let h = (a.wrapping_mul(x).wrapping_add(*b) >> 32) as u32;
            *m = (*m).min(h);
        }
    }
    sig
}

fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut both) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both as f32 / (a.len() + b.len() - both) as f32
}

fn band_key(sig: &[u32; HASHES], band: usize) -> u64 {
    let mut h = band as u64;
    for v in &sig[band * ROWS..band * ROWS + ROWS] {
        h = mix(h ^ *v as u64);
    }
    h
}

/// The keys a document is filed under: its signature's bands, and its whole title (so that two
/// appeals with the same title meet however different their texts are).
fn keys(doc: &Doc) -> impl Iterator<Item = u64> + '_ {
    let title = (!doc.title.is_empty())
        .then(|| doc.title.iter().fold(mix(BANDS as u64), |h, s| mix(h ^ s)));
    (0..BANDS).map(|b| band_key(&doc.signature, b)).chain(title)
}

/// A match found by [`Index::similar`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Match {
    pub id: u64,
    pub similarity: f32,
    pub same_township: bool,
}

/// Open appeals within the window, by signature.
#[derive(Default)]
pub struct Index {
    docs: FxHashMap<u64, Doc>,
    bands: FxHashMap<u64, Ids>,
}

/// The appeals filed under one key. Most keys hold a single appeal, kept without an allocation
/// of its own (a vector per key was most of an insertion's time).
enum Ids {
    One(u64),
    Many(Vec<u64>),
}

impl Ids {
    fn push(&mut self, id: u64) {
        match self {
            Ids::One(first) => *self = Ids::Many(vec![*first, id]),
            Ids::Many(v) => v.push(id),
        }
    }

    /// Takes `id` out; true when no appeal is left under the key.
    fn take_out(&mut self, id: u64) -> bool {
        match self {
            Ids::One(only) => *only == id,
            Ids::Many(v) => {
                v.retain(|x| *x != id);
                let empty = v.is_empty();
                if let [last] = v[..] {
                    *self = Ids::One(last);
                }
                empty
            }
        }
    }

    fn as_slice(&self) -> &[u64] {
        match self {
            Ids::One(id) => std::slice::from_ref(id),
            Ids::Many(v) => v,
        }
    }
}

impl Index {
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Adds or replaces an appeal.
    pub fn insert(&mut self, id: u64, doc: Doc) {
        self.remove(id);
        for k in keys(&doc) {
            match self.bands.entry(k) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().push(id),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(Ids::One(id));
                }
            }
        }
        self.docs.insert(id, doc);
    }

    pub fn remove(&mut self, id: u64) {
        if let Some(doc) = self.docs.remove(&id) {
            for k in keys(&doc) {
                if self.bands.get_mut(&k).is_some_and(|v| v.take_out(id)) {
                    self.bands.remove(&k);
                }
            }
        }
    }

    /// Drops appeals registered before `cutoff`.
    pub fn expire(&mut self, cutoff: i64) -> usize {
        let old: Vec<u64> = self
            .docs
            .iter()
            .filter(|(_, d)| d.at < cutoff)
            .map(|(id, _)| *id)
            .collect();
        for id in &old {
            self.remove(*id);
        }
        old.len()
    }

    /// Appeals at least `threshold` alike, registered at or after `since`, best first. The same
    /// matter is at the same place: when both appeals name their township, it must be the same.
    pub fn similar(
        &self,
        probe: &Doc,
        threshold: f32,
        since: i64,
        exclude: Option<u64>,
    ) -> Vec<Match> {
        let mut seen: Vec<u64> = Vec::new();
        for k in keys(probe) {
            if let Some(ids) = self.bands.get(&k) {
                seen.extend(ids.as_slice());
            }
        }
        seen.sort_unstable();
        seen.dedup();
        let mut out: Vec<Match> = seen
            .into_iter()
            .filter(|id| Some(*id) != exclude)
            .filter_map(|id| {
                let d = &self.docs[&id];
                if d.at < since {
                    return None;
                }
                if probe.township.is_some() && d.township.is_some() && probe.township != d.township
                {
                    return None;
                }
                let similarity = probe.similarity(d);
                (similarity >= threshold).then_some(Match {
                    id,
                    similarity,
                    same_township: probe.township.is_some() && probe.township == d.township,
                })
            })
            .collect();
        out.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then(b.same_township.cmp(&a.same_township))
                .then(b.id.cmp(&a.id))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_copies_are_found_and_others_are_not() {
        let mut idx = Index::default();
        idx.insert(
            1,
            Doc::new(
                "人民路自来水管爆裂",
                "人民路与建设路交叉口自来水管爆裂,水漫到马路上,已经两个小时了",
                100,
                Some(7),
            ),
        );
        idx.insert(
            2,
            Doc::new(
                "小区噪音扰民",
                "楼下KTV每天晚上唱到凌晨两点,严重影响休息",
                100,
                Some(7),
            ),
        );
        let probe = Doc::new(
            "自来水管爆裂",
            "人民路建设路交叉口的自来水管爆裂了,水漫到马路上",
            200,
            Some(7),
        );
        let found = idx.similar(&probe, 0.3, 0, None);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].id, 1);
        assert!(found[0].same_township);
        // Outside the window: not shown.
        assert!(idx.similar(&probe, 0.3, 150, None).is_empty());
        // Somewhere else: not the same matter. Place unknown: the text decides.
        let elsewhere = Doc::new(
            "自来水管爆裂",
            "人民路建设路交叉口的自来水管爆裂了,水漫到马路上",
            200,
            Some(8),
        );
        assert!(idx.similar(&elsewhere, 0.3, 0, None).is_empty());
        let unknown = Doc::new(
            "自来水管爆裂",
            "人民路建设路交叉口的自来水管爆裂了,水漫到马路上",
            200,
            None,
        );
        assert_eq!(idx.similar(&unknown, 0.3, 0, None).len(), 1);
        idx.remove(1);
        assert!(idx.similar(&probe, 0.3, 0, None).is_empty());
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.expire(101), 1);
        assert!(idx.is_empty());
    }

    #[test]
    fn appeals_sharing_keys_come_and_go_independently() {
        let mut idx = Index::default();
        let text = "人民路与建设路交叉口自来水管爆裂,水漫到马路上";
        for id in 1..=3 {
            idx.insert(id, Doc::new("自来水管爆裂", text, 100, None));
        }
        let probe = Doc::new("自来水管爆裂", text, 200, None);
        let ids = |idx: &Index| -> Vec<u64> {
            let mut v: Vec<u64> = idx
                .similar(&probe, 0.9, 0, None)
                .iter()
                .map(|m| m.id)
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(ids(&idx), vec![1, 2, 3]);
        idx.remove(2);
        assert_eq!(ids(&idx), vec![1, 3]);
        // Replacing an appeal's text files it under its new keys only.
        idx.insert(
            1,
            Doc::new("噪音扰民", "楼下KTV每天晚上唱到凌晨两点", 100, None),
        );
        assert_eq!(ids(&idx), vec![3]);
        idx.remove(3);
        idx.remove(1);
        assert!(idx.similar(&probe, 0.0, 0, None).is_empty());
        // Nothing is left filed under any key.
        assert!(idx.bands.is_empty());
    }

    #[test]
    fn similarity_estimates_jaccard() {
        let a = Doc::new("", "甲乙丙丁戊己庚辛壬癸", 0, None);
        let b = Doc::new("", "甲乙丙丁戊己庚辛壬癸", 0, None);
        assert_eq!(a.similarity(&b), 1.0);
        let c = Doc::new("", "子丑寅卯辰巳午未申酉", 0, None);
        assert!(a.similarity(&c) < 0.1);
    }
}
