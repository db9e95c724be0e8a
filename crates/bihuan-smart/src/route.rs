//! Routing suggestions: the dispatch catalogue, the place and the classifiers combined.
//!
//! Each source gives evidence for a unit with a strength between 0 and 1; a unit's confidence is
//! the noisy-OR of its evidence, `1 − Π(1 − e)`, so independent sources that agree raise it and
//! no source alone can exceed its own strength. Strengths:
//!
//! | source | strength |
//! |---|---|
//! | classifier trained on closed appeals | its calibrated probability |
//! | catalogue rule with keywords, a keyword found | 0.8 |
//! | catalogue rule for the category (given, or predicted with confidence q) | 0.7 (× q) |
//! | the township the address names (属地) | 0.2 |
//!
//! Every suggestion carries its reasons, in Chinese, so the dispatcher sees why.

use std::collections::BTreeMap;

use bihuan_domain::category::{CategoryId, CategoryTree};
use bihuan_domain::org::{Org, UnitId};
use serde::Serialize;

pub use bihuan_domain::catalogue::Rule;

use crate::classify::Model;
use crate::place::{PlaceMatch, PlaceMatcher};
use crate::text::{normalise, Tokenizer};

/// Why a unit or category was suggested.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Reason {
    Model { confidence: f32 },
    Keyword { rule: u32, keyword: String },
    Catalogue { rule: u32, category: CategoryId },
    Place { township: UnitId },
    CategoryName { name: String },
}

