//! The domain's error: every way a command can be refused, each with a stable code.
//!
//! The code is for machines (API clients, the console's translations, logs); the English
//! `Display` text is for developers and API users; [`DomainError::message_zh`] is what a person
//! in the console reads, and says what to do.

use crate::calendar::CalendarError;
use crate::lifecycle::{Role, Status};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DomainError {
    #[error("the appeal has changed: expected version {expected}, current version {current}")]
    VersionConflict { expected: u64, current: u64 },
    #[error("role {role:?} may not {action}")]
    RoleForbidden { role: Role, action: &'static str },
    #[error("only the lead unit may {action}")]
    NotLeadUnit { action: &'static str },
    #[error("cannot {action} while the appeal is {status:?}")]
    IllegalTransition {
        action: &'static str,
        status: Status,
    },
    #[error("the appeal is closed")]
    AppealClosed,
    #[error("the appeal was merged into another appeal")]
    AppealMerged,
    #[error("the lead unit has not signed for the appeal yet")]
    NotSigned,
    #[error("the appeal is already signed for")]
    AlreadySigned,
    #[error("the window for returning this appeal ended at {0}")]
    ReturnWindowPassed(String),
    #[error("the centre has confirmed this unit as lead; it cannot return the appeal again")]
    UnitConfirmed,
    #[error("an extension request is already waiting for a decision")]
    ExtensionPending,
    #[error("there is no extension request to decide")]
    NoExtensionPending,
    #[error("the extension would move the reply deadline past the longest allowed, {0}")]
    ExtensionTooLong(String),
    #[error("only a township or subdistrict may blow the whistle")]
    NotATownship,
    #[error("there is no whistle number {0} on this appeal")]
    UnknownWhistle(u32),
    #[error("this unit was not called by whistle {0}")]
    NotWhistleTarget(u32),
    #[error("this unit has no whistle to report in to")]
    NoReportDue,
    #[error("this unit has already reported in to whistle {0}")]
    AlreadyReported(u32),
    #[error(
        "a return visit must record whether the citizen's problem was resolved and the rating"
    )]
    VisitIncomplete,
    #[error("an appeal cannot be merged into itself")]
    MergeIntoSelf,
    #[error("the master appeal is closed or merged; choose an open master")]
    MasterNotOpen,
    #[error("no deadline of the appeal is overdue")]
    NotOverdue,
    #[error("this overdue deadline has already been supervised")]
    AlreadySupervised,
    #[error("a redo for an unsatisfied rating needs a return visit rated unsatisfied")]
    NotUnsatisfied,
    #[error("the action's time is before the appeal's last recorded step")]
    TimeBeforeLastStep,
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
        DomainError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::VersionConflict { .. } => "version_conflict",
            DomainError::RoleForbidden { .. } => "role_forbidden",
            DomainError::NotLeadUnit { .. } => "not_lead_unit",
            DomainError::IllegalTransition { .. } => "illegal_transition",
            DomainError::AppealClosed => "appeal_closed",
            DomainError::AppealMerged => "appeal_merged",
            DomainError::NotSigned => "not_signed",
            DomainError::AlreadySigned => "already_signed",
            DomainError::ReturnWindowPassed(_) => "return_window_passed",
            DomainError::UnitConfirmed => "unit_confirmed",
            DomainError::ExtensionPending => "extension_pending",
            DomainError::NoExtensionPending => "no_extension_pending",
            DomainError::ExtensionTooLong(_) => "extension_too_long",
            DomainError::NotATownship => "not_a_township",
            DomainError::UnknownWhistle(_) => "unknown_whistle",
            DomainError::NotWhistleTarget(_) => "not_whistle_target",
            DomainError::NoReportDue => "no_report_due",
            DomainError::AlreadyReported(_) => "already_reported",
            DomainError::VisitIncomplete => "visit_incomplete",
            DomainError::MergeIntoSelf => "merge_into_self",
            DomainError::MasterNotOpen => "master_not_open",
            DomainError::NotOverdue => "not_overdue",
            DomainError::AlreadySupervised => "already_supervised",
            DomainError::NotUnsatisfied => "not_unsatisfied",
            DomainError::TimeBeforeLastStep => "time_before_last_step",
            DomainError::Invalid { .. } => "invalid_input",
            DomainError::Calendar(e) => e.code(),
        }
    }

    /// What a person in the console reads: what happened and what to do.
    pub fn message_zh(&self) -> String {
        match self {
            DomainError::VersionConflict { current, .. } => {
                format!("工单已被他人更新(当前版本 {current}),请刷新后重试")
            }
            DomainError::RoleForbidden { role, .. } => {
                format!("当前角色「{}」无权执行此操作", role.label())
            }
            DomainError::NotLeadUnit { .. } => "只有主办单位可以执行此操作".into(),
            DomainError::IllegalTransition { status, .. } => {
                format!("工单当前状态为「{}」,不能执行此操作", status.label())
            }
            DomainError::AppealClosed => "工单已办结,不能再执行此操作".into(),
            DomainError::AppealMerged => "工单已合并到其他工单,请在主工单上操作".into(),
            DomainError::NotSigned => "主办单位尚未签收,请先签收".into(),
            DomainError::AlreadySigned => "工单已签收".into(),
            DomainError::ReturnWindowPassed(t) => {
                format!("退单时限已于 {t} 届满,请按期办理或申请延期")
            }
            DomainError::UnitConfirmed => "中心已确认由本单位主办,不能再次退单".into(),
            DomainError::ExtensionPending => "已有延期申请等待审批".into(),
            DomainError::NoExtensionPending => "没有待审批的延期申请".into(),
            DomainError::ExtensionTooLong(t) => {
                format!("延期后的期限超过最长允许期限 {t},请缩短延期")
            }
            DomainError::NotATownship => "只有乡镇(街道)可以吹哨".into(),
            DomainError::UnknownWhistle(n) => format!("本工单没有第 {n} 次吹哨"),
            DomainError::NotWhistleTarget(_) => "本单位不在此次吹哨的报到单位中".into(),
            DomainError::NoReportDue => "本单位没有待报到的吹哨".into(),
            DomainError::AlreadyReported(_) => "本单位已报到".into(),
            DomainError::VisitIncomplete => {
                "已联系上群众时,必须填写是否解决和满意度;未联系上时不填".into()
            }
            DomainError::MergeIntoSelf => "不能把工单合并到它自己".into(),
            DomainError::MasterNotOpen => "主工单已办结或已合并,请选择在办的主工单".into(),
            DomainError::NotOverdue => "工单没有超期的时限,请选择领导交办督办".into(),
            DomainError::AlreadySupervised => "该超期时限已督办过".into(),
            DomainError::NotUnsatisfied => "只有回访评价为不满意的工单才能因不满意重办".into(),
            DomainError::TimeBeforeLastStep => "操作时间早于工单最后一步的时间".into(),
            DomainError::Invalid { field, reason } => format!("{field}:{reason}"),
            DomainError::Calendar(e) => match e {
                CalendarError::YearNotLoaded(y) => {
                    format!("{y} 年的节假日安排尚未导入,请管理员导入后再试")
                }
                CalendarError::BadFile(r) => format!("节假日文件无效:{r}"),
                CalendarError::OutOfRange => "期限过长,超出了可计算的日期范围,请缩短时长".into(),
            },
        }
    }
}
