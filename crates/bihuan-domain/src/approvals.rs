//! 一件事一次办: integrated applications across units. A **matter** (事项) is one licence or
//! certificate of one unit, with its statutory and promised limits in working days, its
//! materials and its form fields. A **package** (一件事) combines matters of several units under
//! one promised limit. An **application** is one applicant's one form and one set of materials
//! for a package: the window (综合窗口) checks it once — accepts it, accepts it with 容缺, or
//! gives one 一次性告知 of everything missing within five working days (else it counts as
//! accepted on receipt) — and then every matter runs as a task at its unit, all at the same
//! time, each on its own clock, under the package's promise.
//!
//! The rules (行政许可法): periods are working days (Art 82); a matter is decided within 20
//! working days, +10 with approval, and joint handling within 45, +15 (Art 42); hearings,
//! testing, inspection and expert review are not counted (Art 45); everything missing is told
//! once within 5 working days, otherwise the application is accepted on receipt (Art 32(4)).
//! The numbers are data ([`ApprovalPolicy`]), not scattered constants.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::aggregate::{require_role, Aggregate};
use crate::error::DomainError;
use crate::lifecycle::{Actor, Context, Role};
use crate::org::UnitId;
use crate::time::{local_date, Instant};
use crate::{Calendar, Phone};

/// The statutory numbers, in working days (行政许可法 Arts 32, 42).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalPolicy {
    /// A single matter's decision (Art 42): 20.
    pub single_days: u32,
    /// …extended with the head of the unit's approval: +10.
    pub single_extension: u32,
    /// Joint or centralised handling (Art 42): 45.
    pub joint_days: u32,
    /// …extended with the government's approval: +15.
    pub joint_extension: u32,
    /// The one-time notice of everything missing (Art 32(4)): 5.
    pub notice_days: u32,
}

impl ApprovalPolicy {
    pub const STATUTORY: ApprovalPolicy = ApprovalPolicy {
        single_days: 20,
        single_extension: 10,
        joint_days: 45,
        joint_extension: 15,
        notice_days: 5,
    };
}

/// The most matters a package combines, materials and fields a matter lists.
pub const MATTERS_MAX: usize = 50;
pub const MATERIALS_MAX: usize = 60;
pub const FIELDS_MAX: usize = 60;
/// A statutory limit other laws may set (法律、法规另有规定的): at most this many working days.
pub const STATUTORY_MAX: u32 = 120;

/// The digest kept for an application's query code (查询码): `salt:sha256`, so the code itself is
/// never stored. The salt is the server's random choice at submission.
pub fn query_digest(salt: &str, code: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"bihuan-application-query-code:");
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(code.trim().as_bytes());
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{salt}:{hex}")
}

/// Whether `code` is the query code of `stored` (compared in constant time).
pub fn query_matches(stored: &str, code: &str) -> bool {
    let Some((salt, _)) = stored.split_once(':') else {
        return false;
    };
    crate::portal::same_secret(&query_digest(salt, code), stored)
}

use crate::aggregate::required_text as text;

/// A code (of a matter, a material, a field): letters, digits, `-` and `_`, 1–32 of them.
fn code(field: &'static str, s: &str, what: &str) -> Result<String, DomainError> {
    let s = s.trim();
    if s.is_empty()
        || s.len() > 32
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(DomainError::invalid(
            field,
            format!("{what}编码须为1–32位字母、数字、- 或 _"),
        ));
    }
    Ok(s.to_string())
}

// ---------------------------------------------------------------------------------------------
// 统一社会信用代码 (GB 32100-2015)
// ---------------------------------------------------------------------------------------------

const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The check character of the first 17 characters of a 统一社会信用代码, if they are all valid.
pub fn uscc_check(first17: &str) -> Option<char> {
    if first17.chars().count() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first17.chars().zip(USCC_WEIGHTS) {
        sum += USCC_CHARS.find(c)? as u32 * w;
    }
    let v = (31 - sum % 31) % 31;
    USCC_CHARS.chars().nth(v as usize)
}

/// A 统一社会信用代码 checked by its check character (upper-cased, spaces removed).
pub fn parse_uscc(s: &str) -> Result<String, DomainError> {
    let s: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bad = || {
        DomainError::invalid(
            "credit_code",
            "统一社会信用代码应为18位（数字和除 I、O、Z、S、V 以外的大写字母），请核对营业执照",
        )
    };
    // ASCII only, so the split below falls between characters.
    if !s.is_ascii() || s.len() != 18 {
        return Err(bad());
    }
    let (head, last) = s.split_at(17);
    match uscc_check(head) {
        Some(c) if last.starts_with(c) => Ok(s),
        Some(_) => Err(DomainError::invalid(
            "credit_code",
            "统一社会信用代码的校验位不对，请逐位核对营业执照上的代码",
        )),
        None => Err(bad()),
    }
}

// ---------------------------------------------------------------------------------------------
// 事项: a matter of one unit
// ---------------------------------------------------------------------------------------------

/// A material an application needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Material {
    pub code: String,
    pub name: String,
    /// May be accepted missing with the applicant's signed commitment (容缺受理).
    #[serde(default)]
    pub waivable: bool,
    /// Already held by this unit or system, so fetched, never asked for again (在线政务服务若干规定
    /// Art 7): the applicant uploads nothing for it.
    #[serde(default)]
    pub shared_from: Option<String>,
}

/// A field of the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FormField {
    pub key: String,
    pub label: String,
    #[serde(default)]
    pub required: bool,
}

/// What defines a matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatterSpec {
    pub code: String,
    pub name: String,
    pub unit: UnitId,
    /// The limit the law sets, in working days (Art 42: 20 unless a law says otherwise).
    pub statutory_days: u32,
    /// The limit the county promises, at most the statutory one (0: decided on the spot).
    pub promised_days: u32,
    pub materials: Vec<Material>,
    #[serde(default)]
    pub fields: Vec<FormField>,
}

impl MatterSpec {
    pub fn normalised(mut self) -> Result<MatterSpec, DomainError> {
        self.code = code("code", &self.code, "事项")?;
        self.name = text("matter_name", &self.name, 60, "事项名称")?;
        if !(1..=STATUTORY_MAX).contains(&self.statutory_days) {
            return Err(DomainError::invalid(
                "statutory_days",
                format!("法定时限须为1–{STATUTORY_MAX}个工作日（行政许可法第四十二条：一般为20个工作日）"),
            ));
        }
        if self.promised_days > self.statutory_days {
            return Err(DomainError::invalid(
                "promised_days",
                format!(
                    "承诺时限（{}个工作日）不能超过法定时限（{}个工作日）",
                    self.promised_days, self.statutory_days
                ),
            ));
        }
        if self.materials.len() > MATERIALS_MAX {
            return Err(DomainError::invalid(
                "materials",
                format!("一个事项最多{MATERIALS_MAX}项材料"),
            ));
        }
        let mut seen = BTreeSet::new();
        for m in &mut self.materials {
            m.code = code("materials", &m.code, "材料")?;
            m.name = text("materials", &m.name, 60, "材料名称")?;
            m.shared_from = match m.shared_from.as_deref().map(str::trim) {
                Some("") | None => None,
                Some(s) => Some(text("materials", s, 40, "共享来源")?),
            };
            if !seen.insert(m.code.clone()) {
                return Err(DomainError::invalid(
                    "materials",
                    format!("材料编码 {} 重复", m.code),
                ));
            }
        }
        if self.fields.len() > FIELDS_MAX {
            return Err(DomainError::invalid(
                "fields",
                format!("一个事项最多{FIELDS_MAX}个表单字段"),
            ));
        }
        let mut seen = BTreeSet::new();
        for f in &mut self.fields {
            f.key = code("fields", &f.key, "字段")?;
            f.label = text("fields", &f.label, 30, "字段名称")?;
            if !seen.insert(f.key.clone()) {
                return Err(DomainError::invalid(
                    "fields",
                    format!("字段 {} 重复", f.key),
                ));
            }
        }
        Ok(self)
    }
}

/// A matter in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Matter {
    #[serde(flatten)]
    pub spec: MatterSpec,
    #[serde(default)]
    pub retired: bool,
}

#[derive(Debug, Clone)]
pub enum MatterCommand {
    Define { spec: MatterSpec },
    Revise { spec: MatterSpec },
    Retire { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MatterEvent {
    Defined { spec: MatterSpec },
    Revised { spec: MatterSpec },
    Retired { reason: String },
}

const CATALOGUE_ROLES: &[Role] = &[Role::Admin, Role::Dispatcher];

impl Aggregate for Matter {
    const KIND: &'static str = "matter";
    type Command = MatterCommand;
    type Event = MatterEvent;

    fn decide(
        state: Option<&Self>,
        command: &MatterCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<MatterEvent>, DomainError> {
        require_role(actor, CATALOGUE_ROLES, "keep the matter catalogue")?;
        match (state, command) {
            (None, MatterCommand::Define { spec }) => Ok(vec![MatterEvent::Defined {
                spec: spec.clone().normalised()?,
            }]),
            (Some(m), MatterCommand::Revise { spec }) if !m.retired => {
                let spec = spec.clone().normalised()?;
                if spec.code != m.spec.code {
                    return Err(DomainError::invalid("code", "事项编码不能修改"));
                }
                Ok(vec![MatterEvent::Revised { spec }])
            }
            (Some(m), MatterCommand::Retire { reason }) if !m.retired => {
                Ok(vec![MatterEvent::Retired {
                    reason: text("reason", reason, 200, "停用原因")?,
                }])
            }
            (Some(_), _) => Err(DomainError::invalid("matter", "该事项已停用")),
            (None, _) => Err(DomainError::invalid("matter", "请先登记事项")),
        }
    }

    fn apply(state: Option<Self>, event: &MatterEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, MatterEvent::Defined { spec }) => Matter {
                spec: spec.clone(),
                retired: false,
            },
            (Some(mut m), MatterEvent::Revised { spec }) => {
                m.spec = spec.clone();
                m
            }
            (Some(mut m), MatterEvent::Retired { .. }) => {
                m.retired = true;
                m
            }
            (None, e) => unreachable!("{e:?} before Defined"),
        }
    }

    fn event_name(event: &MatterEvent) -> &'static str {
        match event {
            MatterEvent::Defined { .. } => "defined",
            MatterEvent::Revised { .. } => "revised",
            MatterEvent::Retired { .. } => "retired",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("unit", self.spec.unit.0.to_string()),
            ("code", self.spec.code.clone()),
        ];
        if !self.retired {
            v.push(("active", "1".into()));
        }
        v
    }
}

