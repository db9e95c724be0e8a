//! The organisation: a county (or city) with its departments, and its townships and subdistricts
//! with their villages or communities and, below them, grids.
//!
//! ```text
//! county ─┬─ department (县住建局, 县人社局 …)
//!         └─ township ── village/community ── grid
//! ```
//!
//! A city is modelled as the root (`County` kind, "the area the platform serves") with its
//! districts' departments and subdistricts under it; a province would add another level later.
//! Units have aliases (short and old names) that place matching will use.

use crate::code::ErrorCode;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Identifies a unit.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct UnitId(pub u32);

/// What a unit is; decides where it may sit in the tree and what it may do (only a township
/// blows the whistle, for instance).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// The county or city itself, the root. Its dispatch centre (12345 / 信访) acts in its name.
    County,
    /// A functional department of the county government (县直部门).
    Department,
    /// A township or subdistrict (乡镇/街道).
    Township,
    /// A village or community (村/社区).
    Village,
    /// A grid (网格), the smallest area of responsibility.
    Grid,
}

impl UnitKind {
    pub fn label(self) -> &'static str {
        match self {
            UnitKind::County => "县（市）",
            UnitKind::Department => "部门",
            UnitKind::Township => "乡镇（街道）",
            UnitKind::Village => "村（社区）",
            UnitKind::Grid => "网格",
        }
    }

    /// The kind a unit of this kind must have as its parent; `None` for the root.
    pub fn parent_kinds(self) -> &'static [UnitKind] {
        match self {
            UnitKind::County => &[],
            UnitKind::Department | UnitKind::Township => &[UnitKind::County],
            UnitKind::Village => &[UnitKind::Township],
            // A grid usually lies in a village; some townships draw grids directly.
            UnitKind::Grid => &[UnitKind::Village, UnitKind::Township],
        }
    }

    /// Whether units of this kind can take work orders as a lead or assisting unit.
    pub fn can_handle(self) -> bool {
        matches!(
            self,
            UnitKind::Department | UnitKind::Township | UnitKind::Village
        )
    }
}

/// One unit of the organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: UnitId,
    pub name: String,
    pub kind: UnitKind,
    pub parent: Option<UnitId>,
    /// Other names people use for it: short forms, former names.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// Why an organisation tree is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgError {
    #[error("单位编号 {0} 重复出现，请检查后再保存")]
    DuplicateId(u32),
    #[error("单位 {0} 没有名称，请填写名称")]
    EmptyName(u32),
    #[error("单位 {0}：名称或别名超过100字、含控制字符，或别名多于20个")]
    NameTooLong(u32),
    #[error("单位 {unit} 的上级单位 {parent} 不存在，请先添加上级单位")]
    MissingParent { unit: u32, parent: u32 },
    #[error("单位 {unit}（{}）不能隶属于{}，请选择合适的上级单位", kind.label(), parent_kind.label())]
    WrongParentKind {
        unit: u32,
        kind: UnitKind,
        parent_kind: UnitKind,
    },
    #[error("单位 {0}：县（市）不能有上级单位，其他单位必须有上级单位")]
    BadRoot(u32),
    #[error("组织架构须有且只有一个县（市），现有 {0} 个")]
    RootCount(usize),
    #[error("名称或别名「{0}」在同一上级下被两个单位使用，请改用不同的名称")]
    AmbiguousName(String),
}

impl OrgError {
    pub fn error_code(&self) -> ErrorCode {
        match self {
            OrgError::DuplicateId(_) => ErrorCode::OrgDuplicateId,
            OrgError::EmptyName(_) => ErrorCode::OrgEmptyName,
            OrgError::NameTooLong(_) => ErrorCode::NameTooLong,
            OrgError::MissingParent { .. } => ErrorCode::OrgMissingParent,
            OrgError::WrongParentKind { .. } => ErrorCode::OrgWrongParentKind,
            OrgError::BadRoot(_) => ErrorCode::OrgBadRoot,
            OrgError::RootCount(_) => ErrorCode::OrgRootCount,
            OrgError::AmbiguousName(_) => ErrorCode::OrgAmbiguousName,
        }
    }

