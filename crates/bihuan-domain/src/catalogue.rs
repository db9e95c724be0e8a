//! The dispatch catalogue (派单目录): which unit takes which appeals, kept by administrators.
//! Smart dispatch reads it for its suggestions; the catalogue itself is plain data.

use serde::{Deserialize, Serialize};

use crate::category::{CategoryId, CategoryTree};
use crate::org::{Org, UnitId};

/// One entry of the dispatch catalogue (派单目录), kept by administrators: appeals of this
/// category, or mentioning one of these keywords, go to this unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(default)]
    pub id: u32,
    pub unit: UnitId,
    /// The category (and every category below it) this rule covers.
    #[serde(default)]
    pub category: Option<CategoryId>,
    /// Words that send an appeal to the unit. With a category too, both must match.
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub note: String,
}

impl Rule {
    pub fn validate(&self, org: &Org, categories: &CategoryTree) -> Result<(), String> {
        let unit = org
            .get(self.unit)
            .ok_or_else(|| format!("单位 {} 不存在", self.unit.0))?;
        if !unit.kind.can_handle() {
            return Err(format!(
                "{}不能承办诉求，不能作为派单目录的承办单位",
                unit.name
            ));
        }
        if let Some(c) = self.category {
            if categories.get(c).is_none() {
                return Err(format!("类别 {} 不存在", c.0));
            }
        }
        if self.category.is_none() && self.keywords.iter().all(|k| k.trim().is_empty()) {
            return Err("规则至少要有类别或关键词之一".into());
        }
        if self.keywords.len() > 50 || self.keywords.iter().any(|k| k.chars().count() > 30) {
            return Err("关键词最多50个，每个不超过30字".into());
        }
        if self.note.chars().count() > 200 {
            return Err("备注不能超过200字".into());
        }
        Ok(())
    }
}
