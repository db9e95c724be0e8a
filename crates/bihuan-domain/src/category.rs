//! The three-level category tree of appeals (一级/二级/三级分类), e.g.
//! `城乡建设 / 住房保障 / 公租房`.

use crate::code::ErrorCode;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
pub struct CategoryId(pub u32);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub parent: Option<CategoryId>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    #[error("分类编号 {0} 重复出现，请检查后再保存")]
    DuplicateId(u32),
    #[error("分类 {0} 没有名称，请填写名称")]
    EmptyName(u32),
    #[error("分类 {0}：名称超过100字或含控制字符")]
    NameTooLong(u32),
    #[error("分类 {child} 的上级分类 {parent} 不存在，请先添加上级分类")]
    MissingParent { child: u32, parent: u32 },
    #[error("分类 {0} 超过三级，分类最多三级")]
    TooDeep(u32),
    #[error("分类名称「{0}」在同一上级下重复，请改用不同的名称")]
    DuplicateName(String),
}

impl Category {
    /// The name as an administrator may set it (see [`crate::org::fits_name`]).
    pub fn check_name(&self) -> Result<(), CategoryError> {
        if !crate::org::fits_name(&self.name) {
            return Err(CategoryError::NameTooLong(self.id.0));
        }
        Ok(())
    }
}

impl CategoryError {
    pub fn error_code(&self) -> ErrorCode {
        match self {
            CategoryError::DuplicateId(_) => ErrorCode::CategoryDuplicateId,
            CategoryError::EmptyName(_) => ErrorCode::CategoryEmptyName,
            CategoryError::NameTooLong(_) => ErrorCode::NameTooLong,
            CategoryError::MissingParent { .. } => ErrorCode::CategoryMissingParent,
            CategoryError::TooDeep(_) => ErrorCode::CategoryTooDeep,
            CategoryError::DuplicateName(_) => ErrorCode::CategoryDuplicateName,
        }
    }

    /// The code as the API writes it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

/// A validated tree of at most three levels.
#[derive(Debug, Clone, Default)]
pub struct CategoryTree {
    items: BTreeMap<CategoryId, Category>,
}

impl CategoryTree {
    pub fn new(items: Vec<Category>) -> Result<CategoryTree, CategoryError> {
        let mut map = BTreeMap::new();
        for c in items {
            if c.name.trim().is_empty() {
                return Err(CategoryError::EmptyName(c.id.0));
            }
            let id = c.id;
            if map.insert(id, c).is_some() {
                return Err(CategoryError::DuplicateId(id.0));
            }
        }
        let tree = CategoryTree { items: map };
        let mut names = BTreeMap::new();
        for c in tree.items.values() {
            if let Some(p) = c.parent {
                if !tree.items.contains_key(&p) {
                    return Err(CategoryError::MissingParent {
                        child: c.id.0,
                        parent: p.0,
                    });
                }
            }
            // Walk up at most three steps; a fourth level (or a cycle) is refused.
            let mut depth = 1;
            let mut cur = c.parent;
            while let Some(p) = cur {
                depth += 1;
                if depth > 3 {
                    return Err(CategoryError::TooDeep(c.id.0));
                }
                cur = tree.items.get(&p).and_then(|x| x.parent);
            }
            if names.insert((c.parent, c.name.clone()), c.id).is_some() {
                return Err(CategoryError::DuplicateName(c.name.clone()));
            }
        }
        Ok(tree)
    }