// ---------------------------------------------------------------------------------------------
// 一件事: a package of matters across units
// ---------------------------------------------------------------------------------------------

/// A matter as a package combined it (the catalogue may change later; an application keeps
/// what it was made under).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatterRef {
    pub id: u64,
    #[serde(flatten)]
    pub spec: MatterSpec,
}

/// A material of the package's one list: asked for once, whichever matters need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PackageMaterial {
    #[serde(flatten)]
    pub material: Material,
    /// The matters that need it (their codes).
    pub for_matters: Vec<String>,
}

/// A field of the package's one form, with the matters it is filled in for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PackageField {
    #[serde(flatten)]
    pub field: FormField,
    pub for_matters: Vec<String>,
}

/// What defines a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PackageSpec {
    pub name: String,
    /// The unit that leads it (牵头单位): its window accepts the applications.
    pub lead: UnitId,
    /// One promise for the whole, in working days (at most the joint-handling limit).
    pub promised_days: u32,
    #[serde(default)]
    pub description: String,
    /// The matters' ids, in the order the guide lists them.
    pub matters: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Package {
    pub name: String,
    pub lead: UnitId,
    pub promised_days: u32,
    #[serde(default)]
    pub description: String,
    pub matters: Vec<MatterRef>,
    /// The one materials list (de-duplicated by code).
    pub materials: Vec<PackageMaterial>,
    /// The one form (fields shared by several matters filled in once).
    pub fields: Vec<PackageField>,
    #[serde(default)]
    pub retired: bool,
}

impl Package {
    /// The units whose matters it combines, once each.
    pub fn units(&self) -> BTreeSet<UnitId> {
        self.matters.iter().map(|m| m.spec.unit).collect()
    }

    /// The sum of the matters' statutory limits: the working days the matters would take one
    /// after another, against which the promise is the 压缩.
    pub fn serial_statutory_days(&self) -> u32 {
        self.matters.iter().map(|m| m.spec.statutory_days).sum()
    }

    fn build(spec: &PackageSpec, matters: &[MatterRef]) -> Result<Package, DomainError> {
        let name = text("package_name", &spec.name, 60, "一件事名称")?;
        let description = spec.description.trim().to_string();
        if description.chars().count() > 2000 {
            return Err(DomainError::invalid("description", "说明最多2000字"));
        }
        if matters.len() < 2 {
            return Err(DomainError::invalid("matters", "一件事至少组合两个事项"));
        }
        if matters.len() > MATTERS_MAX {
            return Err(DomainError::invalid(
                "matters",
                format!("一件事最多组合{MATTERS_MAX}个事项"),
            ));
        }
        let ids: Vec<u64> = matters.iter().map(|m| m.id).collect();
        if ids != spec.matters {
            return Err(DomainError::invalid(
                "matters",
                "事项与目录不一致，请刷新后重选",
            ));
        }
        if ids.iter().collect::<BTreeSet<_>>().len() != ids.len() {
            return Err(DomainError::invalid("matters", "同一事项只能选一次"));
        }
        let cap = ApprovalPolicy::STATUTORY.joint_days;
        if spec.promised_days == 0 || spec.promised_days > cap {
            return Err(DomainError::invalid(
                "promised_days",
                format!(
                    "一件事的承诺时限须为1–{cap}个工作日：联合办理、集中办理不得超过{cap}个工作日（行政许可法第四十二条）"
                ),
            ));
        }
        let mut materials: Vec<PackageMaterial> = Vec::new();
        let mut fields: Vec<PackageField> = Vec::new();
        for m in matters {
            for x in &m.spec.materials {
                match materials.iter_mut().find(|p| p.material.code == x.code) {
                    Some(p) => {
                        // Waivable only if every matter that needs it may wait for it; shared
                        // if any holder has it.
                        p.material.waivable &= x.waivable;
                        if p.material.shared_from.is_none() {
                            p.material.shared_from = x.shared_from.clone();
                        }
                        p.for_matters.push(m.spec.code.clone());
                    }
                    None => materials.push(PackageMaterial {
                        material: x.clone(),
                        for_matters: vec![m.spec.code.clone()],
                    }),
                }
            }
            for f in &m.spec.fields {
                match fields.iter_mut().find(|p| p.field.key == f.key) {
                    Some(p) => {
                        p.field.required |= f.required;
                        p.for_matters.push(m.spec.code.clone());
                    }
                    None => fields.push(PackageField {
                        field: f.clone(),
                        for_matters: vec![m.spec.code.clone()],
                    }),
                }
            }
        }
        Ok(Package {
            name,
            lead: spec.lead,
            promised_days: spec.promised_days,
            description,
            matters: matters.to_vec(),
            materials,
            fields,
            retired: false,
        })
    }
}

#[derive(Debug, Clone)]
pub enum PackageCommand {
    /// `matters` are the catalogue's matters named by `spec.matters`, in that order (the use
    /// case reads them; a retired one is refused there).
    Define {
        spec: PackageSpec,
        matters: Vec<MatterRef>,
    },
    Revise {
        spec: PackageSpec,
        matters: Vec<MatterRef>,
    },
    Retire {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PackageEvent {
    Defined { package: Package },
    Revised { package: Package },
    Retired { reason: String },
}

impl Aggregate for Package {
    const KIND: &'static str = "package";
    type Command = PackageCommand;
    type Event = PackageEvent;

    fn decide(
        state: Option<&Self>,
        command: &PackageCommand,
        actor: &Actor,
        _at: Instant,
        _ctx: Context<'_>,
    ) -> Result<Vec<PackageEvent>, DomainError> {
        require_role(actor, CATALOGUE_ROLES, "keep the packages")?;
        match (state, command) {
            (None, PackageCommand::Define { spec, matters }) => Ok(vec![PackageEvent::Defined {
                package: Package::build(spec, matters)?,
            }]),
            (Some(p), PackageCommand::Revise { spec, matters }) if !p.retired => {
                Ok(vec![PackageEvent::Revised {
                    package: Package::build(spec, matters)?,
                }])
            }
            (Some(p), PackageCommand::Retire { reason }) if !p.retired => {
                Ok(vec![PackageEvent::Retired {
                    reason: text("reason", reason, 200, "停用原因")?,
                }])
            }
            (Some(_), _) => Err(DomainError::invalid("package", "该一件事已停用")),
            (None, _) => Err(DomainError::invalid("package", "请先设立一件事")),
        }
    }

    fn apply(state: Option<Self>, event: &PackageEvent, _at: Instant) -> Self {
        match (state, event) {
            (_, PackageEvent::Defined { package })
            | (Some(_), PackageEvent::Revised { package }) => package.clone(),
            (Some(mut p), PackageEvent::Retired { .. }) => {
                p.retired = true;
                p
            }
            (None, e) => unreachable!("{e:?} before Defined"),
        }
    }

    fn event_name(event: &PackageEvent) -> &'static str {
        match event {
            PackageEvent::Defined { .. } => "defined",
            PackageEvent::Revised { .. } => "revised",
            PackageEvent::Retired { .. } => "retired",
        }
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> = self
            .units()
            .into_iter()
            .map(|u| ("unit", u.0.to_string()))
            .collect();
        v.push(("lead", self.lead.0.to_string()));
        if !self.retired {
            v.push(("active", "1".into()));
        }
        v
    }
}

// ---------------------------------------------------------------------------------------------
// 申请: one application for a package
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    Person,
    Enterprise,
}

/// Who applies: a person, or an enterprise by its 统一社会信用代码, with a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Applicant {
    pub kind: ApplicantKind,
    /// The person's or the enterprise's name.
    pub name: String,
    /// An enterprise's 统一社会信用代码 (checked).
    #[serde(default)]
    pub credit_code: Option<String>,
    /// Who to call.
    pub contact: String,
    #[schema(value_type = String)]
    pub phone: Phone,
}

impl Applicant {
    fn normalised(mut self) -> Result<Applicant, DomainError> {
        self.name = text("applicant", &self.name, 80, "申请人名称")?;
        self.contact = text("contact", &self.contact, 30, "联系人")?;
        self.credit_code = match (self.kind, self.credit_code.as_deref().map(str::trim)) {
            (ApplicantKind::Enterprise, Some(c)) if !c.is_empty() => Some(parse_uscc(c)?),
            (ApplicantKind::Enterprise, _) => {
                return Err(DomainError::invalid(
                    "credit_code",
                    "企业申请请填写统一社会信用代码",
                ))
            }
            (ApplicantKind::Person, _) => None,
        };
        Ok(self)
    }
}

/// A material handed in under the package's code: the file's name, and the stored file's
/// SHA-256 when it was uploaded (a paper one checked at the window has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Handed {
    pub code: String,
    /// The file's name as uploaded.
    pub file: String,
    /// The stored file's SHA-256 (stored with the event that names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The stored file's size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// 待受理: the window has five working days to check it.
    Received,
    /// 已一次性告知: waiting for what is missing.
    Noticed,
    /// 办理中: every matter a task at its unit.
    Accepted,
    /// 已办结: every task decided; the results wait to be issued together.
    Decided,
    /// 已出证: the results issued together and the applicant told.
    Issued,
    /// 不予受理
    NotAccepted,
    /// 已撤回
    Withdrawn,
}

impl ApplicationStatus {
    pub fn label(self) -> &'static str {
        match self {
            ApplicationStatus::Received => "待受理",
            ApplicationStatus::Noticed => "已一次性告知",
            ApplicationStatus::Accepted => "办理中",
            ApplicationStatus::Decided => "已办结待出证",
            ApplicationStatus::Issued => "已出证",
            ApplicationStatus::NotAccepted => "不予受理",
            ApplicationStatus::Withdrawn => "已撤回",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ApplicationStatus::Issued
                | ApplicationStatus::NotAccepted
                | ApplicationStatus::Withdrawn
        )
    }
}

/// A missing item of the one-time notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Missing {
    pub code: String,
    pub name: String,
    /// What exactly is wrong or needed.
    #[serde(default)]
    pub note: String,
}

/// 一次性告知: everything missing, told once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OneTimeNotice {
    #[schema(value_type = String, format = DateTime)]
    pub at: Instant,
    pub by: String,
    pub missing: Vec<Missing>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AcceptedHow {
    /// 材料齐全受理
    Complete,
    /// 容缺受理
    Waived,
    /// 逾期未告知，自收到之日起视为受理 (Art 32(4))
    Deemed,
}

