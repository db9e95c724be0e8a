//! 入户听诉's registry: the households of each grid (township → village/community → grid →
//! household), with the head of household, how many live there and tags (独居老人, 低保户 …,
//! which are data). Kept in the generic aggregate tables; found by grid, village, township and
//! tag. Redrawing grids moves a household with its history kept; removing one keeps it too.

use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, Aggregate};
use crate::appeal::Phone;
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context, Role};
use crate::org::UnitId;
use crate::time::Instant;

/// The most tags one household carries.
pub const TAGS_MAX: usize = 10;
/// The longest tag, in characters.
pub const TAG_MAX_CHARS: usize = 12;

/// Where a household lies: its grid and, above it, the village (if the grid lies in one) and
/// the township — resolved from the organisation tree by the use case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    pub grid: UnitId,
    pub village: Option<UnitId>,
    pub township: UnitId,
}

/// What is recorded of a household.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HouseholdFacts {
    pub address: String,
    /// 户主
    pub head: String,
    #[schema(value_type = Option<String>)]
    pub phone: Option<Phone>,
    /// 家庭人口
    pub members: u32,
    /// 标签, e.g. 独居老人、低保户、退役军人、企业主.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl HouseholdFacts {
    /// The facts as a registry keeps them: trimmed, tags unique and in the given order.
    pub fn checked(mut self) -> Result<HouseholdFacts, DomainError> {
        self.address = self.address.trim().to_string();
        self.head = self.head.trim().to_string();
        if self.address.is_empty() {
            return Err(DomainError::invalid("address", "请填写住址"));
        }
        if self.address.chars().count() > 200 {
            return Err(DomainError::invalid("address", "住址最多200字"));
        }
        if self.head.is_empty() {
            return Err(DomainError::invalid("head", "请填写户主姓名"));
        }
        if self.head.chars().count() > 30 {
            return Err(DomainError::invalid("head", "户主姓名最多30字"));
        }
        if self.members == 0 || self.members > 99 {
            return Err(DomainError::invalid("members", "家庭人口应为1至99人"));
        }
        if self.phone.as_ref().is_some_and(|p| !p.is_valid()) {
            return Err(DomainError::invalid(
                "phone",
                "电话号码应为5至20位数字（可带 +、空格或短横线）",
            ));
        }
        let mut tags: Vec<String> = Vec::new();
        for t in &self.tags {
            let t = t.trim();
            if t.is_empty() || tags.iter().any(|x| x == t) {
                continue;
            }
            if t.chars().count() > TAG_MAX_CHARS {
                return Err(DomainError::invalid(
                    "tags",
                    format!("标签「{t}」过长（最多{TAG_MAX_CHARS}字）"),
                ));
            }
            if t.chars()
                .any(|c| c.is_control() || matches!(c, ',' | '，' | '、' | ';' | '；'))
            {
                return Err(DomainError::invalid(
                    "tags",
                    format!("标签「{t}」含有分隔符或控制字符"),
                ));
            }
            tags.push(t.to_string());
        }
        if tags.len() > TAGS_MAX {
            return Err(DomainError::invalid(
                "tags",
                format!("一户最多{TAGS_MAX}个标签"),
            ));
        }
        self.tags = tags;
        Ok(self)
    }

    /// Two records of the same household: the same address and head (for an import's
    /// duplicates).
    pub fn same_key(&self) -> String {
        format!("{}|{}", self.address, self.head)
    }

    /// Whether the address or the head contains `text` (a search, after [`search_text`]).
    pub fn matches(&self, text: &str) -> bool {
        search_text(&self.address).contains(text) || search_text(&self.head).contains(text)
    }
}

