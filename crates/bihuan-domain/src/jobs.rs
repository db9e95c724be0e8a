//! 就业之家: a township's free public employment service (就业促进法 Art 35) — job postings
//! with the fields 人力资源市场暂行条例 Art 24 requires, checked for discriminatory wording
//! (就业促进法 Art 26-style rules as data) and reviewed by staff before they are public; job
//! seekers registered with their consent; referrals from 推荐 to hired with follow-ups at one,
//! three and six months; loans facilitated against the policy caps.
//!
//! Four aggregates: [`Posting`], [`Seeker`], [`Referral`], [`Loan`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, required_text as text, Aggregate};
use crate::appeal::{labelled_enum, Phone};
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context, Role};
use crate::org::UnitId;
use crate::time::{local_date, Instant};

/// Who runs the service: a township's (or village's) staff, grid members, the centre.
pub const STAFF: &[Role] = &[
    Role::Handler,
    Role::UnitLeader,
    Role::GridMember,
    Role::Dispatcher,
    Role::Admin,
    Role::System,
];

/// Who writes and withdraws postings: the staff, and an employer for its own.
pub const POSTERS: &[Role] = &[
    Role::Handler,
    Role::UnitLeader,
    Role::GridMember,
    Role::Dispatcher,
    Role::Admin,
    Role::System,
    Role::Employer,
];

/// Who reviews postings before they are public (Art 29 of 人力资源市场暂行条例).
pub const REVIEWERS: &[Role] = &[
    Role::Handler,
    Role::UnitLeader,
    Role::Dispatcher,
    Role::Admin,
];

// ---------------------------------------------------------------------------------------------
// The wording check

labelled_enum! {
    /// What a discriminatory phrase discriminates by.
    Ground {
        Gender => "gender", "性别";
        Age => "age", "年龄";
        Ethnicity => "ethnicity", "民族";
        Region => "region", "地域";
        Hukou => "hukou", "户籍";
        Other => "other", "其他";
    }
}

/// A rule of the wording check: phrases that discriminate, and phrases that contain them but
/// do not (男女不限 contains 男).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WordingRule {
    pub ground: Ground,
    pub phrases: Vec<String>,
    #[serde(default)]
    pub except: Vec<String>,
}

/// A phrase the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Flag {
    pub ground: Ground,
    /// The words as written.
    pub found: String,
}

/// The default rules (就业促进法 Arts 3, 26–31; 妇女权益保障法 Art 43; the age rule reads
/// upper age limits and birth-decade phrases such as 90后).
pub fn default_rules() -> Vec<WordingRule> {
    let r = |ground, phrases: &[&str], except: &[&str]| WordingRule {
        ground,
        phrases: phrases.iter().map(|s| s.to_string()).collect(),
        except: except.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        r(
            Ground::Gender,
            &[
                "限男",
                "限女",
                "男性优先",
                "女性优先",
                "男士优先",
                "女士优先",
                "仅招男",
                "仅招女",
                "只招男",
                "只招女",
                "已婚已育",
                "未婚",
                "不招孕妇",
            ],
            &["男女不限", "不限男女"],
        ),
        r(
            Ground::Ethnicity,
            &["限汉族", "汉族优先", "少数民族除外", "不招少数民族"],
            &[],
        ),
        r(
            Ground::Region,
            &[
                "限本地人",
                "本地人优先",
                "外地人勿扰",
                "不招外地",
                "限本省人",
                "河南人勿扰",
                "外省人勿扰",
            ],
            &[],
        ),
        r(
            Ground::Hukou,
            &[
                "本地户口",
                "本地户籍",
                "限本市户籍",
                "城镇户口",
                "非农户口",
                "农村户口勿扰",
                "限户籍",
            ],
            &["户籍不限", "不限户籍"],
        ),
        r(Ground::Other, &["乙肝携带者勿扰", "不招乙肝"], &[]),
    ]
}

/// Upper age limits ("35岁以下", "35周岁以内", "不超过40岁", "年龄不超过40") and birth-decade
/// phrases ("90后") in `s`.
fn age_flags(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        let digits: String = chars[start..i].iter().collect();
        let rest: String = chars[i..chars.len().min(i + 4)].iter().collect();
        let before: String = if start >= 3 {
            chars[start - 3..start].iter().collect()
        } else {
            String::new()
        };
        let upper = ["周岁以下", "周岁以内", "岁以下", "岁以内"]
            .iter()
            .find(|w| rest.starts_with(*w))
            .map(|w| w.chars().count());
        let capped = ["不超过", "不大于", "不高于"]
            .iter()
            .any(|w| before.ends_with(w));
        let years = ["周岁", "岁"]
            .iter()
            .find(|w| rest.starts_with(*w))
            .map(|w| w.chars().count());
        let decade = digits.len() == 2 && rest.starts_with('后') && !rest.starts_with("后勤");
        let span = match (upper, capped, years, decade) {
            (Some(n), _, _, _) => Some((start, i + n)),
            (None, true, Some(n), _) => Some((start - 3, i + n)),
            (None, _, _, true) => Some((start, i + 1)),
            _ => None,
        };
        if let Some((a, b)) = span {
            out.push(chars[a..b].iter().collect());
        }
    }
    out
}