impl AcceptedHow {
    pub fn label(self) -> &'static str {
        match self {
            AcceptedHow::Complete => "材料齐全受理",
            AcceptedHow::Waived => "容缺受理",
            AcceptedHow::Deemed => "逾期未告知，视为受理",
        }
    }
}

/// A material accepted missing (容缺), with the date it is promised by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Waiver {
    pub code: String,
    pub name: String,
    #[schema(value_type = String, format = Date)]
    pub due: NaiveDate,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub supplied: Option<Instant>,
}

impl Waiver {
    /// Lapsed: not handed in by its date.
    pub fn lapsed(&self, today: NaiveDate) -> bool {
        match self.supplied {
            Some(at) => local_date(at) > self.due,
            None => today > self.due,
        }
    }
}

/// Why a task's clock stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StopKind {
    /// 补正: the unit asks the applicant to correct or add something.
    Correction,
    /// 听证 (Art 45)
    Hearing,
    /// 检验、检测 (Art 45)
    Testing,
    /// 检疫、鉴定 / 现场勘验 (Art 45)
    Inspection,
    /// 专家评审 (Art 45)
    ExpertReview,
}

impl StopKind {
    pub const ALL: [StopKind; 5] = [
        StopKind::Correction,
        StopKind::Hearing,
        StopKind::Testing,
        StopKind::Inspection,
        StopKind::ExpertReview,
    ];

    pub fn label(self) -> &'static str {
        match self {
            StopKind::Correction => "补正",
            StopKind::Hearing => "听证",
            StopKind::Testing => "检验检测",
            StopKind::Inspection => "现场勘验",
            StopKind::ExpertReview => "专家评审",
        }
    }
}

/// A stopped stretch of a task's clock, told to the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stop {
    pub kind: StopKind,
    pub reason: String,
    #[schema(value_type = String, format = DateTime)]
    pub from: Instant,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub to: Option<Instant>,
}

impl Stop {
    /// The working days it stopped the clock by `today` (the day it started not counted, the
    /// day it ended counted: a stop from Monday to Wednesday is two working days).
    pub fn working_days(&self, cal: &Calendar, today: NaiveDate) -> i64 {
        let from = local_date(self.from);
        let to = self.to.map_or(today, local_date);
        cal.working_days_after(from, to).unwrap_or(0).max(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// 待受理 (before the application is accepted)
    Waiting,
    /// 审批中
    Running,
    /// 暂停计时 (补正 or an Art 45 procedure)
    Stopped,
    /// 准予许可
    Approved,
    /// 不予许可
    Refused,
}

impl TaskStatus {
    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::Waiting => "待受理",
            TaskStatus::Running => "审批中",
            TaskStatus::Stopped => "暂停计时",
            TaskStatus::Approved => "准予许可",
            TaskStatus::Refused => "不予许可",
        }
    }

    pub fn decided(self) -> bool {
        matches!(self, TaskStatus::Approved | TaskStatus::Refused)
    }
}

/// One matter of the application at its unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub matter: u64,
    pub code: String,
    pub name: String,
    pub unit: UnitId,
    pub statutory_days: u32,
    pub promised_days: u32,
    pub status: TaskStatus,
    #[serde(default)]
    pub stops: Vec<Stop>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Instant>,
    /// The licence or certificate (its name and number), when approved.
    #[serde(default)]
    pub result: Option<String>,
    /// Why it was refused.
    #[serde(default)]
    pub reason: Option<String>,
    /// Past its promise and supervised (督办) once.
    #[serde(default)]
    pub supervised: bool,
    /// Working days added with the unit head's approval (Art 42: at most 10, once).
    #[serde(default)]
    pub extension_days: u32,
}

impl Task {
    /// Working days its clock stood still by `today`.
    pub fn stopped_days(&self, cal: &Calendar, today: NaiveDate) -> i64 {
        self.stops.iter().map(|s| s.working_days(cal, today)).sum()
    }
}

/// The clocks of an application, on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TaskClock {
    pub code: String,
    /// The promised limit's last day, moved on by the stopped working days.
    #[schema(value_type = Option<String>, format = Date)]
    pub due: Option<NaiveDate>,
    /// Working days used, not counting stops (to the decision, or to today).
    pub used_days: Option<i64>,
    pub stopped_days: i64,
    pub overdue: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Application {
    pub package: u64,
    pub package_name: String,
    pub lead: UnitId,
    pub promised_days: u32,
    pub applicant: Applicant,
    /// The one form's values, by field key.
    pub fields: BTreeMap<String, String>,
    pub handed: Vec<Handed>,
    /// The materials the package asks for (its one list, as it was when applied for).
    pub materials: Vec<PackageMaterial>,
    pub status: ApplicationStatus,
    #[schema(value_type = String, format = DateTime)]
    pub received_at: Instant,
    /// The last day to accept or give the one-time notice (5 working days after receipt).
    #[schema(value_type = String, format = Date)]
    pub check_due: NaiveDate,
    #[serde(default)]
    pub notice: Option<OneTimeNotice>,
    /// When the window checked it (the notice or the acceptance, whichever came first).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub checked_at: Option<Instant>,
    /// The acceptance's date (for a deemed one, the day it was received).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub accepted_at: Option<Instant>,
    #[serde(default)]
    pub accepted_how: Option<AcceptedHow>,
    #[serde(default)]
    pub waivers: Vec<Waiver>,
    /// The applicant's signed commitment for the waived materials.
    #[serde(default)]
    pub commitment: Option<String>,
    pub tasks: Vec<Task>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<Instant>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub issued_at: Option<Instant>,
    /// Why it was not accepted or was withdrawn.
    #[serde(default)]
    pub closed_reason: Option<String>,
    /// Past the package's promise and supervised (督办) once.
    #[serde(default)]
    pub supervised: bool,
    /// Working days added to the package's promise with the government's approval (Art 42:
    /// joint handling at most 15 more, once).
    #[serde(default)]
    pub extension_days: u32,
    /// The applicant's query code as a digest ([`query_digest`]); views leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_digest: Option<String>,
}

impl Application {
    /// The codes of the package's materials not handed in and not held elsewhere.
    pub fn missing(&self) -> Vec<&PackageMaterial> {
        self.materials
            .iter()
            .filter(|m| m.material.shared_from.is_none())
            .filter(|m| !self.handed.iter().any(|h| h.code == m.material.code))
            .collect()
    }

    /// The package's promise: its last day, moved on by the working days on which some task's
    /// clock stood still (each such day counted once).
    pub fn due(&self, cal: &Calendar, today: NaiveDate) -> Option<NaiveDate> {
        let start = local_date(self.accepted_at?);
        cal.add_working_days(
            start,
            self.promised_days + self.extension_days + self.stopped_days(cal, today),
        )
        .ok()
    }

    /// The working days on which some task's clock stood still by `today`, each counted once
    /// (the package's promise moves on by these).
    pub fn stopped_days(&self, cal: &Calendar, today: NaiveDate) -> u32 {
        let mut stopped: BTreeSet<NaiveDate> = BTreeSet::new();
        for s in self.tasks.iter().flat_map(|t| &t.stops) {
            let to = s.to.map_or(today, local_date);
            let mut d = local_date(s.from);
            while d < to {
                let Some(next) = d.succ_opt() else { break };
                d = next;
                if cal.is_workday(d).unwrap_or(false) {
                    stopped.insert(d);
                }
            }
        }
        stopped.len() as u32
    }

    /// Accepted as of receipt now (Art 32(4)): waiting for the window, no notice, and the five
    /// working days past.
    pub fn deemed_by(&self, today: NaiveDate) -> bool {
        self.status == ApplicationStatus::Received
            && self.notice.is_none()
            && today > self.check_due
    }

    /// What 超期督办 would supervise on `today`: the tasks past their promise not yet
    /// supervised, and whether the package is (`None` when nothing is).
    pub fn supervision_due(&self, cal: &Calendar, today: NaiveDate) -> Option<(Vec<u64>, bool)> {
        if self.status != ApplicationStatus::Accepted {
            return None;
        }
        let matters: Vec<u64> = self
            .tasks
            .iter()
            .zip(self.clocks(cal, today))
            .filter(|(t, c)| c.overdue && !t.supervised && !t.status.decided())
            .map(|(t, _)| t.matter)
            .collect();
        let package = !self.supervised && self.overdue(cal, today);
        (!matters.is_empty() || package).then_some((matters, package))
    }

    /// Each task's clock.
    pub fn clocks(&self, cal: &Calendar, today: NaiveDate) -> Vec<TaskClock> {
        self.tasks
            .iter()
            .map(|t| {
                let stopped = t.stopped_days(cal, today);
                let start = self.accepted_at.map(local_date);
                let due = start.and_then(|s| {
                    cal.add_working_days(s, t.promised_days + t.extension_days + stopped as u32)
                        .ok()
                });
                let end = t.decided_at.map_or(today, local_date);
                let used =
                    start.and_then(|s| cal.working_days_after(s, end).ok().map(|n| n - stopped));
                TaskClock {
                    code: t.code.clone(),
                    due,
                    used_days: used,
                    stopped_days: stopped,
                    overdue: due.is_some_and(|d| end > d),
                }
            })
            .collect()
    }

    /// The package overdue on `today`: not all decided by its promise, or decided late.
    pub fn overdue(&self, cal: &Calendar, today: NaiveDate) -> bool {
        let end = self.decided_at.map_or(today, local_date);
        self.due(cal, today).is_some_and(|d| end > d)
    }

    /// Whether the window checked it within the five working days (a deemed acceptance was
    /// not checked in time).
    pub fn checked_in_time(&self) -> Option<bool> {
        if self.accepted_how == Some(AcceptedHow::Deemed) {
            return Some(false);
        }
        self.checked_at.map(|at| local_date(at) <= self.check_due)
    }
}

/// A task's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum TaskDecision {
    /// 准予许可, with the licence's name and number.
    Approve { result: String },
    /// 不予许可, with the reason (Art 38: the applicant is told why and how to seek review).
    Refuse { reason: String },
}