/// A search's form of a text: without spaces, letters in lower case (住址 and 户主 are searched
/// by any two or more consecutive characters).
pub fn search_text(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The shortest search, in characters.
pub const SEARCH_MIN: usize = 2;

/// The index terms of a text: every two consecutive characters of its [`search_text`], once.
/// A search for any two or more consecutive characters finds it by one of its own terms.
pub fn search_terms(text: &str) -> Vec<String> {
    let chars: Vec<char> = search_text(text).chars().collect();
    let mut out: Vec<String> = chars
        .windows(SEARCH_MIN)
        .map(|w| w.iter().collect())
        .collect();
    out.sort();
    out.dedup();
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Household {
    #[serde(flatten)]
    pub at: Location,
    #[serde(flatten)]
    pub facts: HouseholdFacts,
    /// Removed from the registry (moved away, merged …), with why; its history stays.
    pub removed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HouseholdCommand {
    Register {
        at: Location,
        facts: HouseholdFacts,
    },
    Update {
        facts: HouseholdFacts,
    },
    /// Grids redrawn: the household now lies in another grid.
    Move {
        to: Location,
        reason: String,
    },
    Remove {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HouseholdEvent {
    Registered {
        at: Location,
        facts: HouseholdFacts,
    },
    Updated {
        facts: HouseholdFacts,
    },
    Moved {
        from: Location,
        to: Location,
        reason: String,
    },
    Removed {
        reason: String,
    },
}

/// Who keeps the registry: the grid's own member, the village and township, the centre and
/// administrators.
const KEEPERS: &[Role] = &[
    Role::GridMember,
    Role::Handler,
    Role::UnitLeader,
    Role::Dispatcher,
    Role::Operator,
    Role::Admin,
];

fn reason(s: &str) -> Result<String, DomainError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(DomainError::invalid("reason", "请说明原因"));
    }
    if s.chars().count() > 200 {
        return Err(DomainError::invalid("reason", "原因最多200字"));
    }
    Ok(s.to_string())
}

impl Aggregate for Household {
    const KIND: &'static str = "household";
    /// 2: the search terms (`term`) of the address and the head.
    const INDEX_VERSION: u32 = 2;
    type Command = HouseholdCommand;
    type Event = HouseholdEvent;

    fn decide(
        state: Option<&Self>,
        command: &HouseholdCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<HouseholdEvent>, DomainError> {
        use HouseholdCommand as C;
        require_role(actor, KEEPERS, "household")?;
        match (state, command) {
            (None, C::Register { at, facts }) => Ok(vec![HouseholdEvent::Registered {
                at: *at,
                facts: facts.clone().checked()?,
            }]),
            (None, _) => Err(DomainError::invalid("household", "没有这一户")),
            (Some(_), C::Register { .. }) => {
                Err(DomainError::invalid("household", "这一户已经登记"))
            }
            (Some(h), _) if h.removed.is_some() => Err(DomainError::invalid(
                "household",
                "这一户已从台账移除，不能再修改",
            )),
            (Some(h), C::Update { facts }) => {
                let facts = facts.clone().checked()?;
                if facts == h.facts {
                    return Ok(vec![]);
                }
                Ok(vec![HouseholdEvent::Updated { facts }])
            }
            (Some(h), C::Move { to, reason: r }) => {
                if to.grid == h.at.grid {
                    return Err(DomainError::invalid("grid", "这一户已在该网格"));
                }
                Ok(vec![HouseholdEvent::Moved {
                    from: h.at,
                    to: *to,
                    reason: reason(r)?,
                }])
            }
            (Some(_), C::Remove { reason: r }) => {
                Ok(vec![HouseholdEvent::Removed { reason: reason(r)? }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &HouseholdEvent, _at: Instant) -> Self {
        use HouseholdEvent as E;
        match (state, event) {
            (_, E::Registered { at, facts }) => Household {
                at: *at,
                facts: facts.clone(),
                removed: None,
            },
            (Some(mut h), E::Updated { facts }) => {
                h.facts = facts.clone();
                h
            }
            (Some(mut h), E::Moved { to, .. }) => {
                h.at = *to;
                h
            }
            (Some(mut h), E::Removed { reason }) => {
                h.removed = Some(reason.clone());
                h
            }
            // Only a registration creates one (`decide` refuses anything else first).
            (None, _) => Household {
                at: Location {
                    grid: UnitId(0),
                    village: None,
                    township: UnitId(0),
                },
                facts: HouseholdFacts {
                    address: String::new(),
                    head: String::new(),
                    phone: None,
                    members: 0,
                    tags: vec![],
                },
                removed: Some(String::new()),
            },
        }
    }

    fn event_name(event: &HouseholdEvent) -> &'static str {
        match event {
            HouseholdEvent::Registered { .. } => "registered",
            HouseholdEvent::Updated { .. } => "updated",
            HouseholdEvent::Moved { .. } => "moved",
            HouseholdEvent::Removed { .. } => "removed",
        }
    }

    /// Found by grid, village, township, each tag, the same-household key within its grid (an
    /// import's duplicates) and the search terms of its address and head while in the
    /// registry; a removed household only by `removed`.
    fn index(&self) -> Vec<(&'static str, String)> {
        if self.removed.is_some() {
            return vec![("removed", self.at.township.0.to_string())];
        }
        let mut v = vec![
            ("grid", self.at.grid.0.to_string()),
            ("township", self.at.township.0.to_string()),
            (
                "same",
                format!("{}|{}", self.at.grid.0, self.facts.same_key()),
            ),
        ];
        if let Some(village) = self.at.village {
            v.push(("village", village.0.to_string()));
        }
        v.extend(self.facts.tags.iter().map(|t| ("tag", t.clone())));
        let mut terms = search_terms(&self.facts.address);
        terms.extend(search_terms(&self.facts.head));
        terms.sort();
        terms.dedup();
        v.extend(terms.into_iter().map(|t| ("term", t)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::UnitKind;
    use crate::UserId;

    fn actor(role: Role) -> Actor {
        Actor {
            user: UserId(3),
            name: "网格员".into(),
            role,
            unit: UnitId(22),
            unit_kind: UnitKind::Grid,
        }
    }

    fn run(
        s: Option<&Household>,
        c: HouseholdCommand,
        role: Role,
    ) -> Result<Household, DomainError> {
        let at = crate::time::local(2026, 12, 3, 9, 0, 0).unwrap();
        crate::aggregate::testing::run(s, c, &actor(role), at)
    }

    fn here(grid: u32) -> Location {
        Location {
            grid: UnitId(grid),
            village: Some(UnitId(21)),
            township: UnitId(20),
        }
    }

    fn facts(tags: &[&str]) -> HouseholdFacts {
        HouseholdFacts {
            address: " 东门村3组12号 ".into(),
            head: "王秀英".into(),
            phone: Phone::parse("13912345678").ok(),
            members: 1,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn a_household_is_registered_moved_when_grids_are_redrawn_and_removed_with_its_history() {
        let register = |f| HouseholdCommand::Register {
            at: here(22),
            facts: f,
        };
        // A department's handler may keep it too (the township's staff are handlers); a
        // supervisor may not.
        assert!(run(None, register(facts(&[])), Role::Supervisor).is_err());
        let h = run(
            None,
            register(facts(&["独居老人", "低保户", "独居老人", " "])),
            Role::GridMember,
        )
        .unwrap();
        assert_eq!(h.facts.address, "东门村3组12号");
        assert_eq!(h.facts.tags, vec!["独居老人", "低保户"], "trimmed, unique");
        let idx = h.index();
        assert!(idx.contains(&("tag", "低保户".into())) && idx.contains(&("grid", "22".into())));
        // Any two consecutive characters of the address or head find it; the rest is checked.
        for q in ["东门", "3组", "12", "2号", "王秀", "秀英"] {
            assert!(idx.contains(&("term", q.into())), "{q}");
        }
        assert!(
            !idx.contains(&("term", "门王".into())),
            "address and head apart"
        );
        assert!(h.facts.matches(&search_text(" 3组12 ")) && h.facts.matches("王秀英"));
        assert!(!h.facts.matches("3组13"));
        assert_eq!(
            search_terms("Ab c"),
            vec!["ab", "bc"],
            "spaces out, lower case"
        );
        let mut bad = facts(&[]);
        bad.members = 0;
        assert!(run(None, register(bad), Role::GridMember).is_err());
        assert!(run(None, register(facts(&["独居、老人"])), Role::GridMember).is_err());
        let moved = run(
            Some(&h),
            HouseholdCommand::Move {
                to: here(23),
                reason: "网格调整".into(),
            },
            Role::UnitLeader,
        )
        .unwrap();
        assert_eq!(moved.at.grid, UnitId(23));
        assert!(moved.index().contains(&("grid", "23".into())));
        let gone = run(
            Some(&moved),
            HouseholdCommand::Remove {
                reason: "全户迁出".into(),
            },
            Role::GridMember,
        )
        .unwrap();
        assert_eq!(gone.index(), vec![("removed", "20".to_string())]);
        assert!(run(
            Some(&gone),
            HouseholdCommand::Update { facts: facts(&[]) },
            Role::GridMember
        )
        .is_err());
    }
}
