//! Near-duplicate detection: appeals about the same matter.
//!
//! Each appeal gets a MinHash signature (128 values) of the character 3-grams of its title and
//! content, and keeps its title's and address's 3-grams exactly (they are short). An in-memory
//! index finds candidates by locality-sensitive hashing (64 bands of 2 values: a pair with
//! similarity 0.3 becomes a candidate with probability 0.998, one with 0.05 with 0.15), and by
//! the whole title and the whole address, so a check reads a few hundred signatures instead of
//! every appeal in the window.
//!
//! How alike two appeals are ([`Doc::score`]) combines, each part with its reason:
//! * the text: the estimated Jaccard similarity of title + content, or — when one text repeats
//!   the other inside more words (a repost with a preface) — 0.9 × how much of the shorter is in
//!   the longer;
//! * the title: the same specific title counts, but a title alone (养老保险问题 over two
//!   different stories) is worth at most 0.6, rising to its full weight as the texts agree;
//! * the place: a close address adds up to 0.25, the same village 0.1, the same township 0.05;
//!   two known, different townships are never the same matter;
//! * the kind of problem at the place: the same category at a close address (a reworded report
//!   of the same street lamp shares hardly a word) is worth 0.6 on its own;
//! * the caller: the same person raising it again adds 0.15;
//! * time: everything is multiplied by `exp(−days apart / 180)` — a week apart keeps 96 %,
//!   eleven months 16 %.

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
    /// How many distinct 3-grams title + content have (for containment).
    pub size: u32,
    pub title: Vec<u64>,
    pub address: Vec<u64>,
    /// The address up to its first number (东门村东门路12 of 东门村东门路12号门口): appeals at the
    /// same door meet under it.
    pub door: Option<u64>,
    /// Registration time (seconds), for the window and the decay.
    pub at: i64,
    pub township: Option<u32>,
    pub village: Option<u32>,
    pub category: Option<u32>,
    /// A hash of the caller's identity (phone, else name), if known.
    pub caller: Option<u64>,
}

/// What an appeal brings to the check.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    pub title: &'a str,
    pub content: &'a str,
    pub at: i64,
    pub township: Option<u32>,
    pub village: Option<u32>,
    pub address: &'a str,
    /// The category (any level), if known.
    pub category: Option<u32>,
    /// The caller's identity key (phone, else name).
    pub caller: Option<&'a str>,
}

/// How alike two appeals are, with the parts it is made of.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Score {
    /// 0 to 1: what thresholds compare.
    pub value: f32,
    pub text: f32,
    pub title: f32,
    pub address: f32,
    pub same_category: bool,
    pub same_village: bool,
    pub same_township: bool,
    pub same_caller: bool,
    pub days_apart: f32,
}

impl Score {
    /// Why the pair was suggested, in Chinese, strongest first.
    pub fn reasons(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.text >= 0.2 {
            out.push(format!("内容相似 {:.0}%", self.text * 100.0));
        }
        if self.title >= 0.99 {
            out.push("标题相同".to_string());
        } else if self.title >= 0.5 {
            out.push(format!("标题相近 {:.0}%", self.title * 100.0));
        }
        if self.address >= 0.5 {
            out.push("地址相近".to_string());
        }
        if self.same_category {
            out.push("同一分类".to_string());
        }
        if self.same_village {
            out.push("同一村（社区）".to_string());
        } else if self.same_township {
            out.push("同一乡镇（街道）".to_string());
        }
        if self.same_caller {
            out.push("同一诉求人".to_string());
        }
        if self.days_apart >= 1.0 {
            out.push(format!("相隔 {:.0} 天", self.days_apart));
        } else {
            out.push("同一天".to_string());
        }
        out
    }
}

/// The decay of a pair's score with the time between them: `exp(−days / 180)`.
pub const DECAY_DAYS: f32 = 180.0;