/// The discriminatory phrases in `s` by `rules` (and the age rule).
pub fn check_wording(s: &str, rules: &[WordingRule]) -> Vec<Flag> {
    let mut out: Vec<Flag> = Vec::new();
    for r in rules {
        let mut cleaned = s.to_string();
        for e in &r.except {
            cleaned = cleaned.replace(e.as_str(), "　");
        }
        for p in &r.phrases {
            if cleaned.contains(p.as_str()) && !out.iter().any(|f| &f.found == p) {
                out.push(Flag {
                    ground: r.ground,
                    found: p.clone(),
                });
            }
        }
    }
    for found in age_flags(s) {
        out.push(Flag {
            ground: Ground::Age,
            found,
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Postings

labelled_enum! {
    PostingStatus {
        Draft => "draft", "草稿";
        Pending => "pending", "待审核";
        Published => "published", "已发布";
        Filled => "filled", "已招满";
        Expired => "expired", "已过期";
        Withdrawn => "withdrawn", "已撤回";
    }
}

/// What a posting states (人力资源市场暂行条例 Art 24: employer, headcount, requirements, duties,
/// location, pay), with the working hours and the dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PostingFacts {
    pub title: String,
    /// 用人单位
    pub employer: String,
    /// The employer in the enterprise registry, if it is there.
    #[serde(default)]
    pub enterprise: Option<u64>,
    pub headcount: u32,
    /// 任职要求
    pub requirements: String,
    /// 岗位职责
    pub duties: String,
    /// 工作地点
    pub address: String,
    #[schema(value_type = u32)]
    pub township: UnitId,
    /// 月薪（元）下限、上限
    pub pay_min: u32,
    pub pay_max: u32,
    /// 工作时间
    pub hours: String,
    #[schema(value_type = String, format = Date)]
    pub expires_on: NaiveDate,
    /// The 用工需求 it answers: a labour demand's appeal number (from an enterprise visit).
    #[serde(default)]
    pub from_demand: Option<String>,
    /// Gathered through the township chamber of commerce (商会).
    #[serde(default)]
    pub via_chamber: bool,
}

/// A job posting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Posting {
    #[serde(flatten)]
    pub facts: PostingFacts,
    pub status: PostingStatus,
    /// What the wording check found at the last submission.
    #[serde(default)]
    pub flags: Vec<Flag>,
    #[schema(value_type = Option<String>, format = Date)]
    pub published_on: Option<NaiveDate>,
    #[serde(default)]
    pub review_note: String,
    /// How many were hired through referrals.
    #[serde(default)]
    pub hired: u32,
}

impl Posting {
    /// Published and not past its closing date on `on`.
    pub fn open_on(&self, on: NaiveDate) -> bool {
        self.status == PostingStatus::Published && on <= self.facts.expires_on
    }
    /// Every text the wording check reads.
    pub fn words(&self) -> String {
        format!(
            "{}\n{}\n{}\n{}",
            self.facts.title, self.facts.requirements, self.facts.duties, self.facts.hours
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostingCommand {
    Draft(Box<PostingFacts>),
    Edit(Box<PostingFacts>),
    /// Submitted for review: the check runs with these rules.
    Submit {
        rules: Vec<WordingRule>,
    },
    Review {
        approve: bool,
        note: String,
    },
    Close {
        status: PostingStatus,
        note: String,
    },
    Hired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PostingEvent {
    Drafted {
        facts: Box<PostingFacts>,
    },
    Edited {
        facts: Box<PostingFacts>,
    },
    Submitted {
        flags: Vec<Flag>,
    },
    Reviewed {
        approve: bool,
        note: String,
        on: NaiveDate,
    },
    Closed {
        status: PostingStatus,
        note: String,
    },
    Hired,
}

fn checked_facts(f: &PostingFacts, today: NaiveDate) -> Result<PostingFacts, DomainError> {
    let mut f = f.clone();
    f.title = text("job.title", &f.title, 60, "岗位名称")?;
    f.employer = text("employer", &f.employer, 100, "用人单位")?;
    f.requirements = text("requirements", &f.requirements, 1000, "任职要求")?;
    f.duties = text("duties", &f.duties, 1000, "岗位职责")?;
    f.address = text("address", &f.address, 200, "工作地点")?;
    f.hours = text("hours", &f.hours, 100, "工作时间")?;
    if !(1..=10_000).contains(&f.headcount) {
        return Err(DomainError::invalid("headcount", "招聘人数须为 1 至 10000"));
    }
    if f.pay_min == 0 || f.pay_min > f.pay_max || f.pay_max > 1_000_000 {
        return Err(DomainError::invalid(
            "pay",
            "请写明月薪范围（元）：下限大于 0，且不高于上限",
        ));
    }
    if f.expires_on < today {
        return Err(DomainError::invalid("expires_on", "截止日期不能早于今天"));
    }
    Ok(f)
}

impl Aggregate for Posting {
    const KIND: &'static str = "job_posting";
    type Command = PostingCommand;
    type Event = PostingEvent;

    fn decide(
        state: Option<&Self>,
        command: &PostingCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<PostingEvent>, DomainError> {
        use PostingCommand as C;
        use PostingStatus as S;
        let today = local_date(at);
        match (state, command) {
            (None, C::Draft(f)) => {
                require_role(actor, POSTERS, "job_posting")?;
                Ok(vec![PostingEvent::Drafted {
                    facts: Box::new(checked_facts(f, today)?),
                }])
            }
            (None, _) => Err(DomainError::invalid("job_posting", "没有这个岗位")),
            (Some(_), C::Draft(_)) => Err(DomainError::invalid("job_posting", "岗位已经登记")),
            (Some(p), C::Edit(f)) => {
                require_role(actor, POSTERS, "job_posting")?;
                if !matches!(p.status, S::Draft | S::Pending | S::Published) {
                    return Err(DomainError::invalid("job_posting", "已结束的岗位不能修改"));
                }
                // A published posting edited goes back to review.
                Ok(vec![PostingEvent::Edited {
                    facts: Box::new(checked_facts(f, today)?),
                }])
            }
            (Some(p), C::Submit { rules }) => {
                require_role(actor, POSTERS, "job_posting")?;
                if p.status != S::Draft {
                    return Err(DomainError::invalid("job_posting", "只有草稿可以提交审核"));
                }
                Ok(vec![PostingEvent::Submitted {
                    flags: check_wording(&p.words(), rules),
                }])
            }
            (Some(p), C::Review { approve, note }) => {
                require_role(actor, REVIEWERS, "job_posting")?;
                if p.status != S::Pending {
                    return Err(DomainError::invalid(
                        "job_posting",
                        "这个岗位不在待审核状态",
                    ));
                }
                if *approve && !p.flags.is_empty() {
                    let words: Vec<String> = p
                        .flags
                        .iter()
                        .map(|f| format!("「{}」（{}）", f.found, f.ground.label()))
                        .collect();
                    return Err(DomainError::invalid(
                        "job_posting",
                        format!(
                            "岗位信息含有歧视性表述：{}，请退回修改后再发布",
                            words.join("、")
                        ),
                    ));
                }
                let note = note.trim().chars().take(500).collect::<String>();
                if !approve && note.is_empty() {
                    return Err(DomainError::invalid("note", "退回修改时请写明原因"));
                }
                Ok(vec![PostingEvent::Reviewed {
                    approve: *approve,
                    note,
                    on: today,
                }])
            }
            (Some(p), C::Close { status, note }) => {
                require_role(actor, POSTERS, "job_posting")?;
                if !matches!(status, S::Filled | S::Expired | S::Withdrawn) {
                    return Err(DomainError::invalid(
                        "job_posting",
                        "结束时请选择：已招满、已过期或已撤回",
                    ));
                }
                if matches!(p.status, S::Filled | S::Expired | S::Withdrawn) {
                    return Err(DomainError::invalid("job_posting", "岗位已经结束"));
                }
                Ok(vec![PostingEvent::Closed {
                    status: *status,
                    note: note.trim().chars().take(200).collect(),
                }])
            }
            (Some(_), C::Hired) => Ok(vec![PostingEvent::Hired]),
        }
    }

    fn apply(state: Option<Self>, event: &PostingEvent, _at: Instant) -> Self {
        use PostingEvent as E;
        use PostingStatus as S;
        match (state, event) {
            (_, E::Drafted { facts }) => Posting {
                facts: (**facts).clone(),
                status: S::Draft,
                flags: vec![],
                published_on: None,
                review_note: String::new(),
                hired: 0,
            },
            (Some(mut p), e) => {
                match e {
                    E::Drafted { .. } => {}
                    E::Edited { facts } => {
                        p.facts = (**facts).clone();
                        p.status = S::Draft;
                        p.flags.clear();
                    }
                    E::Submitted { flags } => {
                        p.flags = flags.clone();
                        p.status = S::Pending;
                    }
                    E::Reviewed { approve, note, on } => {
                        p.review_note = note.clone();
                        if *approve {
                            p.status = S::Published;
                            p.published_on = Some(*on);
                        } else {
                            p.status = S::Draft;
                        }
                    }
                    E::Closed { status, note } => {
                        p.status = *status;
                        p.review_note = note.clone();
                    }
                    E::Hired => p.hired += 1,
                }
                p
            }
            (None, _) => unreachable_posting(),
        }
    }

    fn event_name(event: &PostingEvent) -> &'static str {
        match event {
            PostingEvent::Drafted { .. } => "drafted",
            PostingEvent::Edited { .. } => "edited",
            PostingEvent::Submitted { .. } => "submitted",
            PostingEvent::Reviewed { .. } => "reviewed",
            PostingEvent::Closed { .. } => "closed",
            PostingEvent::Hired => "hired",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![
            ("township", self.facts.township.0.to_string()),
            (
                "status",
                format!("{}|{}", self.facts.township.0, self.status.code()),
            ),
        ]
    }
}

/// The state a posting's non-creating event would make from nothing (never reached: `decide`
/// refuses anything but a draft first).
fn unreachable_posting() -> Posting {
    Posting {
        facts: PostingFacts {
            title: String::new(),
            employer: String::new(),
            enterprise: None,
            headcount: 0,
            requirements: String::new(),
            duties: String::new(),
            address: String::new(),
            township: UnitId(0),
            pay_min: 0,
            pay_max: 0,
            hours: String::new(),
            expires_on: NaiveDate::MIN,
            from_demand: None,
            via_chamber: false,
        },
        status: PostingStatus::Withdrawn,
        flags: vec![],
        published_on: None,
        review_note: String::new(),
        hired: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// Seekers

/// What a seeker allowed (就业促进法: the service is free and personal data shared only with
/// consent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Consent {
    /// To be matched and referred to employers.
    pub referral: bool,
    /// That employers receive the phone number on a referral.
    pub share_phone: bool,
}

/// A job seeker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Seeker {
    pub name: String,
    #[schema(value_type = Option<String>)]
    pub phone: Option<Phone>,
    #[schema(value_type = u32)]
    pub township: UnitId,
    #[schema(value_type = Option<u32>)]
    pub village: Option<UnitId>,
    pub skills: Vec<String>,
    /// Jobs wanted, in words (e.g. 普工、电工、收银).
    pub wishes: Vec<String>,
    /// Wants a job in the township (家门口就业).
    #[serde(default)]
    pub near_home: bool,
    #[serde(default)]
    pub available: String,
    /// 退役军人、就业困难人员、返乡人员 … (data).
    #[serde(default)]
    pub tags: Vec<String>,
    pub consent: Consent,
    /// Placed, or withdrew: no longer matched.
    #[serde(default)]
    pub closed: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeekerCommand {
    Register(Box<Seeker>),
    Update(Box<Seeker>),
    Close { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SeekerEvent {
    Registered { seeker: Box<Seeker> },
    Updated { seeker: Box<Seeker> },
    Closed { reason: String },
}

fn checked_seeker(s: &Seeker) -> Result<Seeker, DomainError> {
    let mut s = s.clone();
    s.name = text("seeker.name", &s.name, 40, "姓名")?;
    let clean = |list: &[String]| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for x in list {
            let x = x.trim().to_string();
            if !x.is_empty() && x.chars().count() <= 20 && !out.contains(&x) {
                out.push(x);
            }
        }
        out
    };
    s.skills = clean(&s.skills);
    s.wishes = clean(&s.wishes);
    s.tags = clean(&s.tags);
    s.available = s.available.trim().chars().take(100).collect();
    if s.consent.share_phone && !s.consent.referral {
        return Err(DomainError::invalid(
            "consent",
            "同意向用人单位提供电话，须先同意被推荐",
        ));
    }
    s.closed = None;
    Ok(s)
}

impl Aggregate for Seeker {
    const KIND: &'static str = "job_seeker";
    type Command = SeekerCommand;
    type Event = SeekerEvent;

    fn decide(
        state: Option<&Self>,
        command: &SeekerCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<SeekerEvent>, DomainError> {
        require_role(actor, STAFF, "job_seeker")?;
        match (state, command) {
            (None, SeekerCommand::Register(s)) => Ok(vec![SeekerEvent::Registered {
                seeker: Box::new(checked_seeker(s)?),
            }]),
            (None, _) => Err(DomainError::invalid("job_seeker", "没有这位求职者")),
            (Some(_), SeekerCommand::Register(_)) => {
                Err(DomainError::invalid("job_seeker", "求职者已经登记"))
            }
            (Some(old), SeekerCommand::Update(s)) => {
                let s = checked_seeker(s)?;
                if &s == old {
                    return Ok(vec![]);
                }
                Ok(vec![SeekerEvent::Updated {
                    seeker: Box::new(s),
                }])
            }
            (Some(s), SeekerCommand::Close { reason }) => {
                if s.closed.is_some() {
                    return Ok(vec![]);
                }
                Ok(vec![SeekerEvent::Closed {
                    reason: text("reason", reason, 200, "原因")?,
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &SeekerEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, SeekerEvent::Registered { seeker } | SeekerEvent::Updated { seeker }) => {
                (**seeker).clone()
            }
            (Some(mut s), SeekerEvent::Closed { reason }) => {
                s.closed = Some(reason.clone());
                s
            }
            (None, SeekerEvent::Closed { reason }) => Seeker {
                name: String::new(),
                phone: None,
                township: UnitId(0),
                village: None,
                skills: vec![],
                wishes: vec![],
                near_home: false,
                available: String::new(),
                tags: vec![],
                consent: Consent::default(),
                closed: Some(reason.clone()),
            },
        }
    }

    fn event_name(event: &SeekerEvent) -> &'static str {
        match event {
            SeekerEvent::Registered { .. } => "registered",
            SeekerEvent::Updated { .. } => "updated",
            SeekerEvent::Closed { .. } => "closed",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![("township", self.township.0.to_string())]
    }
}

/// Why a seeker suits a posting: each reason in words, and a score to sort by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suitability {
    pub score: u32,
    pub reasons: Vec<String>,
}

/// How well `s` suits `p`: skills named in the posting, wishes matching its title or duties,
/// the same township (家门口). None when the seeker may not be referred or is placed.
pub fn suits(s: &Seeker, p: &Posting) -> Option<Suitability> {
    if !s.consent.referral || s.closed.is_some() {
        return None;
    }
    let words = p.words();
    let mut reasons = Vec::new();
    let mut score = 0;
    let skills: Vec<&String> = s
        .skills
        .iter()
        .filter(|k| words.contains(k.as_str()))
        .collect();
    if !skills.is_empty() {
        score += 3 * skills.len() as u32;
        reasons.push(format!(
            "技能符合：{}",
            skills
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join("、")
        ));
    }
    let wishes: Vec<&String> = s
        .wishes
        .iter()
        .filter(|w| p.facts.title.contains(w.as_str()) || p.facts.duties.contains(w.as_str()))
        .collect();
    if !wishes.is_empty() {
        score += 2 * wishes.len() as u32;
        reasons.push(format!(
            "意向岗位：{}",
            wishes
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join("、")
        ));
    }
    if s.township == p.facts.township {
        score += 1 + u32::from(s.near_home);
        reasons.push(if s.near_home {
            "同一乡镇，希望家门口就业".to_string()
        } else {
            "同一乡镇".to_string()
        });
    } else if s.near_home {
        return None;
    }
    (score > 1).then_some(Suitability { score, reasons })
}

// ---------------------------------------------------------------------------------------------
// Referrals

labelled_enum! {
    ReferralStage {
        Referred => "referred", "已推荐";
        Interviewed => "interviewed", "已面试";
        Hired => "hired", "已录用";
        NotHired => "not_hired", "未录用";
    }
}

/// A follow-up after a hire: still employed?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FollowUp {
    /// 1, 3 or 6 months after the hire.
    pub months: u32,
    pub employed: bool,
    #[serde(default)]
    pub note: String,
    #[schema(value_type = String, format = Date)]
    pub on: NaiveDate,
}

/// A referral (推荐) of a seeker to a posting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Referral {
    pub posting: u64,
    pub seeker: u64,
    #[schema(value_type = u32)]
    pub township: UnitId,
    pub stage: ReferralStage,
    #[schema(value_type = String, format = Date)]
    pub referred_on: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub interviewed_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>, format = Date)]
    pub hired_on: Option<NaiveDate>,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub follow_ups: Vec<FollowUp>,
    /// The seeker's tags when referred (退役军人, 就业困难人员 …), for the figures.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// The months after a hire at which a placement is followed up.
pub const FOLLOW_UP_MONTHS: [u32; 3] = [1, 3, 6];

impl Referral {
    /// The follow-ups due by `on` and not yet made.
    pub fn follow_ups_due(&self, on: NaiveDate) -> Vec<u32> {
        let Some(h) = self.hired_on else {
            return vec![];
        };
        FOLLOW_UP_MONTHS
            .into_iter()
            .filter(|m| {
                h.checked_add_months(chrono::Months::new(*m))
                    .is_some_and(|d| d <= on)
                    && !self.follow_ups.iter().any(|f| f.months == *m)
            })
            .collect()
    }
    /// Still employed at the `months` follow-up (None: not followed up yet).
    pub fn retained(&self, months: u32) -> Option<bool> {
        self.follow_ups
            .iter()
            .find(|f| f.months == months)
            .map(|f| f.employed)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferralCommand {
    Refer {
        posting: u64,
        seeker: u64,
        township: UnitId,
        tags: Vec<String>,
        note: String,
    },
    Interview {
        on: NaiveDate,
        note: String,
    },
    Hire {
        on: NaiveDate,
    },
    Reject {
        note: String,
    },
    FollowUp {
        months: u32,
        employed: bool,
        note: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReferralEvent {
    Referred { referral: Box<Referral> },
    Interviewed { on: NaiveDate, note: String },
    Hired { on: NaiveDate },
    Rejected { note: String },
    FollowedUp { follow_up: FollowUp },
}

impl Aggregate for Referral {
    const KIND: &'static str = "job_referral";
    type Command = ReferralCommand;
    type Event = ReferralEvent;

    fn decide(
        state: Option<&Self>,
        command: &ReferralCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<ReferralEvent>, DomainError> {
        use ReferralCommand as C;
        use ReferralStage as S;
        require_role(actor, STAFF, "job_referral")?;
        let today = local_date(at);
        let not_future = |d: NaiveDate| {
            if d > today {
                Err(DomainError::invalid("date", "日期不能晚于今天"))
            } else {
                Ok(())
            }
        };
        match (state, command) {
            (
                None,
                C::Refer {
                    posting,
                    seeker,
                    township,
                    tags,
                    note,
                },
            ) => Ok(vec![ReferralEvent::Referred {
                referral: Box::new(Referral {
                    posting: *posting,
                    seeker: *seeker,
                    township: *township,
                    stage: S::Referred,
                    referred_on: today,
                    interviewed_on: None,
                    hired_on: None,
                    note: note.trim().chars().take(200).collect(),
                    follow_ups: vec![],
                    tags: tags.clone(),
                }),
            }]),
            (None, _) => Err(DomainError::invalid("job_referral", "没有这次推荐")),
            (Some(_), C::Refer { .. }) => Err(DomainError::invalid("job_referral", "已经推荐")),
            (Some(r), C::Interview { on, note }) => {
                not_future(*on)?;
                if r.stage != S::Referred || *on < r.referred_on {
                    return Err(DomainError::invalid(
                        "job_referral",
                        "只有已推荐的可以记录面试，面试日期不早于推荐日期",
                    ));
                }
                Ok(vec![ReferralEvent::Interviewed {
                    on: *on,
                    note: note.trim().chars().take(200).collect(),
                }])
            }
            (Some(r), C::Hire { on }) => {
                not_future(*on)?;
                if !matches!(r.stage, S::Referred | S::Interviewed) || *on < r.referred_on {
                    return Err(DomainError::invalid(
                        "job_referral",
                        "只有推荐中的可以记录录用，录用日期不早于推荐日期",
                    ));
                }
                Ok(vec![ReferralEvent::Hired { on: *on }])
            }
            (Some(r), C::Reject { note }) => {
                if !matches!(r.stage, S::Referred | S::Interviewed) {
                    return Err(DomainError::invalid("job_referral", "这次推荐已有结果"));
                }
                Ok(vec![ReferralEvent::Rejected {
                    note: text("note", note, 200, "未录用的原因")?,
                }])
            }
            (
                Some(r),
                C::FollowUp {
                    months,
                    employed,
                    note,
                },
            ) => {
                if r.stage != S::Hired {
                    return Err(DomainError::invalid("job_referral", "录用后才能回访"));
                }
                if !FOLLOW_UP_MONTHS.contains(months) {
                    return Err(DomainError::invalid(
                        "months",
                        "回访在录用后第 1、3、6 个月",
                    ));
                }
                if !r.follow_ups_due(today).contains(months) {
                    return Err(DomainError::invalid(
                        "months",
                        format!("第 {months} 个月的回访未到期或已记录"),
                    ));
                }
                Ok(vec![ReferralEvent::FollowedUp {
                    follow_up: FollowUp {
                        months: *months,
                        employed: *employed,
                        note: note.trim().chars().take(200).collect(),
                        on: today,
                    },
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &ReferralEvent, _at: Instant) -> Self {
        use ReferralEvent as E;
        match (state, event) {
            (_, E::Referred { referral }) => (**referral).clone(),
            (Some(mut r), e) => {
                match e {
                    E::Referred { .. } => {}
                    E::Interviewed { on, note } => {
                        r.stage = ReferralStage::Interviewed;
                        r.interviewed_on = Some(*on);
                        r.note = note.clone();
                    }
                    E::Hired { on } => {
                        r.stage = ReferralStage::Hired;
                        r.hired_on = Some(*on);
                    }
                    E::Rejected { note } => {
                        r.stage = ReferralStage::NotHired;
                        r.note = note.clone();
                    }
                    E::FollowedUp { follow_up } => r.follow_ups.push(follow_up.clone()),
                }
                r
            }
            (None, _) => Referral {
                posting: 0,
                seeker: 0,
                township: UnitId(0),
                stage: ReferralStage::NotHired,
                referred_on: NaiveDate::MIN,
                interviewed_on: None,
                hired_on: None,
                note: String::new(),
                follow_ups: vec![],
                tags: vec![],
            },
        }
    }

    fn event_name(event: &ReferralEvent) -> &'static str {
        match event {
            ReferralEvent::Referred { .. } => "referred",
            ReferralEvent::Interviewed { .. } => "interviewed",
            ReferralEvent::Hired { .. } => "hired",
            ReferralEvent::Rejected { .. } => "rejected",
            ReferralEvent::FollowedUp { .. } => "followed_up",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![
            ("township", self.township.0.to_string()),
            ("posting", self.posting.to_string()),
            ("seeker", self.seeker.to_string()),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// Loans

labelled_enum! {
    Borrower {
        /// 个人创业担保贷款
        Individual => "individual", "个人";
        /// 小微企业创业担保贷款
        SmallEnterprise => "small_enterprise", "小微企业";
    }
}

labelled_enum! {
    LoanStatus {
        Applied => "applied", "已申请";
        Granted => "granted", "已放款";
        Declined => "declined", "未获批";
    }
}

/// A policy cap on a loan (data: regions differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoanCap {
    pub borrower: Borrower,
    /// 最高额度（元）
    pub amount: u64,
    /// 最长期限（月）
    pub months: u32,
}

/// 创业担保贷款: individuals up to ¥200,000 for 3 years, small enterprises up to ¥3,000,000 for
/// 2 years (the national rule; some regions allow more).
pub fn default_caps() -> Vec<LoanCap> {
    vec![
        LoanCap {
            borrower: Borrower::Individual,
            amount: 200_000,
            months: 36,
        },
        LoanCap {
            borrower: Borrower::SmallEnterprise,
            amount: 3_000_000,
            months: 24,
        },
    ]
}

/// A loan facilitated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Loan {
    pub borrower: Borrower,
    /// 申请人或企业名称
    pub applicant: String,
    #[serde(default)]
    pub enterprise: Option<u64>,
    #[serde(default)]
    pub seeker: Option<u64>,
    #[schema(value_type = u32)]
    pub township: UnitId,
    /// 金额（元）
    pub amount: u64,
    pub months: u32,
    pub bank: String,
    pub status: LoanStatus,
    #[schema(value_type = String, format = Date)]
    pub applied_on: NaiveDate,
    #[schema(value_type = Option<String>, format = Date)]
    pub decided_on: Option<NaiveDate>,
    /// Beyond the policy caps: said, not refused (the bank decides).
    #[serde(default)]
    pub warnings: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
}

/// What is beyond `caps` in `l`.
pub fn loan_warnings(l: &Loan, caps: &[LoanCap]) -> Vec<String> {
    let Some(cap) = caps.iter().find(|c| c.borrower == l.borrower) else {
        return vec![];
    };
    let mut out = Vec::new();
    if l.amount > cap.amount {
        out.push(format!(
            "{}创业担保贷款额度一般不超过 {} 万元，本笔 {} 万元",
            l.borrower.label(),
            cap.amount / 10_000,
            l.amount as f64 / 10_000.0
        ));
    }
    if l.months > cap.months {
        out.push(format!(
            "{}创业担保贷款期限一般不超过 {} 个月，本笔 {} 个月",
            l.borrower.label(),
            cap.months,
            l.months
        ));
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoanCommand {
    Apply { loan: Box<Loan>, caps: Vec<LoanCap> },
    Decide { granted: bool, on: NaiveDate },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LoanEvent {
    Applied { loan: Box<Loan> },
    Decided { granted: bool, on: NaiveDate },
}

impl Aggregate for Loan {
    const KIND: &'static str = "job_loan";
    type Command = LoanCommand;
    type Event = LoanEvent;

    fn decide(
        state: Option<&Self>,
        command: &LoanCommand,
        actor: &Actor,
        at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<LoanEvent>, DomainError> {
        require_role(actor, STAFF, "job_loan")?;
        let today = local_date(at);
        match (state, command) {
            (None, LoanCommand::Apply { loan, caps }) => {
                let mut l = (**loan).clone();
                l.applicant = text("applicant", &l.applicant, 100, "申请人")?;
                l.bank = text("bank", &l.bank, 60, "银行")?;
                if l.amount == 0 || l.amount > 100_000_000 || l.months == 0 || l.months > 120 {
                    return Err(DomainError::invalid(
                        "amount",
                        "请填写金额（元，大于 0）和期限（1 至 120 个月）",
                    ));
                }
                if l.applied_on > today {
                    return Err(DomainError::invalid("date", "申请日期不能晚于今天"));
                }
                l.status = LoanStatus::Applied;
                l.decided_on = None;
                l.warnings = loan_warnings(&l, caps);
                Ok(vec![LoanEvent::Applied { loan: Box::new(l) }])
            }
            (None, _) => Err(DomainError::invalid("job_loan", "没有这笔贷款")),
            (Some(_), LoanCommand::Apply { .. }) => {
                Err(DomainError::invalid("job_loan", "贷款已经登记"))
            }
            (Some(l), LoanCommand::Decide { granted, on }) => {
                if l.status != LoanStatus::Applied {
                    return Err(DomainError::invalid("job_loan", "这笔贷款已有结果"));
                }
                if *on > today || *on < l.applied_on {
                    return Err(DomainError::invalid(
                        "date",
                        "结果日期须在申请日期和今天之间",
                    ));
                }
                Ok(vec![LoanEvent::Decided {
                    granted: *granted,
                    on: *on,
                }])
            }
        }
    }

    fn apply(state: Option<Self>, event: &LoanEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, LoanEvent::Applied { loan }) => (**loan).clone(),
            (Some(mut l), LoanEvent::Decided { granted, on }) => {
                l.status = if *granted {
                    LoanStatus::Granted
                } else {
                    LoanStatus::Declined
                };
                l.decided_on = Some(*on);
                l
            }
            (None, LoanEvent::Decided { .. }) => Loan {
                borrower: Borrower::Individual,
                applicant: String::new(),
                enterprise: None,
                seeker: None,
                township: UnitId(0),
                amount: 0,
                months: 0,
                bank: String::new(),
                status: LoanStatus::Declined,
                applied_on: NaiveDate::MIN,
                decided_on: None,
                warnings: vec![],
                tags: vec![],
            },
        }
    }

    fn event_name(event: &LoanEvent) -> &'static str {
        match event {
            LoanEvent::Applied { .. } => "applied",
            LoanEvent::Decided { .. } => "decided",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![("township", self.township.0.to_string())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::run;
    use crate::UserId;

    fn staff() -> Actor {
        Actor {
            user: UserId(3),
            name: "就业之家 陈敏".into(),
            role: Role::Handler,
            unit: UnitId(200),
            unit_kind: crate::org::UnitKind::Township,
        }
    }

    #[test]
    fn the_wording_check_flags_discrimination_and_not_its_look_alikes() {
        let rules = default_rules();
        let found = |s: &str| -> Vec<(Ground, String)> {
            check_wording(s, &rules)
                .into_iter()
                .map(|f| (f.ground, f.found))
                .collect()
        };
        // True positives, one per ground.
        assert_eq!(
            found("招聘仓管2名，限男性"),
            vec![(Ground::Gender, "限男".into())]
        );
        assert_eq!(
            found("前台文员，女性优先，形象好"),
            vec![(Ground::Gender, "女性优先".into())]
        );
        assert_eq!(
            found("年龄35岁以下，能吃苦"),
            vec![(Ground::Age, "35岁以下".into())]
        );
        assert_eq!(
            found("要求35周岁以内"),
            vec![(Ground::Age, "35周岁以内".into())]
        );
        assert_eq!(
            found("年龄不超过40岁"),
            vec![(Ground::Age, "不超过40岁".into())]
        );
        assert_eq!(found("欢迎90后加入"), vec![(Ground::Age, "90后".into())]);
        assert_eq!(found("限汉族"), vec![(Ground::Ethnicity, "限汉族".into())]);
        assert_eq!(
            found("本地人优先"),
            vec![(Ground::Region, "本地人优先".into())]
        );
        assert_eq!(
            found("需本地户口"),
            vec![(Ground::Hukou, "本地户口".into())]
        );
        // False positives the check must not raise.
        for fine in [
            "男女不限，身体健康",
            "年满18周岁以上，持电工证",
            "月薪4000-6000元，五险一金",
            "负责后勤保障和后厨卫生",
            "工作地点：城关镇工业园3号厂房（本地企业）",
            "户籍不限，包吃住",
            "每周工作5天，每天8小时",
            "有2年以上工作经验",
        ] {
            assert_eq!(found(fine), vec![], "{fine}");
        }
        // Several at once.
        assert_eq!(found("限女，30岁以下，限本市户籍").len(), 3);
    }

    fn facts() -> PostingFacts {
        PostingFacts {
            title: "数控车床操作工".into(),
            employer: "云溪精密机械有限公司".into(),
            enterprise: None,
            headcount: 5,
            requirements: "会看图纸，有车床操作经验，限男性".into(),
            duties: "操作数控车床加工零件".into(),
            address: "云溪镇工业园8号".into(),
            township: UnitId(200),
            pay_min: 4500,
            pay_max: 6500,
            hours: "两班倒，每班8小时".into(),
            expires_on: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
            from_demand: None,
            via_chamber: false,
        }
    }

    #[test]
    fn a_posting_with_discriminatory_words_is_not_published_until_fixed() {
        let now = crate::time::local(2026, 11, 2, 10, 0, 0).unwrap();
        let p = run::<Posting>(
            None,
            PostingCommand::Draft(Box::new(facts())),
            &staff(),
            now,
        )
        .unwrap();
        let p = run(
            Some(&p),
            PostingCommand::Submit {
                rules: default_rules(),
            },
            &staff(),
            now,
        )
        .unwrap();
        assert_eq!(p.status, PostingStatus::Pending);
        assert_eq!(p.flags.len(), 1);
        let e = run(
            Some(&p),
            PostingCommand::Review {
                approve: true,
                note: String::new(),
            },
            &staff(),
            now,
        )
        .unwrap_err();
        assert!(e.message_zh().contains("限男"), "{}", e.message_zh());
        assert!(
            run(
                Some(&p),
                PostingCommand::Review {
                    approve: false,
                    note: String::new()
                },
                &staff(),
                now
            )
            .is_err(),
            "a return says why"
        );
        let back = run(
            Some(&p),
            PostingCommand::Review {
                approve: false,
                note: "请删去“限男性”".into(),
            },
            &staff(),
            now,
        )
        .unwrap();
        assert_eq!(back.status, PostingStatus::Draft);
        let mut fixed = facts();
        fixed.requirements = "会看图纸，有车床操作经验".into();
        let p = run(
            Some(&back),
            PostingCommand::Edit(Box::new(fixed)),
            &staff(),
            now,
        )
        .unwrap();
        let p = run(
            Some(&p),
            PostingCommand::Submit {
                rules: default_rules(),
            },
            &staff(),
            now,
        )
        .unwrap();
        assert!(p.flags.is_empty());
        let mut grid = staff();
        grid.role = Role::GridMember;
        assert!(
            run(
                Some(&p),
                PostingCommand::Review {
                    approve: true,
                    note: String::new()
                },
                &grid,
                now
            )
            .is_err(),
            "grid members post, staff review"
        );
        let p = run(
            Some(&p),
            PostingCommand::Review {
                approve: true,
                note: String::new(),
            },
            &staff(),
            now,
        )
        .unwrap();
        assert_eq!(p.status, PostingStatus::Published);
        assert!(p.open_on(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()));
        assert!(
            !p.open_on(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()),
            "expired"
        );
        // Art 24's fields: pay must be stated.
        let mut nopay = facts();
        nopay.pay_min = 0;
        assert!(
            run::<Posting>(None, PostingCommand::Draft(Box::new(nopay)), &staff(), now).is_err()
        );
    }

    #[test]
    fn a_referral_goes_to_placement_and_is_followed_up_at_one_three_and_six_months() {
        let on = |m: u32, d: u32| crate::time::local(2026, m, d, 10, 0, 0).unwrap();
        let r = run::<Referral>(
            None,
            ReferralCommand::Refer {
                posting: 1,
                seeker: 2,
                township: UnitId(200),
                tags: vec!["退役军人".into()],
                note: String::new(),
            },
            &staff(),
            on(3, 2),
        )
        .unwrap();
        let r = run(
            Some(&r),
            ReferralCommand::Interview {
                on: NaiveDate::from_ymd_opt(2026, 3, 5).unwrap(),
                note: "面试通过".into(),
            },
            &staff(),
            on(3, 5),
        )
        .unwrap();
        assert!(
            run(
                Some(&r),
                ReferralCommand::FollowUp {
                    months: 1,
                    employed: true,
                    note: String::new()
                },
                &staff(),
                on(4, 10)
            )
            .is_err(),
            "not hired yet"
        );
        let r = run(
            Some(&r),
            ReferralCommand::Hire {
                on: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
            },
            &staff(),
            on(3, 10),
        )
        .unwrap();
        assert_eq!(
            r.follow_ups_due(NaiveDate::from_ymd_opt(2026, 4, 9).unwrap()),
            Vec::<u32>::new()
        );
        assert_eq!(
            r.follow_ups_due(NaiveDate::from_ymd_opt(2026, 4, 10).unwrap()),
            vec![1]
        );
        assert!(
            run(
                Some(&r),
                ReferralCommand::FollowUp {
                    months: 3,
                    employed: true,
                    note: String::new()
                },
                &staff(),
                on(4, 10)
            )
            .is_err(),
            "the third month is not due"
        );
        let r = run(
            Some(&r),
            ReferralCommand::FollowUp {
                months: 1,
                employed: true,
                note: "适应良好".into(),
            },
            &staff(),
            on(4, 10),
        )
        .unwrap();
        assert!(
            run(
                Some(&r),
                ReferralCommand::FollowUp {
                    months: 1,
                    employed: true,
                    note: String::new()
                },
                &staff(),
                on(4, 11)
            )
            .is_err(),
            "once"
        );
        let r = run(
            Some(&r),
            ReferralCommand::FollowUp {
                months: 3,
                employed: true,
                note: String::new(),
            },
            &staff(),
            on(6, 12),
        )
        .unwrap();
        let r = run(
            Some(&r),
            ReferralCommand::FollowUp {
                months: 6,
                employed: false,
                note: "已离职".into(),
            },
            &staff(),
            on(9, 15),
        )
        .unwrap();
        assert_eq!((r.retained(3), r.retained(6)), (Some(true), Some(false)));
        assert!(
            run(
                Some(&r),
                ReferralCommand::Reject { note: "x".into() },
                &staff(),
                on(9, 16)
            )
            .is_err(),
            "already hired"
        );
    }

    #[test]
    fn loans_beyond_the_caps_are_flagged_not_refused() {
        let now = crate::time::local(2026, 11, 2, 10, 0, 0).unwrap();
        let loan = |borrower, amount, months| Loan {
            borrower,
            applicant: "张伟".into(),
            enterprise: None,
            seeker: None,
            township: UnitId(200),
            amount,
            months,
            bank: "县农商银行".into(),
            status: LoanStatus::Applied,
            applied_on: NaiveDate::from_ymd_opt(2026, 10, 8).unwrap(),
            decided_on: None,
            warnings: vec![],
            tags: vec![],
        };
        let caps = default_caps();
        let ok = run::<Loan>(
            None,
            LoanCommand::Apply {
                loan: Box::new(loan(Borrower::Individual, 200_000, 36)),
                caps: caps.clone(),
            },
            &staff(),
            now,
        )
        .unwrap();
        assert!(ok.warnings.is_empty(), "at the cap is within it");
        let over = run::<Loan>(
            None,
            LoanCommand::Apply {
                loan: Box::new(loan(Borrower::Individual, 250_000, 48)),
                caps: caps.clone(),
            },
            &staff(),
            now,
        )
        .unwrap();
        assert_eq!(over.warnings.len(), 2, "{:?}", over.warnings);
        assert!(over.warnings[0].contains("20 万元"));
        let firm = run::<Loan>(
            None,
            LoanCommand::Apply {
                loan: Box::new(loan(Borrower::SmallEnterprise, 3_000_000, 24)),
                caps: caps.clone(),
            },
            &staff(),
            now,
        )
        .unwrap();
        assert!(firm.warnings.is_empty());
        let firm_over = run::<Loan>(
            None,
            LoanCommand::Apply {
                loan: Box::new(loan(Borrower::SmallEnterprise, 3_000_001, 25)),
                caps,
            },
            &staff(),
            now,
        )
        .unwrap();
        assert_eq!(firm_over.warnings.len(), 2);
        let granted = run(
            Some(&ok),
            LoanCommand::Decide {
                granted: true,
                on: NaiveDate::from_ymd_opt(2026, 10, 20).unwrap(),
            },
            &staff(),
            now,
        )
        .unwrap();
        assert_eq!(granted.status, LoanStatus::Granted);
        assert!(run(
            Some(&granted),
            LoanCommand::Decide {
                granted: false,
                on: NaiveDate::from_ymd_opt(2026, 10, 21).unwrap()
            },
            &staff(),
            now
        )
        .is_err());
    }

    #[test]
    fn seekers_are_suggested_only_with_consent_and_with_reasons() {
        let p = Posting {
            facts: PostingFacts {
                requirements: "有电工证，会焊接".into(),
                ..facts()
            },
            status: PostingStatus::Published,
            flags: vec![],
            published_on: None,
            review_note: String::new(),
            hired: 0,
        };
        let mut s = Seeker {
            name: "李强".into(),
            phone: None,
            township: UnitId(200),
            village: None,
            skills: vec!["电工".into(), "焊接".into()],
            wishes: vec!["车床".into()],
            near_home: true,
            available: "随时".into(),
            tags: vec!["退役军人".into()],
            consent: Consent {
                referral: true,
                share_phone: false,
            },
            closed: None,
        };
        let m = suits(&s, &p).unwrap();
        assert_eq!(m.score, 3 * 2 + 2 + 2);
        assert_eq!(m.reasons.len(), 3, "{m:?}");
        s.township = UnitId(201);
        assert!(
            suits(&s, &p).is_none(),
            "wants a job near home, and this one is not"
        );
        s.near_home = false;
        assert!(suits(&s, &p).is_some());
        s.consent.referral = false;
        assert!(suits(&s, &p).is_none(), "no consent, no referral");
    }
}