    /// The code as the API writes it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

/// A validated organisation tree.
/// Whether a unit's or category's name (or an alias) can be kept: at most 100 characters, no
/// control characters. Exports, pages and place matching all show or match them whole. Checked
/// on what is being added or changed (`Unit::check_names`), not on what is stored already, so a
/// database from before the limit still opens.
pub fn fits_name(name: &str) -> bool {
    name.chars().count() <= 100 && !name.chars().any(char::is_control)
}

impl Unit {
    /// The unit's name and aliases as an administrator may set them.
    pub fn check_names(&self) -> Result<(), OrgError> {
        if !fits_name(&self.name)
            || self.aliases.len() > 20
            || !self.aliases.iter().all(|a| fits_name(a))
        {
            return Err(OrgError::NameTooLong(self.id.0));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
pub struct Org {
    units: BTreeMap<UnitId, Unit>,
}

impl Org {
    /// Checks the tree: unique ids, one root county, each parent of the right kind, no name
    /// (or alias) shared by two siblings — place matching would not know which one is meant.
    pub fn new(units: Vec<Unit>) -> Result<Org, OrgError> {
        let mut map = BTreeMap::new();
        for u in units {
            if u.name.trim().is_empty() {
                return Err(OrgError::EmptyName(u.id.0));
            }
            if !fits_name(&u.name)
                || u.aliases.len() > 20
                || !u.aliases.iter().all(|a| fits_name(a))
            {
                return Err(OrgError::NameTooLong(u.id.0));
            }
            let id = u.id;
            if map.insert(id, u).is_some() {
                return Err(OrgError::DuplicateId(id.0));
            }
        }
        let roots = map.values().filter(|u| u.kind == UnitKind::County).count();
        if roots != 1 {
            return Err(OrgError::RootCount(roots));
        }
        let mut sibling_names: BTreeMap<(Option<UnitId>, String), UnitId> = BTreeMap::new();
        for u in map.values() {
            match (u.kind, u.parent) {
                (UnitKind::County, None) => {}
                (UnitKind::County, Some(_)) | (_, None) => return Err(OrgError::BadRoot(u.id.0)),
                (kind, Some(p)) => {
                    let parent = map.get(&p).ok_or(OrgError::MissingParent {
                        unit: u.id.0,
                        parent: p.0,
                    })?;
                    if !kind.parent_kinds().contains(&parent.kind) {
                        return Err(OrgError::WrongParentKind {
                            unit: u.id.0,
                            kind,
                            parent_kind: parent.kind,
                        });
                    }
                }
            }
            for name in std::iter::once(&u.name).chain(u.aliases.iter()) {
                let key = (u.parent, name.trim().to_string());
                if let Some(other) = sibling_names.insert(key, u.id) {
                    if other != u.id {
                        return Err(OrgError::AmbiguousName(name.clone()));
                    }
                }
            }
        }
        Ok(Org { units: map })
    }

    pub fn get(&self, id: UnitId) -> Option<&Unit> {
        self.units.get(&id)
    }

    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    pub fn root(&self) -> &Unit {
        self.units
            .values()
            .find(|u| u.kind == UnitKind::County)
            .expect("validated: exactly one root")
    }

    pub fn children(&self, id: UnitId) -> impl Iterator<Item = &Unit> {
        self.units.values().filter(move |u| u.parent == Some(id))
    }

    /// The unit and its ancestors up to the root, nearest first.
    pub fn ancestry(&self, id: UnitId) -> Vec<&Unit> {
        let mut out = Vec::new();
        let mut cur = self.units.get(&id);
        while let Some(u) = cur {
            out.push(u);
            cur = u.parent.and_then(|p| self.units.get(&p));
        }
        out
    }

    /// The township a unit belongs to (itself when it is one).
    pub fn township_of(&self, id: UnitId) -> Option<&Unit> {
        self.ancestry(id)
            .into_iter()
            .find(|u| u.kind == UnitKind::Township)
    }

    /// Units whose name or one of whose aliases equals `name` (after trimming).
    pub fn find_by_name<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Unit> + 'a {
        let name = name.trim();
        self.units
            .values()
            .filter(move |u| u.name == name || u.aliases.iter().any(|a| a == name))
    }

    /// The full path of a unit's names, root excluded: `城关镇 / 东门社区 / 第三网格`.
    pub fn path_name(&self, id: UnitId) -> Option<String> {
        let chain = self.ancestry(id);
        if chain.is_empty() {
            return None;
        }
        let names: Vec<&str> = chain
            .iter()
            .rev()
            .filter(|u| u.kind != UnitKind::County)
            .map(|u| u.name.as_str())
            .collect();
        Some(if names.is_empty() {
            chain[0].name.clone()
        } else {
            names.join(" / ")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: u32, name: &str, kind: UnitKind, parent: Option<u32>) -> Unit {
        Unit {
            id: UnitId(id),
            name: name.into(),
            kind,
            parent: parent.map(UnitId),
            aliases: vec![],
        }
    }

    fn sample() -> Vec<Unit> {
        let mut v = vec![
            unit(1, "吉安示范县", UnitKind::County, None),
            unit(2, "县住建局", UnitKind::Department, Some(1)),
            unit(3, "城关镇", UnitKind::Township, Some(1)),
            unit(4, "东门社区", UnitKind::Village, Some(3)),
            unit(5, "东门社区第一网格", UnitKind::Grid, Some(4)),
            unit(6, "城关镇直属网格", UnitKind::Grid, Some(3)),
        ];
        v[1].aliases = vec!["住建局".into(), "住房和城乡建设局".into()];
        v
    }

    #[test]
    fn a_valid_tree_answers_questions() {
        let org = Org::new(sample()).unwrap();
        assert_eq!(org.root().id, UnitId(1));
        assert_eq!(org.township_of(UnitId(5)).unwrap().name, "城关镇");
        assert!(org.township_of(UnitId(2)).is_none());
        assert_eq!(
            org.path_name(UnitId(5)).unwrap(),
            "城关镇 / 东门社区 / 东门社区第一网格"
        );
        assert_eq!(org.path_name(UnitId(1)).unwrap(), "吉安示范县");
        assert_eq!(org.find_by_name(" 住建局 ").next().unwrap().id, UnitId(2));
        assert_eq!(org.children(UnitId(3)).count(), 2);
        assert!(UnitKind::Township.can_handle() && !UnitKind::Grid.can_handle());
    }

    #[test]
    fn invalid_trees_are_refused() {
        let mut v = sample();
        v.push(unit(2, "重复", UnitKind::Department, Some(1)));
        assert_eq!(Org::new(v).unwrap_err().code(), "org_duplicate_id");

        let mut v = sample();
        v.push(unit(7, "孤村", UnitKind::Village, Some(99)));
        assert_eq!(Org::new(v).unwrap_err().code(), "org_missing_parent");

        let mut v = sample();
        v.push(unit(7, "部门下的村", UnitKind::Village, Some(2)));
        assert_eq!(Org::new(v).unwrap_err().code(), "org_wrong_parent_kind");

        let mut v = sample();
        v.push(unit(7, "第二个县", UnitKind::County, None));
        assert_eq!(Org::new(v).unwrap_err().code(), "org_root_count");

        let mut v = sample();
        v.push(unit(7, "无上级部门", UnitKind::Department, None));
        assert_eq!(Org::new(v).unwrap_err().code(), "org_bad_root");

        let mut v = sample();
        v.push(unit(7, "  ", UnitKind::Department, Some(1)));
        assert_eq!(Org::new(v).unwrap_err().code(), "org_empty_name");

        let mut v = sample();
        let mut dup = unit(7, "县人社局", UnitKind::Department, Some(1));
        dup.aliases = vec!["住建局".into()];
        v.push(dup);
        assert_eq!(Org::new(v).unwrap_err().code(), "org_ambiguous_name");
    }
}