impl Doc {
    pub fn new(title: &str, content: &str, at: i64, township: Option<u32>) -> Doc {
        Doc::of(&Facts {
            title,
            content,
            at,
            township,
            ..Facts::default()
        })
    }

    pub fn of(f: &Facts<'_>) -> Doc {
        let mut all = shingles(f.title);
        all.extend(shingles(f.content));
        all.sort_unstable();
        all.dedup();
        Doc {
            signature: signature(&all),
            size: all.len() as u32,
            title: shingles(f.title),
            address: shingles(f.address),
            door: door(f.address),
            at: f.at,
            township: f.township,
            village: f.village,
            category: f.category,
            caller: f.caller.filter(|c| !c.trim().is_empty()).map(|c| {
                c.bytes()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| mix(h ^ b as u64))
            }),
        }
    }

    /// How alike two appeals are, 0 to 1 (see [`Doc::score`]).
    pub fn similarity(&self, other: &Doc) -> f32 {
        self.score(other).value
    }

    /// How alike two appeals are, and why (the module documentation gives the rule).
    pub fn score(&self, other: &Doc) -> Score {
        let same = self
            .signature
            .iter()
            .zip(other.signature.iter())
            .filter(|(a, b)| a == b)
            .count();
        let j = same as f32 / HASHES as f32;
        // |A ∩ B| = J (|A| + |B|) / (1 + J); containment of the shorter in the longer.
        let (a, b) = (self.size as f32, other.size as f32);
        let containment = if a.min(b) >= 8.0 {
            (j * (a + b) / (1.0 + j) / a.min(b)).min(1.0)
        } else {
            0.0
        };
        let text = j.max(0.9 * containment);
        // A title of fewer than four 3-grams (five characters) says too little on its own.
        let title = if self.title.len().min(other.title.len()) >= 4 {
            jaccard(&self.title, &other.title)
        } else {
            0.0
        };
        let weight = 0.6 + 0.4 * (text / 0.3).min(1.0);
        let address = jaccard(&self.address, &other.address);
        let same_category = self.category.is_some() && self.category == other.category;
        let mut base = text.max(title * weight);
        if same_category && address >= 0.6 {
            base = base.max(0.6);
        }
        let same_township = self.township.is_some() && self.township == other.township;
        let same_village = self.village.is_some() && self.village == other.village;
        let same_caller = self.caller.is_some() && self.caller == other.caller;
        let place = if address >= 0.5 { 0.25 * address } else { 0.0 }
            + if same_village {
                0.1
            } else if same_township {
                0.05
            } else {
                0.0
            };
        let days_apart = (self.at - other.at).unsigned_abs() as f32 / 86_400.0;
        let decay = (-days_apart / DECAY_DAYS).exp();
        let value = ((base + place + if same_caller { 0.15 } else { 0.0 }).min(1.0) * decay)
            .clamp(0.0, 1.0);
        Score {
            value,
            text,
            title,
            address,
            same_category,
            same_village,
            same_township,
            same_caller,
            days_apart,
        }
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

/// The hash of an address up to and including its first run of digits, if it has one.
fn door(address: &str) -> Option<u64> {
    let t = normalise(address);
    let cs: Vec<char> = t.chars().filter(|c| is_word_char(*c)).collect();
    let first = cs.iter().position(|c| c.is_ascii_digit())?;
    let end = cs[first..]
        .iter()
        .position(|c| !c.is_ascii_digit())
        .map_or(cs.len(), |n| first + n);
    (end >= 4).then(|| {
        cs[..end]
            .iter()
            .fold(mix(0xd00d), |h, c| mix(h ^ *c as u64))
    })
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

/// The keys a document is filed under: its signature's bands, its whole title and its whole
/// address (so that two appeals with the same title, or about the same address, meet however
/// different their texts are).
fn keys(doc: &Doc) -> impl Iterator<Item = u64> + '_ {
    let title = (!doc.title.is_empty())
        .then(|| doc.title.iter().fold(mix(BANDS as u64), |h, s| mix(h ^ s)));
    let address = (doc.address.len() >= 4).then(|| {
        doc.address
            .iter()
            .fold(mix(BANDS as u64 + 1), |h, s| mix(h ^ s))
    });
    // The same kind of problem in the same village.
    let topic = doc
        .category
        .zip(doc.village)
        .map(|(c, v)| mix(mix(BANDS as u64 + 2) ^ (u64::from(c) << 32 | u64::from(v))));
    (0..BANDS)
        .map(|b| band_key(&doc.signature, b))
        .chain(title)
        .chain(address)
        .chain(doc.door)
        .chain(topic)
}

/// A match found by [`Index::similar`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Match {
    pub id: u64,
    pub similarity: f32,
    pub same_township: bool,
    pub score: Score,
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
                let score = probe.score(d);
                (score.value >= threshold).then_some(Match {
                    id,
                    similarity: score.value,
                    same_township: score.same_township,
                    score,
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

    #[test]
    fn a_reworded_report_at_the_same_address_is_found_and_a_bare_title_is_not() {
        const DAY: i64 = 86_400;
        let lamp = Doc::of(&Facts {
            title: "东门路路灯不亮",
            content: "东门路12号附近路灯连续一周不亮，晚上行人看不清路。",
            at: 0,
            township: Some(7),
            village: Some(70),
            address: "云溪镇东门村东门路12号",
            category: Some(3),
            caller: Some("13912345678"),
        });
        let reworded = Doc::of(&Facts {
            title: "路灯坏了没人修",
            content: "我家门口的路灯坏了好几天，一到晚上黑漆漆的，老人出门很不方便，希望尽快修好。",
            at: 2 * DAY,
            township: Some(7),
            village: Some(70),
            address: "云溪镇东门村东门路12号门口",
            category: Some(3),
            caller: Some("13800001111"),
        });
        let s = lamp.score(&reworded);
        assert!(s.value >= 0.5, "{s:?}");
        assert!(
            s.reasons().contains(&"地址相近".to_string()),
            "{:?}",
            s.reasons()
        );
        // Without the category (the text alone shares hardly a word), it is not enough.
        let mut unfiled = reworded.clone();
        unfiled.category = None;
        assert!(lamp.score(&unfiled).value < 0.5);
        let mut idx = Index::default();
        idx.insert(1, lamp);
        assert_eq!(
            idx.similar(&reworded, 0.5, 0, None).len(),
            1,
            "met by the address key"
        );

        let pension = |content: &str, at: i64, address: &str, caller: &str| {
            Doc::of(&Facts {
                title: "养老保险问题",
                content,
                at,
                township: None,
                village: None,
                address,
                category: Some(9),
                caller: Some(caller),
            })
        };
        let a = pension(
            "我在企业工作期间养老保险断缴三年，现在想补缴，请问需要什么材料、到哪里办理？",
            0,
            "城关镇解放路8号",
            "13911112222",
        );
        let b = pension(
            "本人今年退休，养老金核定比预计少了很多，请帮忙核实视同缴费年限是否计算正确。",
            330 * DAY,
            "南塘镇建设路21号",
            "13733334444",
        );
        let s = a.score(&b);
        assert_eq!(s.title, 1.0);
        assert!(
            s.value < 0.3,
            "the same title alone, eleven months apart: {s:?}"
        );
        // The same person with the same story a week later is a repeat.
        let again = pension(
            "我在企业工作期间养老保险断缴三年，现在想补缴，请问需要哪些材料，去哪里办？",
            7 * DAY,
            "城关镇解放路8号",
            "13911112222",
        );
        let s = a.score(&again);
        assert!(s.value >= 0.9 && s.same_caller, "{s:?}");
        assert!(s.reasons().contains(&"同一诉求人".to_string()));
    }
}
