//! Place matching: address text → township, village and grid, by names and aliases.

use aho_corasick::{AhoCorasick, MatchKind};
use bihuan_domain::org::{Org, UnitId, UnitKind};
use serde::Serialize;

use crate::text::normalise;

const SUFFIXES: [&str; 9] = [
    "街道办事处",
    "街道",
    "社区",
    "网格",
    "镇",
    "乡",
    "村",
    "县",
    "区",
];

/// A name without its administrative suffix ("桃源镇" → "桃源"), when at least two characters
/// remain.
pub fn short_form(name: &str) -> Option<&str> {
    for s in SUFFIXES {
        if let Some(rest) = name.strip_suffix(s) {
            if rest.chars().count() >= 2 {
                return Some(rest);
            }
        }
    }
    None
}

/// Where a text says the matter is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PlaceMatch {
    pub township: Option<UnitId>,
    pub village: Option<UnitId>,
    pub grid: Option<UnitId>,
    /// The names found in the text.
    pub matched: Vec<String>,
    /// 0.9 when the levels found agree with each other, 0.7 for a single unambiguous name.
    pub confidence: f32,
}

struct Entry {
    unit: UnitId,
    kind: UnitKind,
    township: Option<UnitId>,
    village: Option<UnitId>,
    /// Whether this is a short form (weaker than a full name).
    short: bool,
}

/// Finds townships, villages and grids named in a text.
pub struct PlaceMatcher {
    ac: Option<AhoCorasick>,
    /// For each pattern, the units it names (a village name can repeat across townships).
    entries: Vec<Vec<Entry>>,
    patterns: Vec<String>,
}