    pub fn get(&self, id: CategoryId) -> Option<&Category> {
        self.items.get(&id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Category> {
        self.items.values()
    }

    /// 1 for a top-level category, up to 3.
    pub fn level(&self, id: CategoryId) -> Option<u8> {
        Some(self.lineage(id)?.len() as u8)
    }

    /// The category and its ancestors, root first.
    pub fn lineage(&self, id: CategoryId) -> Option<Vec<&Category>> {
        let mut out = vec![self.items.get(&id)?];
        while let Some(p) = out.last().and_then(|c| c.parent) {
            out.push(self.items.get(&p)?);
        }
        out.reverse();
        Some(out)
    }

    /// `城乡建设 / 住房保障 / 公租房`.
    pub fn path_name(&self, id: CategoryId) -> Option<String> {
        Some(
            self.lineage(id)?
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(" / "),
        )
    }

    /// The top-level ancestor (一级分类), used for breakdowns.
    pub fn top(&self, id: CategoryId) -> Option<CategoryId> {
        Some(self.lineage(id)?.first()?.id)
    }

    /// Builds a tree from rows of names, one row a leaf path (`[一级, 二级, 三级]`), as in an
    /// exported classification table. Ids are given in order of first appearance from 1.
    pub fn from_paths<S: AsRef<str>>(rows: &[Vec<S>]) -> Result<CategoryTree, CategoryError> {
        let mut items: Vec<Category> = Vec::new();
        let mut index: BTreeMap<(Option<CategoryId>, String), CategoryId> = BTreeMap::new();
        for row in rows {
            let mut parent = None;
            for name in row
                .iter()
                .map(|s| s.as_ref().trim())
                .filter(|s| !s.is_empty())
            {
                let key = (parent, name.to_string());
                let id = match index.get(&key) {
                    Some(id) => *id,
                    None => {
                        let id = CategoryId(items.len() as u32 + 1);
                        items.push(Category {
                            id,
                            name: name.to_string(),
                            parent,
                        });
                        index.insert(key, id);
                        id
                    }
                };
                parent = Some(id);
            }
        }
        CategoryTree::new(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_build_a_tree() {
        let t = CategoryTree::from_paths(&[
            vec!["城乡建设", "住房保障", "公租房"],
            vec!["城乡建设", "住房保障", "棚户区改造"],
            vec!["城乡建设", "市政设施", "路灯"],
            vec!["环境保护", "噪音污染", ""],
        ])
        .unwrap();
        assert_eq!(t.iter().count(), 8);
        let lamp = t.iter().find(|c| c.name == "路灯").unwrap().id;
        assert_eq!(t.path_name(lamp).unwrap(), "城乡建设 / 市政设施 / 路灯");
        assert_eq!(t.level(lamp), Some(3));
        assert_eq!(t.get(t.top(lamp).unwrap()).unwrap().name, "城乡建设");
        let noise = t.iter().find(|c| c.name == "噪音污染").unwrap().id;
        assert_eq!(t.level(noise), Some(2));
    }

    #[test]
    fn bad_trees_are_refused() {
        let c = |id, name: &str, parent: Option<u32>| Category {
            id: CategoryId(id),
            name: name.into(),
            parent: parent.map(CategoryId),
        };
        let e = CategoryTree::new(vec![
            c(1, "a", None),
            c(2, "b", Some(1)),
            c(3, "c", Some(2)),
            c(4, "d", Some(3)),
        ]);
        assert_eq!(e.unwrap_err().code(), "category_too_deep");
        let e = CategoryTree::new(vec![c(1, "a", Some(2)), c(2, "b", Some(1))]);
        assert_eq!(e.unwrap_err().code(), "category_too_deep");
        let e = CategoryTree::new(vec![c(1, "a", None), c(2, "b", Some(9))]);
        assert_eq!(e.unwrap_err().code(), "category_missing_parent");
        let e = CategoryTree::new(vec![c(1, "a", None), c(1, "b", None)]);
        assert_eq!(e.unwrap_err().code(), "category_duplicate_id");
        let e = CategoryTree::new(vec![c(1, "a", None), c(2, "a", None)]);
        assert_eq!(e.unwrap_err().code(), "category_duplicate_name");
        let e = CategoryTree::new(vec![c(1, " ", None)]);
        assert_eq!(e.unwrap_err().code(), "category_empty_name");
    }
}