#[derive(Debug, Clone)]
pub enum ApplicationCommand {
    /// `package` is the package as the use case read it (id, state).
    Submit {
        package_id: u64,
        package: Box<Package>,
        applicant: Applicant,
        fields: BTreeMap<String, String>,
        handed: Vec<Handed>,
        /// The query code's digest the applicant looks progress up with.
        query_digest: Option<String>,
    },
    /// The window's one-time notice of everything missing.
    Notify {
        missing: Vec<Missing>,
    },
    /// The applicant hands in materials (after the notice, or a waived one later).
    Hand {
        handed: Vec<Handed>,
    },
    /// The window accepts; `waive` the missing materials accepted with a commitment, each with
    /// the working days the applicant has to hand it in.
    Accept {
        waive: Vec<(String, u32)>,
        commitment: Option<String>,
    },
    /// No notice and no acceptance in five working days: accepted as of receipt (the server's
    /// scan runs it).
    Deem,
    NotAccept {
        reason: String,
    },
    Withdraw {
        reason: String,
    },
    /// A task's unit stops its clock (补正 or an Art 45 procedure), telling the applicant why.
    StopClock {
        matter: u64,
        kind: StopKind,
        reason: String,
    },
    /// …and starts it again.
    Resume {
        matter: u64,
    },
    Decide {
        matter: u64,
        decision: TaskDecision,
    },
    /// Every task decided: the results issued together and the applicant told.
    Issue,
    /// 超期督办: the tasks past their promise, and the package past its own, each supervised
    /// once (the server's scan runs it, as for an appeal's deadline).
    Supervise,
    /// A new query code for the receipt (the old one stops working).
    NewQueryCode {
        digest: String,
    },
    /// 延期 (Art 42): a matter's limit by up to 10 working days with its unit head's approval
    /// (`matter`), or the package's by up to 15 with the government's (`None`); once each,
    /// the applicant told why.
    Extend {
        matter: Option<u64>,
        days: u32,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ApplicationEvent {
    Submitted {
        application: Box<Application>,
    },
    Notified {
        notice: OneTimeNotice,
    },
    Handed {
        handed: Vec<Handed>,
    },
    Accepted {
        how: AcceptedHow,
        #[serde(default)]
        waivers: Vec<Waiver>,
        #[serde(default)]
        commitment: Option<String>,
        /// The acceptance's date (a deemed one is dated the day of receipt).
        effective: Instant,
    },
    NotAccepted {
        reason: String,
    },
    Withdrawn {
        reason: String,
    },
    ClockStopped {
        matter: u64,
        kind: StopKind,
        reason: String,
    },
    Resumed {
        matter: u64,
    },
    Decided {
        matter: u64,
        decision: TaskDecision,
    },
    Issued,
    Supervised {
        matters: Vec<u64>,
        package: bool,
    },
    /// The digest only; the code is never recorded.
    QueryCodeIssued {
        digest: String,
    },
    Extended {
        #[serde(default)]
        matter: Option<u64>,
        days: u32,
        reason: String,
    },
}

/// The window (综合窗口): the centre's intake and dispatch staff, administrators.
pub const WINDOW_ROLES: &[Role] = &[Role::Operator, Role::Dispatcher, Role::Admin];

fn illegal(what: &str, status: ApplicationStatus) -> DomainError {
    DomainError::invalid(
        "application",
        format!("申请当前为“{}”，不能{what}", status.label()),
    )
}

impl Application {
    fn task(&self, matter: u64) -> Result<&Task, DomainError> {
        self.tasks
            .iter()
            .find(|t| t.matter == matter)
            .ok_or_else(|| DomainError::invalid("matter", "本申请没有这个事项"))
    }

    /// Only the task's own unit (or an administrator) acts on it.
    fn unit_may(actor: &Actor, t: &Task) -> Result<(), DomainError> {
        if actor.role == Role::Admin
            || (matches!(actor.role, Role::Handler | Role::UnitLeader) && actor.unit == t.unit)
        {
            Ok(())
        } else {
            Err(DomainError::invalid(
                "matter",
                format!("“{}”由其审批单位办理", t.name),
            ))
        }
    }

    fn submit(
        package_id: u64,
        package: &Package,
        applicant: &Applicant,
        fields: &BTreeMap<String, String>,
        handed: &[Handed],
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<Application, DomainError> {
        if package.retired {
            return Err(DomainError::invalid(
                "package",
                "该一件事已停用，不再受理申请",
            ));
        }
        let applicant = applicant.clone().normalised()?;
        let mut values = BTreeMap::new();
        for f in &package.fields {
            let v = fields.get(&f.field.key).map(|v| v.trim()).unwrap_or("");
            if v.is_empty() {
                if f.field.required {
                    return Err(DomainError::invalid(
                        "fields",
                        format!("请填写“{}”", f.field.label),
                    ));
                }
                continue;
            }
            if v.chars().count() > 500 {
                return Err(DomainError::invalid(
                    "fields",
                    format!("“{}”最多500字", f.field.label),
                ));
            }
            values.insert(f.field.key.clone(), v.to_string());
        }
        if let Some(k) = fields
            .keys()
            .find(|k| !package.fields.iter().any(|f| &f.field.key == *k))
        {
            return Err(DomainError::invalid("fields", format!("表单没有字段 {k}")));
        }
        let handed = check_handed(&package.materials, handed, &[])?;
        let received = local_date(at);
        let check_due = ctx
            .calendar
            .add_working_days(received, ApprovalPolicy::STATUTORY.notice_days)?;
        Ok(Application {
            package: package_id,
            package_name: package.name.clone(),
            lead: package.lead,
            promised_days: package.promised_days,
            applicant,
            fields: values,
            handed,
            materials: package.materials.clone(),
            status: ApplicationStatus::Received,
            received_at: at,
            check_due,
            notice: None,
            checked_at: None,
            accepted_at: None,
            accepted_how: None,
            waivers: vec![],
            commitment: None,
            tasks: package
                .matters
                .iter()
                .map(|m| Task {
                    matter: m.id,
                    code: m.spec.code.clone(),
                    name: m.spec.name.clone(),
                    unit: m.spec.unit,
                    statutory_days: m.spec.statutory_days,
                    promised_days: m.spec.promised_days.min(package.promised_days),
                    status: TaskStatus::Waiting,
                    stops: vec![],
                    decided_at: None,
                    result: None,
                    reason: None,
                    supervised: false,
                    extension_days: 0,
                })
                .collect(),
            decided_at: None,
            issued_at: None,
            closed_reason: None,
            supervised: false,
            extension_days: 0,
            query_digest: None,
        })
    }
}

/// Materials handed in, each under a code of the package's list, each once (with `already`).
fn check_handed(
    materials: &[PackageMaterial],
    handed: &[Handed],
    already: &[Handed],
) -> Result<Vec<Handed>, DomainError> {
    let mut out: Vec<Handed> = Vec::new();
    for h in handed {
        let Some(m) = material(materials, &h.code) else {
            return Err(DomainError::invalid(
                "materials",
                format!("材料清单中没有编码为 {} 的材料", h.code),
            ));
        };
        if m.shared_from.is_some() {
            return Err(DomainError::invalid(
                "materials",
                format!(
                    "“{}”由{}共享获取，无需提交",
                    m.name,
                    m.shared_from.as_deref().unwrap_or("")
                ),
            ));
        }
        if out.iter().chain(already).any(|x| x.code == h.code) {
            return Err(DomainError::invalid(
                "materials",
                format!("“{}”已提交，每项材料只需提交一次", m.name),
            ));
        }
        let file = text("materials", &h.file, 200, "文件名")?;
        if let Some(sha) = &h.sha256 {
            if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DomainError::invalid("materials", "文件摘要无效"));
            }
        }
        out.push(Handed {
            code: h.code.clone(),
            file,
            sha256: h.sha256.clone(),
            size: h.size,
            at: h.at,
        });
    }
    Ok(out)
}

/// The material of `list` with this code.
fn material<'a>(list: &'a [PackageMaterial], code: &str) -> Option<&'a Material> {
    list.iter()
        .find(|m| m.material.code == code)
        .map(|m| &m.material)
}

impl Aggregate for Application {
    const KIND: &'static str = "application";
    type Command = ApplicationCommand;
    type Event = ApplicationEvent;