impl PlaceMatcher {
    pub fn new(org: &Org) -> PlaceMatcher {
        let mut patterns: Vec<String> = Vec::new();
        let mut entries: Vec<Vec<Entry>> = Vec::new();
        let mut add = |p: String, e: Entry| {
            if let Some(i) = patterns.iter().position(|x| *x == p) {
                entries[i].push(e);
            } else {
                patterns.push(p);
                entries.push(vec![e]);
            }
        };
        for u in org.units() {
            if !matches!(
                u.kind,
                UnitKind::Township | UnitKind::Village | UnitKind::Grid
            ) {
                continue;
            }
            let ancestry = org.ancestry(u.id);
            let of = |k: UnitKind| ancestry.iter().find(|a| a.kind == k).map(|a| a.id);
            let (township, village) = (of(UnitKind::Township), of(UnitKind::Village));
            for name in std::iter::once(&u.name).chain(u.aliases.iter()) {
                let full = normalise(name);
                if full.chars().count() < 2 {
                    continue;
                }
                if let Some(short) = short_form(&full) {
                    // Grid short forms ("一网格" → "一") are too short to mean anything.
                    if u.kind != UnitKind::Grid {
                        add(
                            short.to_string(),
                            Entry {
                                unit: u.id,
                                kind: u.kind,
                                township,
                                village,
                                short: true,
                            },
                        );
                    }
                }
                add(
                    full,
                    Entry {
                        unit: u.id,
                        kind: u.kind,
                        township,
                        village,
                        short: false,
                    },
                );
            }
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        PlaceMatcher {
            ac,
            entries,
            patterns,
        }
    }

    /// The most specific place the text names consistently, if any.
    pub fn find(&self, text: &str) -> Option<PlaceMatch> {
        let ac = self.ac.as_ref()?;
        let text = normalise(text);
        let mut hits: Vec<(&Entry, &str)> = Vec::new();
        for m in ac.find_iter(&text) {
            let p = m.pattern().as_usize();
            for e in &self.entries[p] {
                hits.push((e, &self.patterns[p]));
            }
        }
        if hits.is_empty() {
            return None;
        }
        // Score each hit by how many other hits agree with its chain; prefer full names and
        // deeper units.
        let agrees = |a: &Entry, b: &Entry| -> bool {
            let chain = |e: &Entry| [e.township, e.village, Some(e.unit)];
            let (ca, cb) = (chain(a), chain(b));
            // b is on a's chain or a on b's.
            ca.contains(&Some(b.unit)) || cb.contains(&Some(a.unit))
        };
        let depth = |k: UnitKind| match k {
            UnitKind::Grid => 3,
            UnitKind::Village => 2,
            _ => 1,
        };
        let mut best: Option<(i32, &Entry)> = None;
        let mut ambiguous = false;
        for (e, _) in &hits {
            let support = hits
                .iter()
                .filter(|(o, _)| !std::ptr::eq(*o, *e) && o.unit != e.unit && agrees(e, o))
                .count() as i32;
            // A village or grid in another township than the one the text names is a street
            // or shop name that happens to match, not the place.
            let conflict = hits
                .iter()
                .filter(|(o, _)| {
                    o.kind == UnitKind::Township
                        && e.kind != UnitKind::Township
                        && e.township != Some(o.unit)
                })
                .count() as i32;
            let score = (support - conflict) * 10 + depth(e.kind) * 2 + i32::from(!e.short);
            match best {
                Some((s, b)) if s == score && b.unit != e.unit => ambiguous = true,
                Some((s, _)) if s >= score => {}
                _ => {
                    best = Some((score, e));
                    ambiguous = false;
                }
            }
        }
        let (score, e) = best?;
        if ambiguous {
            // Two places fit equally well ("东门村" in two townships): a township the text names
            // outright still holds; otherwise say only what they share.
            let named: Vec<&Entry> = hits
                .iter()
                .map(|(h, _)| *h)
                .filter(|h| h.kind == UnitKind::Township)
                .collect();
            if let Some(t) = named
                .first()
                .filter(|t| named.iter().all(|x| x.unit == t.unit))
            {
                return Some(PlaceMatch {
                    township: Some(t.unit),
                    matched: hits
                        .iter()
                        .filter(|(h, _)| h.unit == t.unit)
                        .map(|(_, p)| p.to_string())
                        .collect(),
                    confidence: 0.7,
                    ..Default::default()
                });
            }
            let townships: Vec<Option<UnitId>> = hits.iter().map(|(h, _)| h.township).collect();
            let first = townships[0];
            if first.is_some() && townships.iter().all(|t| *t == first) {
                return Some(PlaceMatch {
                    township: first,
                    matched: hits.iter().map(|(_, p)| p.to_string()).collect(),
                    confidence: 0.5,
                    ..Default::default()
                });
            }
            return None;
        }
        let mut m = PlaceMatch {
            township: e.township,
            village: e.village,
            grid: None,
            matched: Vec::new(),
            confidence: if score >= 10 { 0.9 } else { 0.7 },
        };
        match e.kind {
            UnitKind::Township => m.township = Some(e.unit),
            UnitKind::Village => m.village = Some(e.unit),
            UnitKind::Grid => m.grid = Some(e.unit),
            _ => {}
        }
        for (h, p) in &hits {
            if h.unit == e.unit || agrees(e, h) {
                m.matched.push(p.to_string());
            }
        }
        m.matched.dedup();
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bihuan_domain::org::Unit;

    fn unit(id: u32, name: &str, kind: UnitKind, parent: Option<u32>) -> Unit {
        Unit {
            id: UnitId(id),
            name: name.into(),
            kind,
            parent: parent.map(UnitId),
            aliases: vec![],
        }
    }

    fn org() -> Org {
        Org::new(vec![
            unit(1, "云溪县", UnitKind::County, None),
            unit(2, "桃源镇", UnitKind::Township, Some(1)),
            unit(3, "梅岭乡", UnitKind::Township, Some(1)),
            unit(4, "东门村", UnitKind::Village, Some(2)),
            unit(5, "东门村", UnitKind::Village, Some(3)),
            unit(6, "杨柳社区", UnitKind::Village, Some(3)),
            unit(7, "杨柳社区第一网格", UnitKind::Grid, Some(6)),
        ])
        .unwrap()
    }

    #[test]
    fn finds_the_consistent_chain() {
        let m = PlaceMatcher::new(&org());
        let p = m.find("桃源镇东门村人民路12号路灯不亮").unwrap();
        assert_eq!(p.township, Some(UnitId(2)));
        assert_eq!(p.village, Some(UnitId(4)));
        assert_eq!(p.confidence, 0.9);
        // The village name alone is ambiguous: no village is claimed.
        assert_eq!(m.find("东门村路灯不亮"), None);
        // A short form and a unique village.
        let p = m.find("杨柳社区第一网格垃圾没人清运").unwrap();
        assert_eq!(p.grid, Some(UnitId(7)));
        assert_eq!(p.village, Some(UnitId(6)));
        assert_eq!(p.township, Some(UnitId(3)));
        // A village of another township next to a named township: the township holds.
        let p = m.find("桃源镇杨柳社区门口").unwrap();
        assert_eq!(p.township, Some(UnitId(2)));
        assert_eq!(p.village, None);
        // An ambiguous village name with a township named: that township.
        let p = m.find("梅岭乡东门村").unwrap();
        assert_eq!((p.township, p.village), (Some(UnitId(3)), Some(UnitId(5))));
        let p = m.find("梅岭那边停电了").unwrap();
        assert_eq!(p.township, Some(UnitId(3)));
        assert_eq!(p.village, None);
        assert_eq!(m.find("人民路路灯不亮"), None);
    }
}