impl Reason {
    /// In Chinese, for the console.
    pub fn describe(&self, org: &Org, categories: &CategoryTree) -> String {
        match self {
            Reason::Model { confidence } => {
                format!("历史办理模型 {:.0}%", confidence * 100.0)
            }
            Reason::Keyword { keyword, .. } => format!("派单目录关键词「{keyword}」"),
            Reason::Catalogue { category, .. } => format!(
                "派单目录: {}",
                categories.path_name(*category).unwrap_or_default()
            ),
            Reason::Place { township } => format!(
                "属地: {}",
                org.get(*township).map(|u| u.name.as_str()).unwrap_or("")
            ),
            Reason::CategoryName { name } => format!("内容提到「{name}」"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitSuggestion {
    pub unit: UnitId,
    pub confidence: f32,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategorySuggestion {
    pub category: CategoryId,
    pub confidence: f32,
    pub reasons: Vec<Reason>,
}

/// What the router says about one appeal.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Suggestions {
    /// Up to three lead units, best first.
    pub units: Vec<UnitSuggestion>,
    /// Up to three categories, best first.
    pub categories: Vec<CategorySuggestion>,
    pub place: Option<PlaceMatch>,
}

/// The models a router may use; labels are unit and category ids as decimal strings.
#[derive(Default, Clone)]
pub struct Models {
    pub unit: Option<std::sync::Arc<Model>>,
    pub category: Option<std::sync::Arc<Model>>,
}

/// Everything needed to suggest; built once per catalogue and model version.
pub struct Router {
    pub tokenizer: Tokenizer,
    org: Org,
    categories: CategoryTree,
    rules: Vec<Rule>,
    places: PlaceMatcher,
    /// Category names (level 2 and below) found verbatim in the text, as a cold-start signal.
    names: Vec<(String, CategoryId)>,
    pub models: Models,
}

const KEYWORD: f32 = 0.8;
const CATALOGUE: f32 = 0.7;
const PLACE: f32 = 0.2;
const NAME: f32 = 0.6;

fn noisy_or(e: &[f32]) -> f32 {
    1.0 - e.iter().map(|x| 1.0 - x.clamp(0.0, 1.0)).product::<f32>()
}

/// Evidence gathered per candidate (a unit or a category), with its reasons.
struct Evidence<K>(BTreeMap<K, (Vec<f32>, Vec<Reason>)>);

impl<K: Ord + Copy> Evidence<K> {
    fn new() -> Self {
        Evidence(BTreeMap::new())
    }

    fn add(&mut self, k: K, strength: f32, why: Reason) {
        let e = self.0.entry(k).or_default();
        e.0.push(strength);
        e.1.push(why);
    }

    /// The three strongest candidates (noisy-OR of their evidence), ties by key.
    fn top3(self) -> Vec<(K, f32, Vec<Reason>)> {
        let mut v: Vec<(K, f32, Vec<Reason>)> = self
            .0
            .into_iter()
            .map(|(k, (e, reasons))| (k, noisy_or(&e), reasons))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v.truncate(3);
        v
    }
}

impl Router {
    pub fn new(
        tokenizer: Tokenizer,
        org: Org,
        categories: CategoryTree,
        rules: Vec<Rule>,
        models: Models,
    ) -> Router {
        let places = PlaceMatcher::new(&org);
        let names = categories
            .iter()
            .filter(|c| c.parent.is_some() && c.name.chars().count() >= 2)
            .map(|c| (normalise(&c.name), c.id))
            .collect();
        Router {
            tokenizer,
            org,
            categories,
            rules,
            places,
            names,
            models,
        }
    }

    /// Suggestions for a text, given the category if the operator already chose one.
    pub fn suggest(&self, text: &str, address: &str, category: Option<CategoryId>) -> Suggestions {
        let norm = normalise(text);
        // Categories.
        let mut cats = Evidence::new();
        if let Some(m) = &self.models.category {
            for s in m.predict(&self.tokenizer, text).into_iter().take(3) {
                if let Some(id) = m.classes[s.class].parse().ok().map(CategoryId) {
                    if self.categories.get(id).is_some() {
                        let why = Reason::Model {
                            confidence: s.confidence,
                        };
                        cats.add(id, s.confidence, why);
                    }
                }
            }
        }
        for (name, id) in &self.names {
            if norm.contains(name.as_str()) {
                cats.add(*id, NAME, Reason::CategoryName { name: name.clone() });
            }
        }
        let categories: Vec<CategorySuggestion> = cats
            .top3()
            .into_iter()
            .map(|(category, confidence, reasons)| CategorySuggestion {
                category,
                confidence,
                reasons,
            })
            .collect();

        // Units.
        let mut units = Evidence::new();
        let mut add = |u: UnitId, e: f32, r: Reason| units.add(u, e, r);
        if let Some(m) = &self.models.unit {
            for s in m.predict(&self.tokenizer, text).into_iter().take(5) {
                if let Some(id) = m.classes[s.class].parse().ok().map(UnitId) {
                    if self.org.get(id).is_some_and(|u| u.kind.can_handle()) {
                        add(
                            id,
                            s.confidence,
                            Reason::Model {
                                confidence: s.confidence,
                            },
                        );
                    }
                }
            }
        }
        // The category to apply catalogue rules with: the given one, else the predictions.
        let cat_weights: Vec<(CategoryId, f32)> = match category {
            Some(c) => vec![(c, 1.0)],
            None => categories
                .iter()
                .map(|c| (c.category, c.confidence))
                .collect(),
        };
        for r in &self.rules {
            let covers = |c: CategoryId| -> bool {
                r.category.is_some_and(|rc| {
                    self.categories
                        .lineage(c)
                        .is_some_and(|l| l.iter().any(|x| x.id == rc))
                })
            };
            let cat_weight = cat_weights
                .iter()
                .filter(|(c, _)| covers(*c))
                .map(|(_, w)| *w)
                .fold(0.0f32, f32::max);
            let keyword = r
                .keywords
                .iter()
                .map(|k| normalise(k.trim()))
                .find(|k| !k.is_empty() && norm.contains(k.as_str()));
            match (r.category, keyword) {
                (Some(_), Some(k)) if cat_weight > 0.0 => {
                    add(
                        r.unit,
                        KEYWORD * cat_weight,
                        Reason::Keyword {
                            rule: r.id,
                            keyword: k,
                        },
                    );
                }
                (None, Some(k)) => add(
                    r.unit,
                    KEYWORD,
                    Reason::Keyword {
                        rule: r.id,
                        keyword: k,
                    },
                ),
                (Some(c), None) if r.keywords.is_empty() && cat_weight > 0.0 => add(
                    r.unit,
                    CATALOGUE * cat_weight,
                    Reason::Catalogue {
                        rule: r.id,
                        category: c,
                    },
                ),
                _ => {}
            }
        }
        let place = self.places.find(&format!("{address} {text}"));
        if let Some(t) = place.as_ref().and_then(|p| p.township) {
            add(t, PLACE, Reason::Place { township: t });
        }
        let units: Vec<UnitSuggestion> = units
            .top3()
            .into_iter()
            .map(|(unit, confidence, reasons)| UnitSuggestion {
                unit,
                confidence,
                reasons,
            })
            .collect();
        Suggestions {
            units,
            categories,
            place,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bihuan_domain::category::Category;
    use bihuan_domain::org::{Unit, UnitKind};

    fn org() -> Org {
        let u = |id, name: &str, kind, parent: Option<u32>| Unit {
            id: UnitId(id),
            name: name.into(),
            kind,
            parent: parent.map(UnitId),
            aliases: vec![],
        };
        Org::new(vec![
            u(1, "云溪县", UnitKind::County, None),
            u(2, "县住建局", UnitKind::Department, Some(1)),
            u(3, "供电公司", UnitKind::Department, Some(1)),
            u(4, "桃源镇", UnitKind::Township, Some(1)),
        ])
        .unwrap()
    }

    fn cats() -> CategoryTree {
        let c = |id, name: &str, parent: Option<u32>| Category {
            id: CategoryId(id),
            name: name.into(),
            parent: parent.map(CategoryId),
        };
        CategoryTree::new(vec![
            c(1, "城乡建设", None),
            c(2, "市政设施", Some(1)),
            c(3, "路灯", Some(2)),
            c(4, "公用事业", None),
            c(5, "停电", Some(4)),
        ])
        .unwrap()
    }

    #[test]
    fn catalogue_place_and_names_combine() {
        let rules = vec![
            Rule {
                id: 1,
                unit: UnitId(2),
                category: Some(CategoryId(1)),
                keywords: vec![],
                note: String::new(),
            },
            Rule {
                id: 2,
                unit: UnitId(3),
                category: None,
                keywords: vec!["停电".into(), "电压".into()],
                note: String::new(),
            },
        ];
        let r = Router::new(
            Tokenizer::default(),
            org(),
            cats(),
            rules,
            Models::default(),
        );
        // Category given: the catalogue rule on its ancestor applies.
        let s = r.suggest("小区路灯不亮", "桃源镇", Some(CategoryId(3)));
        assert_eq!(s.units[0].unit, UnitId(2));
        assert!((s.units[0].confidence - 0.7).abs() < 1e-6);
        assert_eq!(s.units[1].unit, UnitId(4));
        assert_eq!(s.place.as_ref().unwrap().township, Some(UnitId(4)));
        // No category: the name found in the text predicts it, weaker.
        let s = r.suggest("小区路灯不亮", "", None);
        assert_eq!(s.categories[0].category, CategoryId(3));
        assert!((s.units[0].confidence - 0.7 * 0.6).abs() < 1e-6);
        // A keyword rule.
        let s = r.suggest("昨晚又停电了,电压也不稳", "", None);
        assert_eq!(s.units[0].unit, UnitId(3));
        assert!((s.units[0].confidence - 0.8).abs() < 1e-6);
        assert!(r.suggest("你好", "", None).units.is_empty());
    }

    #[test]
    fn rules_are_checked() {
        let o = org();
        let c = cats();
        let mut r = Rule {
            id: 0,
            unit: UnitId(1),
            category: Some(CategoryId(1)),
            keywords: vec![],
            note: String::new(),
        };
        assert!(r.validate(&o, &c).unwrap_err().contains("不能承办"));
        r.unit = UnitId(2);
        assert!(r.validate(&o, &c).is_ok());
        r.category = None;
        assert!(r.validate(&o, &c).is_err());
        r.category = Some(CategoryId(99));
        assert!(r.validate(&o, &c).is_err());
    }
}