    fn decide(
        state: Option<&Self>,
        command: &ApplicationCommand,
        actor: &Actor,
        at: Instant,
        ctx: Context<'_>,
    ) -> Result<Vec<ApplicationEvent>, DomainError> {
        use ApplicationCommand as C;
        use ApplicationEvent as E;
        use ApplicationStatus as S;
        let today = local_date(at);
        let Some(a) = state else {
            let C::Submit {
                package_id,
                package,
                applicant,
                fields,
                handed,
                query_digest,
            } = command
            else {
                return Err(DomainError::invalid("application", "请先提交申请"));
            };
            // At the window, or by the applicant through the portal (the server's System).
            require_role(
                actor,
                &[Role::Operator, Role::Dispatcher, Role::Admin, Role::System],
                "submit an application",
            )?;
            let mut application =
                Application::submit(*package_id, package, applicant, fields, handed, at, ctx)?;
            application.query_digest = query_digest.clone();
            return Ok(vec![E::Submitted {
                application: Box::new(application),
            }]);
        };
        match command {
            C::Submit { .. } => Err(DomainError::invalid("application", "申请已提交")),
            C::Notify { missing } => {
                require_role(actor, WINDOW_ROLES, "give the one-time notice")?;
                if a.status != S::Received {
                    return Err(illegal("一次性告知", a.status));
                }
                if a.notice.is_some() {
                    return Err(DomainError::invalid(
                        "missing",
                        "一次性告知只能发一次：请一次列明所有需要补正的材料",
                    ));
                }
                if today > a.check_due {
                    return Err(DomainError::invalid(
                        "missing",
                        format!(
                            "告知期限（{}）已过：逾期不告知的，自收到申请材料之日起即为受理（行政许可法第三十二条）",
                            a.check_due
                        ),
                    ));
                }
                if missing.is_empty() {
                    return Err(DomainError::invalid(
                        "missing",
                        "请列出需要补正的材料；材料齐全请直接受理",
                    ));
                }
                let mut out: Vec<Missing> = Vec::new();
                for m in missing {
                    let Some(mat) = material(&a.materials, &m.code) else {
                        return Err(DomainError::invalid(
                            "missing",
                            format!("材料清单中没有编码为 {} 的材料", m.code),
                        ));
                    };
                    if out.iter().any(|x| x.code == m.code) {
                        continue;
                    }
                    let note = m.note.trim();
                    if note.chars().count() > 300 {
                        return Err(DomainError::invalid("missing", "每项说明最多300字"));
                    }
                    out.push(Missing {
                        code: m.code.clone(),
                        name: mat.name.clone(),
                        note: note.to_string(),
                    });
                }
                Ok(vec![E::Notified {
                    notice: OneTimeNotice {
                        at,
                        by: actor.name.clone(),
                        missing: out,
                    },
                }])
            }
            C::Hand { handed } => {
                require_role(
                    actor,
                    &[Role::Operator, Role::Dispatcher, Role::Admin, Role::System],
                    "hand in materials",
                )?;
                if a.status.is_final() || a.status == S::Decided {
                    return Err(illegal("补交材料", a.status));
                }
                if handed.is_empty() {
                    return Err(DomainError::invalid("materials", "请选择要补交的材料"));
                }
                // A notice's item replaces what was handed before it; otherwise once each.
                let replaced: Vec<Handed> = match &a.notice {
                    Some(n) if a.status == S::Noticed => a
                        .handed
                        .iter()
                        .filter(|h| !n.missing.iter().any(|m| m.code == h.code))
                        .cloned()
                        .collect(),
                    _ => a.handed.clone(),
                };
                Ok(vec![E::Handed {
                    handed: check_handed(&a.materials, handed, &replaced)?,
                }])
            }
            C::Accept { waive, commitment } => {
                require_role(actor, WINDOW_ROLES, "accept an application")?;
                if !matches!(a.status, S::Received | S::Noticed) {
                    return Err(illegal("受理", a.status));
                }
                let missing = a.missing();
                let mut waivers = Vec::new();
                for m in &missing {
                    let Some((_, days)) = waive.iter().find(|(c, _)| *c == m.material.code) else {
                        return Err(DomainError::invalid(
                            "waive",
                            format!(
                                "“{}”尚未提交：请一次性告知补正，{}",
                                m.material.name,
                                if m.material.waivable {
                                    "或容缺受理并约定补交期限"
                                } else {
                                    "该材料是主要材料，不能容缺"
                                }
                            ),
                        ));
                    };
                    if !m.material.waivable {
                        return Err(DomainError::invalid(
                            "waive",
                            format!("“{}”是主要材料，不能容缺受理", m.material.name),
                        ));
                    }
                    if !(1..=30).contains(days) {
                        return Err(DomainError::invalid(
                            "waive",
                            "容缺材料的补交期限须为1–30个工作日",
                        ));
                    }
                    waivers.push(Waiver {
                        code: m.material.code.clone(),
                        name: m.material.name.clone(),
                        due: ctx.calendar.add_working_days(today, *days)?,
                        supplied: None,
                    });
                }
                if let Some((c, _)) = waive
                    .iter()
                    .find(|(c, _)| !missing.iter().any(|m| &m.material.code == c))
                {
                    return Err(DomainError::invalid(
                        "waive",
                        format!("材料 {c} 不缺，无需容缺"),
                    ));
                }
                let commitment = match (waivers.is_empty(), commitment.as_deref().map(str::trim)) {
                    (true, _) => None,
                    (false, Some(c)) if !c.is_empty() => {
                        Some(text("commitment", c, 500, "承诺书")?)
                    }
                    (false, _) => {
                        return Err(DomainError::invalid(
                            "commitment",
                            "容缺受理须有申请人签署的承诺（补交材料的内容和期限）",
                        ))
                    }
                };
                // Past the five days without a notice it was accepted on receipt already.
                let deemed = a.notice.is_none() && today > a.check_due;
                Ok(vec![E::Accepted {
                    how: if deemed {
                        AcceptedHow::Deemed
                    } else if waivers.is_empty() {
                        AcceptedHow::Complete
                    } else {
                        AcceptedHow::Waived
                    },
                    waivers,
                    commitment,
                    effective: if deemed { a.received_at } else { at },
                }])
            }
            C::Deem => {
                require_role(
                    actor,
                    &[Role::System, Role::Admin],
                    "deem an application accepted",
                )?;
                if a.status != S::Received || a.notice.is_some() {
                    return Err(illegal("视为受理", a.status));
                }
                if !a.deemed_by(today) {
                    return Err(DomainError::invalid(
                        "application",
                        format!("告知期限 {} 未过", a.check_due),
                    ));
                }
                Ok(vec![E::Accepted {
                    how: AcceptedHow::Deemed,
                    waivers: vec![],
                    commitment: None,
                    effective: a.received_at,
                }])
            }
            C::NotAccept { reason } => {
                require_role(actor, WINDOW_ROLES, "refuse to accept an application")?;
                if !matches!(a.status, S::Received | S::Noticed) {
                    return Err(illegal("不予受理", a.status));
                }
                if a.notice.is_none() && today > a.check_due {
                    return Err(DomainError::invalid(
                        "reason",
                        "告知期限已过，申请已视为受理，不能再不予受理",
                    ));
                }
                Ok(vec![E::NotAccepted {
                    reason: text("reason", reason, 500, "不予受理的理由")?,
                }])
            }
            C::Withdraw { reason } => {
                require_role(
                    actor,
                    &[Role::Operator, Role::Dispatcher, Role::Admin, Role::System],
                    "withdraw an application",
                )?;
                if a.status.is_final() || a.status == S::Decided {
                    return Err(illegal("撤回", a.status));
                }
                Ok(vec![E::Withdrawn {
                    reason: text("reason", reason, 500, "撤回原因")?,
                }])
            }
            C::StopClock {
                matter,
                kind,
                reason,
            } => {
                let t = a.task(*matter)?;
                Application::unit_may(actor, t)?;
                if a.status != S::Accepted || t.status != TaskStatus::Running {
                    return Err(DomainError::invalid(
                        "matter",
                        format!("“{}”当前为“{}”，不能暂停计时", t.name, t.status.label()),
                    ));
                }
                Ok(vec![E::ClockStopped {
                    matter: *matter,
                    kind: *kind,
                    reason: text("reason", reason, 500, "暂停计时的原因（将告知申请人）")?,
                }])
            }
            C::Resume { matter } => {
                let t = a.task(*matter)?;
                Application::unit_may(actor, t)?;
                if t.status != TaskStatus::Stopped {
                    return Err(DomainError::invalid(
                        "matter",
                        format!("“{}”没有暂停计时", t.name),
                    ));
                }
                Ok(vec![E::Resumed { matter: *matter }])
            }
            C::Decide { matter, decision } => {
                let t = a.task(*matter)?;
                Application::unit_may(actor, t)?;
                if a.status != S::Accepted || t.status != TaskStatus::Running {
                    return Err(DomainError::invalid(
                        "matter",
                        format!(
                            "“{}”当前为“{}”，不能作出决定{}",
                            t.name,
                            t.status.label(),
                            if t.status == TaskStatus::Stopped {
                                "：请先恢复计时"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                let decision = match decision {
                    TaskDecision::Approve { result } => TaskDecision::Approve {
                        result: text("result", result, 200, "证照名称和编号")?,
                    },
                    TaskDecision::Refuse { reason } => TaskDecision::Refuse {
                        reason: text("reason", reason, 500, "不予许可的理由")?,
                    },
                };
                Ok(vec![E::Decided {
                    matter: *matter,
                    decision,
                }])
            }
            C::Supervise => {
                require_role(
                    actor,
                    &[
                        Role::System,
                        Role::Supervisor,
                        Role::Dispatcher,
                        Role::Admin,
                    ],
                    "supervise an application",
                )?;
                if a.status != S::Accepted {
                    return Err(illegal("督办", a.status));
                }
                let Some((matters, package)) = a.supervision_due(ctx.calendar, today) else {
                    return Err(DomainError::invalid("application", "没有超期未督办的事项"));
                };
                Ok(vec![E::Supervised { matters, package }])
            }
            C::Extend {
                matter,
                days,
                reason,
            } => {
                let policy = ApprovalPolicy::STATUTORY;
                if a.status != S::Accepted {
                    return Err(illegal("延期", a.status));
                }
                let reason = text("reason", reason, 500, "延期理由（将告知申请人）")?;
                match matter {
                    Some(m) => {
                        let t = a.task(*m)?;
                        // 经本行政机关负责人批准: the unit's leader.
                        if !(actor.role == Role::Admin
                            || (actor.role == Role::UnitLeader && actor.unit == t.unit))
                        {
                            return Err(DomainError::invalid(
                                "matter",
                                format!("“{}”延期须经其审批单位负责人批准", t.name),
                            ));
                        }
                        if t.status.decided() {
                            return Err(DomainError::invalid(
                                "matter",
                                format!("“{}”已作出决定，不能延期", t.name),
                            ));
                        }
                        if t.extension_days > 0 {
                            return Err(DomainError::invalid(
                                "days",
                                format!("“{}”已延期一次", t.name),
                            ));
                        }
                        if !(1..=policy.single_extension).contains(days) {
                            return Err(DomainError::invalid(
                                "days",
                                format!(
                                    "单个事项最多延长{}个工作日（行政许可法第四十二条）",
                                    policy.single_extension
                                ),
                            ));
                        }
                    }
                    None => {
                        // 经本级人民政府负责人批准: the centre acts for the county government.
                        require_role(actor, &[Role::Dispatcher, Role::Admin], "extend a package")?;
                        if a.extension_days > 0 {
                            return Err(DomainError::invalid("days", "一件事的承诺时限已延期一次"));
                        }
                        if !(1..=policy.joint_extension).contains(days) {
                            return Err(DomainError::invalid(
                                "days",
                                format!(
                                    "联合办理最多延长{}个工作日（行政许可法第四十二条）",
                                    policy.joint_extension
                                ),
                            ));
                        }
                    }
                }
                Ok(vec![E::Extended {
                    matter: *matter,
                    days: *days,
                    reason,
                }])
            }
            C::NewQueryCode { digest } => {
                require_role(actor, WINDOW_ROLES, "issue a query code")?;
                Ok(vec![E::QueryCodeIssued {
                    digest: digest.clone(),
                }])
            }
            C::Issue => {
                require_role(actor, WINDOW_ROLES, "issue the results")?;
                if a.status != S::Decided {
                    return Err(illegal("出证", a.status));
                }
                Ok(vec![E::Issued])
            }
        }
    }

    fn apply(state: Option<Self>, event: &ApplicationEvent, at: Instant) -> Self {
        use ApplicationEvent as E;
        use ApplicationStatus as S;
        let mut a = match (state, event) {
            (_, E::Submitted { application }) => return (**application).clone(),
            (Some(a), _) => a,
            (None, e) => unreachable!("{e:?} before Submitted"),
        };
        match event {
            E::Submitted { .. } => {}
            E::Notified { notice } => {
                a.checked_at.get_or_insert(notice.at);
                a.notice = Some(notice.clone());
                a.status = S::Noticed;
            }
            E::Handed { handed } => {
                for h in handed {
                    a.handed.retain(|x| x.code != h.code);
                    a.handed.push(h.clone());
                    if let Some(w) = a
                        .waivers
                        .iter_mut()
                        .find(|w| w.code == h.code && w.supplied.is_none())
                    {
                        w.supplied = Some(h.at);
                    }
                }
            }
            E::Accepted {
                how,
                waivers,
                commitment,
                effective,
            } => {
                if *how != AcceptedHow::Deemed {
                    a.checked_at.get_or_insert(at);
                }
                a.accepted_at = Some(*effective);
                a.accepted_how = Some(*how);
                a.waivers = waivers.clone();
                a.commitment = commitment.clone();
                a.status = S::Accepted;
                for t in &mut a.tasks {
                    t.status = TaskStatus::Running;
                }
            }
            E::NotAccepted { reason } => {
                a.checked_at.get_or_insert(at);
                a.status = S::NotAccepted;
                a.closed_reason = Some(reason.clone());
            }
            E::Withdrawn { reason } => {
                a.status = S::Withdrawn;
                a.closed_reason = Some(reason.clone());
            }
            E::ClockStopped {
                matter,
                kind,
                reason,
            } => {
                if let Some(t) = a.tasks.iter_mut().find(|t| t.matter == *matter) {
                    t.status = TaskStatus::Stopped;
                    t.stops.push(Stop {
                        kind: *kind,
                        reason: reason.clone(),
                        from: at,
                        to: None,
                    });
                }
            }
            E::Resumed { matter } => {
                if let Some(t) = a.tasks.iter_mut().find(|t| t.matter == *matter) {
                    t.status = TaskStatus::Running;
                    if let Some(s) = t.stops.last_mut() {
                        s.to = Some(at);
                    }
                }
            }
            E::Decided { matter, decision } => {
                if let Some(t) = a.tasks.iter_mut().find(|t| t.matter == *matter) {
                    t.decided_at = Some(at);
                    match decision {
                        TaskDecision::Approve { result } => {
                            t.status = TaskStatus::Approved;
                            t.result = Some(result.clone());
                        }
                        TaskDecision::Refuse { reason } => {
                            t.status = TaskStatus::Refused;
                            t.reason = Some(reason.clone());
                        }
                    }
                }
                if a.tasks.iter().all(|t| t.status.decided()) {
                    a.status = S::Decided;
                    a.decided_at = Some(at);
                }
            }
            E::Issued => {
                a.status = S::Issued;
                a.issued_at = Some(at);
            }
            E::Extended { matter, days, .. } => match matter {
                Some(m) => {
                    if let Some(t) = a.tasks.iter_mut().find(|t| t.matter == *m) {
                        t.extension_days = *days;
                    }
                }
                None => a.extension_days = *days,
            },
            E::QueryCodeIssued { digest } => {
                a.query_digest = Some(digest.clone());
            }
            E::Supervised { matters, package } => {
                for t in &mut a.tasks {
                    if matters.contains(&t.matter) {
                        t.supervised = true;
                    }
                }
                a.supervised |= *package;
            }
        }
        a
    }

    fn event_name(event: &ApplicationEvent) -> &'static str {
        match event {
            ApplicationEvent::Submitted { .. } => "submitted",
            ApplicationEvent::Notified { .. } => "notified",
            ApplicationEvent::Handed { .. } => "handed",
            ApplicationEvent::Accepted { .. } => "accepted",
            ApplicationEvent::NotAccepted { .. } => "not_accepted",
            ApplicationEvent::Withdrawn { .. } => "withdrawn",
            ApplicationEvent::ClockStopped { .. } => "clock_stopped",
            ApplicationEvent::Resumed { .. } => "resumed",
            ApplicationEvent::Decided { .. } => "decided",
            ApplicationEvent::Issued => "issued",
            ApplicationEvent::Supervised { .. } => "supervised",
            ApplicationEvent::QueryCodeIssued { .. } => "query_code_issued",
            ApplicationEvent::Extended { .. } => "extended",
        }
    }

    /// By package, status, each task's unit (and `{unit}|{task status}`), the lead, the
    /// receipt's month and, while waiting for the window, the check's last day.
    fn index(&self) -> Vec<(&'static str, String)> {
        let status = serde_plain(self.status);
        let mut v = vec![
            ("package", self.package.to_string()),
            ("status", status.clone()),
            ("lead", self.lead.0.to_string()),
            (
                "received",
                local_date(self.received_at).format("%Y-%m").to_string(),
            ),
        ];
        if self.status == ApplicationStatus::Received {
            v.push(("check_due", self.check_due.to_string()));
        }
        if !self.status.is_final() {
            v.push(("open", "1".into()));
        }
        let mut units = BTreeSet::new();
        for t in &self.tasks {
            units.insert(t.unit);
            v.push((
                "unit_task",
                format!("{}|{}", t.unit.0, serde_plain(t.status)),
            ));
        }
        v.extend(units.into_iter().map(|u| ("unit", u.0.to_string())));
        if let Some(c) = &self.applicant.credit_code {
            v.push(("credit_code", c.clone()));
        }
        v.sort();
        v.dedup();
        v
    }
}

fn serde_plain<T: Serialize>(x: T) -> String {
    serde_json::to_value(x)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// 行政审批效率
// ---------------------------------------------------------------------------------------------

/// A matter's figures in a period.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MatterFigures {
    pub code: String,
    pub name: String,
    pub unit: UnitId,
    pub statutory_days: u32,
    pub promised_days: u32,
    /// Tasks decided in the period.
    pub decided: u64,
    pub on_time: u64,
    /// Average working days to the decision, stops not counted.
    pub average_days: Option<f64>,
}

/// A package's figures in a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PackageFigures {
    pub package: u64,
    pub name: String,
    pub promised_days: u32,
    /// The matters' statutory limits one after another.
    pub serial_statutory_days: u32,
    /// Applications whose every task was decided in the period.
    pub decided: u64,
    /// …by the package's promise.
    pub on_time: u64,
    pub on_time_rate: Option<f64>,
    /// Average working days from acceptance to the last decision, stops not counted.
    pub average_days: Option<f64>,
}

/// 行政审批效率 in a period, by package and by matter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Efficiency {
    /// Applications decided in the period, and those by their promise.
    pub decided: u64,
    pub on_time: u64,
    /// 行政审批效率: on time / decided.
    pub on_time_rate: Option<f64>,
    pub average_days: Option<f64>,
    /// Applications checked (noticed, accepted or refused, or deemed) in the period, and
    /// those within the five working days.
    pub checked: u64,
    pub checked_in_time: u64,
    pub checked_in_time_rate: Option<f64>,
    /// 容缺 materials due in the period, and those that lapsed.
    pub waivers_due: u64,
    pub waivers_lapsed: u64,
    /// Open applications past their promise on the period's last day (or today).
    pub overdue_open: u64,
    /// Of those decided, how many had their promise extended (Art 42), counted on time
    /// against the extended limit.
    pub extended: u64,
    pub packages: Vec<PackageFigures>,
    pub matters: Vec<MatterFigures>,
}

fn ratio(n: u64, d: u64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

fn mean(sum: i64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum as f64 / n as f64)
}

/// The figures of these applications for the days `from..=to`, as of `today` (open stops and
/// overdue counted to it).
pub fn efficiency<'a>(
    apps: impl IntoIterator<Item = &'a Application>,
    cal: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> Efficiency {
    let within = |d: NaiveDate| d >= from && d <= to;
    let mut e = Efficiency::default();
    let mut pk: BTreeMap<u64, (PackageFigures, i64)> = BTreeMap::new();
    let mut mt: BTreeMap<String, (MatterFigures, i64)> = BTreeMap::new();
    let mut days_sum = 0i64;
    let end = today.min(to);
    for a in apps {
        // The check: the notice, the acceptance or refusal, or the deemed acceptance (dated
        // the check's last day).
        let checked_on = match (a.accepted_how, a.checked_at) {
            (Some(AcceptedHow::Deemed), _) => Some(a.check_due),
            (_, Some(at)) => Some(local_date(at)),
            _ => None,
        };
        if checked_on.is_some_and(within) {
            e.checked += 1;
            if a.checked_in_time() == Some(true) {
                e.checked_in_time += 1;
            }
        }
        for w in &a.waivers {
            if within(w.due) && w.due <= today {
                e.waivers_due += 1;
                if w.lapsed(today) {
                    e.waivers_lapsed += 1;
                }
            }
        }
        if !a.status.is_final() && a.status != ApplicationStatus::Decided && a.overdue(cal, end) {
            e.overdue_open += 1;
        }
        let clocks = a.clocks(cal, today);
        for (t, c) in a.tasks.iter().zip(&clocks) {
            if !t.decided_at.map(local_date).is_some_and(within) {
                continue;
            }
            let entry = mt.entry(t.code.clone()).or_insert_with(|| {
                (
                    MatterFigures {
                        code: t.code.clone(),
                        name: t.name.clone(),
                        unit: t.unit,
                        statutory_days: t.statutory_days,
                        promised_days: t.promised_days,
                        decided: 0,
                        on_time: 0,
                        average_days: None,
                    },
                    0,
                )
            });
            entry.0.decided += 1;
            if !c.overdue {
                entry.0.on_time += 1;
            }
            entry.1 += c.used_days.unwrap_or(0);
        }
        let Some(done) = a.decided_at.map(local_date).filter(|d| within(*d)) else {
            continue;
        };
        let used = a
            .accepted_at
            .map(local_date)
            .and_then(|s| cal.working_days_after(s, done).ok())
            .unwrap_or(0);
        // Stops counted once per working day, as the promise's clock counts them.
        let used = (used - i64::from(a.stopped_days(cal, today))).max(0);
        let on_time = !a.overdue(cal, today);
        e.decided += 1;
        if a.extension_days > 0 || a.tasks.iter().any(|t| t.extension_days > 0) {
            e.extended += 1;
        }
        days_sum += used;
        if on_time {
            e.on_time += 1;
        }
        let p = pk.entry(a.package).or_insert_with(|| {
            (
                PackageFigures {
                    package: a.package,
                    name: a.package_name.clone(),
                    promised_days: a.promised_days,
                    serial_statutory_days: a.tasks.iter().map(|t| t.statutory_days).sum(),
                    ..Default::default()
                },
                0,
            )
        });
        p.0.decided += 1;
        p.1 += used;
        if on_time {
            p.0.on_time += 1;
        }
    }
    e.on_time_rate = ratio(e.on_time, e.decided);
    e.average_days = mean(days_sum, e.decided);
    e.checked_in_time_rate = ratio(e.checked_in_time, e.checked);
    e.packages = pk
        .into_values()
        .map(|(mut p, sum)| {
            p.on_time_rate = ratio(p.on_time, p.decided);
            p.average_days = mean(sum, p.decided);
            p
        })
        .collect();
    e.matters = mt
        .into_values()
        .map(|(mut m, sum)| {
            m.average_days = mean(sum, m.decided);
            m
        })
        .collect();
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::{ctx, run};
    use crate::org::UnitKind;
    use crate::time::local;
    use crate::UserId;

    fn who(role: Role, unit: u32) -> Actor {
        Actor {
            user: UserId(7),
            name: "窗口".into(),
            role,
            unit: UnitId(unit),
            unit_kind: UnitKind::Department,
        }
    }

    fn at(y: i32, m: u32, d: u32) -> Instant {
        local(y, m, d, 10, 0, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn matter(
        id: u64,
        code: &str,
        unit: u32,
        promised: u32,
        materials: &[(&str, bool)],
    ) -> MatterRef {
        MatterRef {
            id,
            spec: MatterSpec {
                code: code.into(),
                name: format!("事项{code}"),
                unit: UnitId(unit),
                statutory_days: 20,
                promised_days: promised,
                materials: materials
                    .iter()
                    .map(|(c, w)| Material {
                        code: c.to_string(),
                        name: format!("材料{c}"),
                        waivable: *w,
                        shared_from: None,
                    })
                    .collect(),
                fields: vec![FormField {
                    key: "site".into(),
                    label: "生产地址".into(),
                    required: true,
                }],
            }
            .normalised()
            .unwrap(),
        }
    }

    fn package(promised: u32) -> Result<Package, DomainError> {
        let matters = vec![
            matter(1, "A", 31, 10, &[("licence", false), ("plan", true)]),
            matter(2, "B", 32, 12, &[("licence", true), ("fire", false)]),
        ];
        run(
            None,
            PackageCommand::Define {
                spec: PackageSpec {
                    name: "香精香料产业链一件事".into(),
                    lead: UnitId(30),
                    promised_days: promised,
                    description: String::new(),
                    matters: vec![1, 2],
                },
                matters,
            },
            &who(Role::Admin, 1),
            at(2026, 10, 1),
        )
    }

    fn handed(codes: &[&str], when: Instant) -> Vec<Handed> {
        codes
            .iter()
            .map(|c| Handed {
                code: c.to_string(),
                file: format!("{c}.pdf"),
                sha256: None,
                size: None,
                at: when,
            })
            .collect()
    }

    fn submit(p: &Package, codes: &[&str], when: Instant) -> Application {
        run(
            None,
            ApplicationCommand::Submit {
                package_id: 9,
                package: Box::new(p.clone()),
                applicant: Applicant {
                    kind: ApplicantKind::Enterprise,
                    name: "渥江香料有限公司".into(),
                    credit_code: Some(uscc("91330100MA2B3C4D5")),
                    contact: "陈经理".into(),
                    phone: Phone::parse("13800001111").unwrap(),
                },
                fields: [("site".to_string(), "渥江镇工业园3号".to_string())].into(),
                handed: handed(codes, when),
                query_digest: Some(query_digest("ab12", "12345678")),
            },
            &who(Role::Operator, 1),
            when,
        )
        .unwrap()
    }

    fn uscc(first17: &str) -> String {
        format!("{first17}{}", uscc_check(first17).unwrap())
    }

    #[test]
    fn a_query_code_matches_only_itself() {
        let d = query_digest("5f3a", "12345678");
        assert!(query_matches(&d, "12345678") && query_matches(&d, " 12345678 "));
        assert!(!query_matches(&d, "12345679"));
        assert!(!query_matches("no-salt", "12345678"));
        assert_ne!(d, query_digest("5f3b", "12345678"), "salted");
        let a = submit(&package(15).unwrap(), &[], at(2026, 11, 2));
        assert!(query_matches(
            a.query_digest.as_deref().unwrap(),
            "12345678"
        ));
    }

    #[test]
    fn a_credit_code_is_checked_by_its_check_character() {
        let good = uscc("91330100MA2B3C4D5");
        assert_eq!(
            parse_uscc(&format!(" {} ", good.to_lowercase())).unwrap(),
            good
        );
        // One character changed: the check character no longer fits.
        let mut bad: Vec<char> = good.chars().collect();
        bad[5] = if bad[5] == '1' { '2' } else { '1' };
        let bad: String = bad.into_iter().collect();
        assert!(parse_uscc(&bad).is_err());
        // I, O, Z, S, V are not used; 17 characters are too few.
        assert!(parse_uscc("91330100MA2B3C4DO1").is_err());
        assert!(parse_uscc(&good[..17]).is_err());
        // 18 characters with a wide one where the check character is split off: refused, not
        // a panic.
        assert!(parse_uscc("91330100MA2B3C4D中X").is_err());
        // The check character 0 when the sum is a multiple of 31.
        assert_eq!(uscc_check("00000000000000000"), Some('0'));
    }

    #[test]
    fn a_package_merges_its_lists_and_keeps_within_the_joint_cap() {
        let p = package(15).unwrap();
        // One materials list: the licence asked once, for both, waivable only if both may wait.
        let codes: Vec<&str> = p
            .materials
            .iter()
            .map(|m| m.material.code.as_str())
            .collect();
        assert_eq!(codes, vec!["licence", "plan", "fire"]);
        assert_eq!(p.materials[0].for_matters, vec!["A", "B"]);
        assert!(!p.materials[0].material.waivable);
        assert_eq!(p.fields.len(), 1, "the shared field filled in once");
        assert_eq!(p.serial_statutory_days(), 40);
        // The joint-handling cap (45 working days, Art 42) refuses a longer promise.
        assert!(package(45).is_ok());
        let e = package(46).unwrap_err();
        assert!(e.message_zh().contains("45"), "{}", e.message_zh());
        assert!(package(0).is_err());
        // A matter's promise cannot exceed its statutory limit.
        let mut spec = matter(3, "C", 33, 5, &[]).spec;
        spec.promised_days = 21;
        assert!(spec.normalised().is_err());
    }

    #[test]
    fn no_notice_in_five_working_days_is_an_acceptance_on_receipt() {
        let p = package(15).unwrap();
        // Received on Thursday 24 September 2026: 中秋 (25–27) and 国庆 (1–7 October) are not
        // counted, so the five working days end on Friday 9 October.
        let a = submit(&p, &["licence", "fire"], at(2026, 9, 24));
        assert_eq!(a.check_due, day(2026, 10, 9));
        let system = who(Role::System, 0);
        assert!(run(Some(&a), ApplicationCommand::Deem, &system, at(2026, 10, 9)).is_err());
        let deemed = run(
            Some(&a),
            ApplicationCommand::Deem,
            &system,
            at(2026, 10, 10),
        )
        .unwrap();
        assert_eq!(deemed.status, ApplicationStatus::Accepted);
        assert_eq!(deemed.accepted_how, Some(AcceptedHow::Deemed));
        assert_eq!(
            deemed.accepted_at,
            Some(a.received_at),
            "accepted on receipt"
        );
        assert_eq!(deemed.checked_in_time(), Some(false));
        // A notice after the five days is refused, and says why.
        let late = run(
            Some(&a),
            ApplicationCommand::Notify {
                missing: vec![Missing {
                    code: "plan".into(),
                    name: String::new(),
                    note: String::new(),
                }],
            },
            &who(Role::Operator, 1),
            at(2026, 10, 12),
        )
        .unwrap_err();
        assert!(
            late.message_zh().contains("第三十二条"),
            "{}",
            late.message_zh()
        );
    }

    #[test]
    fn the_notice_is_given_once_and_waivers_need_a_commitment() {
        let p = package(15).unwrap();
        let window = who(Role::Operator, 1);
        let a = submit(&p, &["licence"], at(2026, 11, 2));
        // The main material (fire) cannot be waived: accepting without it is refused.
        let e = run(
            Some(&a),
            ApplicationCommand::Accept {
                waive: vec![("plan".into(), 5)],
                commitment: Some("五日内补交".into()),
            },
            &window,
            at(2026, 11, 3),
        )
        .unwrap_err();
        assert!(e.message_zh().contains("材料fire"), "{}", e.message_zh());
        let notice = ApplicationCommand::Notify {
            missing: vec![
                Missing {
                    code: "fire".into(),
                    name: String::new(),
                    note: "消防验收意见书".into(),
                },
                Missing {
                    code: "plan".into(),
                    name: String::new(),
                    note: String::new(),
                },
            ],
        };
        let n = run(Some(&a), notice.clone(), &window, at(2026, 11, 3)).unwrap();
        assert_eq!(n.status, ApplicationStatus::Noticed);
        assert_eq!(n.notice.as_ref().unwrap().missing.len(), 2);
        assert_eq!(n.checked_in_time(), Some(true));
        assert!(
            run(Some(&n), notice, &window, at(2026, 11, 4)).is_err(),
            "once"
        );
        // The fire certificate comes; the plan is accepted missing (容缺), with a commitment.
        let h = run(
            Some(&n),
            ApplicationCommand::Hand {
                handed: handed(&["fire"], at(2026, 11, 5)),
            },
            &window,
            at(2026, 11, 5),
        )
        .unwrap();
        assert!(run(
            Some(&h),
            ApplicationCommand::Accept {
                waive: vec![("plan".into(), 5)],
                commitment: None
            },
            &window,
            at(2026, 11, 5)
        )
        .is_err());
        let ok = run(
            Some(&h),
            ApplicationCommand::Accept {
                waive: vec![("plan".into(), 5)],
                commitment: Some("本企业承诺5个工作日内补交".into()),
            },
            &window,
            at(2026, 11, 5),
        )
        .unwrap();
        assert_eq!(ok.accepted_how, Some(AcceptedHow::Waived));
        assert_eq!(ok.waivers[0].due, day(2026, 11, 12));
        assert!(ok.tasks.iter().all(|t| t.status == TaskStatus::Running));
        assert!(!ok.waivers[0].lapsed(day(2026, 11, 12)));
        assert!(
            ok.waivers[0].lapsed(day(2026, 11, 13)),
            "a lapse is flagged"
        );
        let supplied = run(
            Some(&ok),
            ApplicationCommand::Hand {
                handed: handed(&["plan"], at(2026, 11, 11)),
            },
            &window,
            at(2026, 11, 11),
        )
        .unwrap();
        assert!(!supplied.waivers[0].lapsed(day(2026, 11, 20)));
    }

    #[test]
    fn a_correction_stops_one_tasks_clock_and_tasks_are_decided_in_any_order() {
        let p = package(15).unwrap();
        let window = who(Role::Operator, 1);
        let a = submit(&p, &["licence", "fire", "plan"], at(2026, 11, 2));
        let a = run(
            Some(&a),
            ApplicationCommand::Accept {
                waive: vec![],
                commitment: None,
            },
            &window,
            at(2026, 11, 2),
        )
        .unwrap();
        let cal = ctx().calendar;
        // Accepted Monday 2 November: A promises 10 working days (16 November), B 12 (18
        // November), the package 15 (23 November).
        let c = a.clocks(cal, day(2026, 11, 2));
        assert_eq!(
            (c[0].due, c[1].due),
            (Some(day(2026, 11, 16)), Some(day(2026, 11, 18)))
        );
        assert_eq!(a.due(cal, day(2026, 11, 2)), Some(day(2026, 11, 23)));
        // Only A's own unit acts on A.
        let unit_a = who(Role::Handler, 31);
        let unit_b = who(Role::Handler, 32);
        let stop = ApplicationCommand::StopClock {
            matter: 1,
            kind: StopKind::Correction,
            reason: "补正车间平面图".into(),
        };
        assert!(run(Some(&a), stop.clone(), &unit_b, at(2026, 11, 4)).is_err());
        let s = run(Some(&a), stop, &unit_a, at(2026, 11, 4)).unwrap();
        // Stopped, A cannot be decided; B can, first.
        let approve = |m: u64| ApplicationCommand::Decide {
            matter: m,
            decision: TaskDecision::Approve {
                result: format!("许可证{m}号"),
            },
        };
        assert!(run(Some(&s), approve(1), &unit_a, at(2026, 11, 5)).is_err());
        let s = run(Some(&s), approve(2), &unit_b, at(2026, 11, 5)).unwrap();
        assert_eq!(s.status, ApplicationStatus::Accepted, "one still open");
        // Resumed on Friday 6 November: two working days stopped (5 and 6 November).
        let r = run(
            Some(&s),
            ApplicationCommand::Resume { matter: 1 },
            &unit_a,
            at(2026, 11, 6),
        )
        .unwrap();
        let c = r.clocks(cal, day(2026, 11, 6));
        assert_eq!(c[0].stopped_days, 2);
        assert_eq!(c[0].due, Some(day(2026, 11, 18)), "A moved on by two");
        assert_eq!(c[1].due, Some(day(2026, 11, 18)), "B untouched");
        assert_eq!(r.due(cal, day(2026, 11, 6)), Some(day(2026, 11, 25)));
        let d = run(Some(&r), approve(1), &unit_a, at(2026, 11, 17)).unwrap();
        assert_eq!(d.status, ApplicationStatus::Decided);
        assert!(!d.overdue(cal, day(2026, 12, 1)));
        assert!(
            run(
                Some(&d),
                ApplicationCommand::Issue,
                &unit_a,
                at(2026, 11, 18)
            )
            .is_err(),
            "the window issues"
        );
        let i = run(
            Some(&d),
            ApplicationCommand::Issue,
            &window,
            at(2026, 11, 18),
        )
        .unwrap();
        assert_eq!(i.status, ApplicationStatus::Issued);
    }

    #[test]
    fn a_limit_is_extended_once_with_the_right_approval() {
        let p = package(15).unwrap();
        let window = who(Role::Operator, 1);
        let a = submit(&p, &["licence", "fire", "plan"], at(2026, 11, 2));
        let a = run(
            Some(&a),
            ApplicationCommand::Accept {
                waive: vec![],
                commitment: None,
            },
            &window,
            at(2026, 11, 2),
        )
        .unwrap();
        let cal = ctx().calendar;
        let ext = |m: Option<u64>, days: u32| ApplicationCommand::Extend {
            matter: m,
            days,
            reason: "需现场核查".into(),
        };
        // A handler may not; the unit's leader may, up to 10 working days, once.
        assert!(run(
            Some(&a),
            ext(Some(1), 5),
            &who(Role::Handler, 31),
            at(2026, 11, 5)
        )
        .is_err());
        assert!(run(
            Some(&a),
            ext(Some(1), 11),
            &who(Role::UnitLeader, 31),
            at(2026, 11, 5)
        )
        .is_err());
        assert!(
            run(
                Some(&a),
                ext(Some(1), 5),
                &who(Role::UnitLeader, 32),
                at(2026, 11, 5)
            )
            .is_err(),
            "not its unit"
        );
        let e = run(
            Some(&a),
            ext(Some(1), 5),
            &who(Role::UnitLeader, 31),
            at(2026, 11, 5),
        )
        .unwrap();
        assert_eq!(
            e.clocks(cal, day(2026, 11, 5))[0].due,
            Some(day(2026, 11, 23)),
            "16 November + 5"
        );
        assert!(
            run(
                Some(&e),
                ext(Some(1), 2),
                &who(Role::UnitLeader, 31),
                at(2026, 11, 6)
            )
            .is_err(),
            "once"
        );
        // The package: by the centre, up to 15.
        assert!(run(
            Some(&e),
            ext(None, 16),
            &who(Role::Dispatcher, 1),
            at(2026, 11, 6)
        )
        .is_err());
        assert!(
            run(Some(&e), ext(None, 5), &window, at(2026, 11, 6)).is_err(),
            "the window may not"
        );
        let p2 = run(
            Some(&e),
            ext(None, 5),
            &who(Role::Dispatcher, 1),
            at(2026, 11, 6),
        )
        .unwrap();
        assert_eq!(
            p2.due(cal, day(2026, 11, 6)),
            Some(day(2026, 11, 30)),
            "23 November + 5"
        );
    }

    #[test]
    fn a_stop_over_a_holiday_counts_only_working_days() {
        let stop = Stop {
            kind: StopKind::ExpertReview,
            reason: "专家评审".into(),
            from: at(2026, 9, 30),
            to: Some(at(2026, 10, 9)),
        };
        // 1–7 October are the 国庆 holiday; 8 and 9 October are working days.
        assert_eq!(stop.working_days(ctx().calendar, day(2026, 12, 1)), 2);
        let open = Stop { to: None, ..stop };
        assert_eq!(
            open.working_days(ctx().calendar, day(2026, 10, 8)),
            1,
            "an open stop to today"
        );
    }

    #[test]
    fn efficiency_on_a_hand_built_set() {
        let p = package(15).unwrap();
        let window = who(Role::Operator, 1);
        let (ua, ub) = (who(Role::Handler, 31), who(Role::Handler, 32));
        let approve = |m: u64| ApplicationCommand::Decide {
            matter: m,
            decision: TaskDecision::Approve {
                result: "证".into(),
            },
        };
        let accept = ApplicationCommand::Accept {
            waive: vec![],
            commitment: None,
        };
        let all = ["licence", "fire", "plan"];
        // 1: accepted 2 November, both decided 10 November: on time, 6 working days.
        let a1 = submit(&p, &all, at(2026, 11, 2));
        let a1 = run(Some(&a1), accept.clone(), &window, at(2026, 11, 2)).unwrap();
        let a1 = run(Some(&a1), approve(1), &ua, at(2026, 11, 9)).unwrap();
        let a1 = run(Some(&a1), approve(2), &ub, at(2026, 11, 10)).unwrap();
        // 2: received 26 October and not checked by 2 November: accepted on receipt (deemed);
        // decided 30 November, 25 working days later — past its 15.
        let a2 = submit(&p, &all, at(2026, 10, 26));
        let a2 = run(
            Some(&a2),
            ApplicationCommand::Deem,
            &who(Role::System, 0),
            at(2026, 11, 3),
        )
        .unwrap();
        let a2 = run(Some(&a2), approve(1), &ua, at(2026, 11, 20)).unwrap();
        let a2 = run(Some(&a2), approve(2), &ub, at(2026, 11, 30)).unwrap();
        // 3: accepted 9 November, still open on 1 December (15 working days end 30 November):
        // overdue, not decided.
        let a3 = submit(&p, &all, at(2026, 11, 9));
        let a3 = run(Some(&a3), accept, &window, at(2026, 11, 9)).unwrap();
        let cal = ctx().calendar;
        let e = efficiency(
            [&a1, &a2, &a3],
            cal,
            day(2026, 11, 1),
            day(2026, 11, 30),
            day(2026, 12, 1),
        );
        assert_eq!((e.decided, e.on_time), (2, 1));
        assert_eq!(e.on_time_rate, Some(0.5));
        // 6 and 25 working days (26 October → 30 November).
        assert_eq!(
            cal.working_days_after(day(2026, 10, 26), day(2026, 11, 30))
                .unwrap(),
            25
        );
        assert_eq!(e.average_days, Some(15.5));
        // Checks in November: a1 and a3 at once, a2 deemed (its last day 2 November).
        assert_eq!((e.checked, e.checked_in_time), (3, 2));
        assert_eq!(
            e.overdue_open, 0,
            "a3's promise ends on the period's last day"
        );
        let e_dec = efficiency(
            [&a3],
            cal,
            day(2026, 12, 1),
            day(2026, 12, 31),
            day(2026, 12, 1),
        );
        assert_eq!(e_dec.overdue_open, 1);
        // 超期督办 once: A (due 23 November) and B and the package (30 November) on 1 December.
        let system = who(Role::System, 0);
        assert!(
            run(
                Some(&a3),
                ApplicationCommand::Supervise,
                &system,
                at(2026, 11, 30)
            )
            .is_ok(),
            "A is past its 10 days"
        );
        let s3 = run(
            Some(&a3),
            ApplicationCommand::Supervise,
            &system,
            at(2026, 12, 1),
        )
        .unwrap();
        assert!(s3.supervised && s3.tasks.iter().all(|t| t.supervised));
        assert!(
            run(
                Some(&s3),
                ApplicationCommand::Supervise,
                &system,
                at(2026, 12, 2)
            )
            .is_err(),
            "once"
        );
        let pf = &e.packages[0];
        assert_eq!(
            (
                pf.decided,
                pf.on_time,
                pf.serial_statutory_days,
                pf.promised_days
            ),
            (2, 1, 40, 15)
        );
        let ma = e.matters.iter().find(|m| m.code == "A").unwrap();
        // A: 5 working days (2 → 9 November) and 19 (26 October → 20 November).
        assert_eq!((ma.decided, ma.on_time), (2, 1));
        assert_eq!(ma.average_days, Some(12.0));
    }
}
