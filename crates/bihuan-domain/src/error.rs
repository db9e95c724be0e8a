//! The domain's error: every way a command can be refused, each with a stable code.
//!
//! The code is for machines (API clients, the console's translations, logs); the English
//! `Display` text is for developers and API users; [`DomainError::message_zh`] is what a person
//! in the console reads, and says what to do.

use crate::calendar::CalendarError;
use crate::code::ErrorCode;
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
    #[error("this unit is not an assisting unit of the appeal")]
    NotAssistingUnit,
    #[error("this unit has already given its opinion for this dispatch")]
    AssistOpinionGiven,
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
    #[error("the {stage} window closed on {closes}")]
    ReviewWindowClosed {
        stage: &'static str,
        closes: chrono::NaiveDate,
    },
    #[error("the 复核 opinion is final; no further review")]
    ReviewFinal,
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

/// The Chinese name of an input field, as a form labels it (the API's `field` stays the code).
pub fn field_label(field: &str) -> &str {
    match field {
        "answer" => "答复内容",
        "api_key" => "应用密钥",
        "client" => "开放接口应用",
        "token" => "令牌",
        "accused_units" => "被检举控告的单位",
        "accused_persons" => "被检举控告的人员",
        "assisting" => "协办单位",
        "attachments" => "附件",
        "citizen.name" => "诉求人",
        "citizen.phone" => "联系电话",
        "code_digest" => "查询码",
        "command" => "操作",
        "comment" => "回访记录",
        "commitment.by" => "承诺完成日期",
        "commitment.citizen_part" => "群众配合事项",
        "commitment.what" => "承诺事项",
        "content" => "诉求内容",
        "deadlines" => "期限",
        "document" => "文书",
        "filter" => "筛选",
        "filter.name" => "筛选名称",
        "filter.query" => "筛选条件",
        "high" => "读取位置",
        "key" => "通知",
        "kind" => "诉求类型",
        "lead" => "承办单位",
        "limit" => "延期时长",
        "matter" => "事项",
        "name" => "姓名",
        "note" => "说明",
        "notice" => "通知",
        "opinion" => "协办意见",
        "owner" => "首席服务官",
        "owner.name" => "首席服务官姓名",
        "petition_outcome" => "处理意见",
        "place" => "地点",
        "place.address" => "详细地址",
        "place.township" => "乡镇（街道）",
        "reason" => "原因",
        "received_on" => "送达日期",
        "request" => "复查（复核）请求",
        "requested_on" => "收到请求日期",
        "reviewer" => "复查（复核）机关",
        "route" => "告知途径",
        "prior" => "原复核事项编号",
        "review" => "复查复核",
        "regime" => "事项类别",
        "hearing" => "听证",
        "group" => "集体访",
        "forwarded_from" => "来源",
        "repeat_of" => "重复信访",
        "repeat_of.elsewhere" => "此前受理机关",
        "repeat_of.earlier" => "此前信访事项编号",
        "group.people" => "来访人数",
        "group.representatives" => "代表",
        "redispatch" => "改派单位",
        "status" => "状态",
        "text" => "内容",
        "title" => "标题",
        "leader" => "接访领导",
        "leader_name" => "领导姓名",
        "post" => "职务",
        "on" => "接访日期",
        "topics" => "主题（事项）",
        "summary" => "接访情况",
        "appeal" => "信访事项",
        "reception" => "接访日",
        "case" => "包案",
        "plan" => "包案措施",
        "agreement" => "协议",
        "address" => "住址",
        "head" => "户主",
        "members" => "家庭人口",
        "phone" => "电话",
        "tags" => "标签",
        "grid" => "网格",
        "household" => "住户",
        "parties" => "当事人",
        "terms" => "协议内容",
        "units" => "报到单位",
        "cadre" => "干部",
        "campaign" => "走访活动",
        "starts" => "开始日期",
        "ends" => "结束日期",
        "townships" => "乡镇（街道）",
        "grids" => "网格",
        "households" => "住户",
        "rules" => "走访频次",
        "task" => "走访任务",
        "visit" => "走访",
        "visited_at" => "走访时间",
        "draft" => "草稿编号",
        "heard" => "听诉主题",
        "needs" => "诉求",
        "handling" => "办理方式",
        "class" => "办理类别",
        "return_visits" => "入户回访",
        "credit_code" => "统一社会信用代码",
        "matter_name" => "事项名称",
        "package_name" => "一件事名称",
        "code" => "编码",
        "statutory_days" => "法定时限",
        "promised_days" => "承诺时限",
        "materials" => "申请材料",
        "fields" => "表单",
        "package" => "一件事",
        "matters" => "事项",
        "description" => "说明",
        "applicant" => "申请人",
        "contact" => "联系人",
        "application" => "申请",
        "missing" => "一次性告知",
        "waive" => "容缺材料",
        "commitment" => "承诺书",
        "result" => "证照",
        "days" => "延长天数",
        "checklist" => "攻坚活动",
        "campaign.name" => "活动名称",
        "campaign.lead" => "牵头领导",
        "campaign.summary" => "收官总结",
        "battle" => "战役",
        "battles" => "战役",
        "item" => "清单事项",
        "items" => "清单事项",
        "item.title" => "事项名称",
        "item.owner" => "责任单位",
        "item.leader" => "责任领导",
        "due" => "完成时限",
        "measure" => "计量方式",
        "unit" => "计量单位",
        "baseline" => "基数",
        "target" => "目标值",
        "milestones" => "节点",
        "milestone" => "节点",
        "value" => "完成值",
        "files" => "附件",
        "report" => "报告",
        "scheme" => "评比方案",
        "scheme.name" => "方案名称",
        "formula.terms" => "评分指标",
        "min_share" => "参评所需权重占比",
        "red" => "红榜灰榜名次",
        "awards" => "奖项",
        "period" => "评比期间",
        "evaluation" => "评比",
        "survey" => "调查",
        "survey.name" => "调查名称",
        "conducted_by" => "调查单位",
        "approval" => "调查审批",
        "opening" => "开场白",
        "questions" => "问卷",
        "strata" => "分层",
        "answers" => "回答",
        "survey_case" => "样本号码",
        "call_rules" => "拨打规则",
        "size" => "抽取数",
        "frame" => "抽样框",
        "duties" => "岗位职责",
        "employer" => "用人单位",
        "expires_on" => "截止日期",
        "headcount" => "招聘人数",
        "hours" => "工作时间",
        "job.title" => "岗位名称",
        "job_loan" => "贷款",
        "job_posting" => "招聘岗位",
        "job_referral" => "推荐",
        "job_seeker" => "求职者",
        "requirements" => "任职要求",
        "seeker.name" => "姓名",
        "bank" => "银行",
        "benefit" => "支持内容",
        "building" => "楼宇",
        "building.name" => "楼宇名称",
        "building.units" => "房号",
        "date" => "日期",
        "demands" => "需求",
        "enterprise" => "企业",
        "enterprise.name" => "企业名称",
        "enterprise_policy" => "惠企政策",
        "financing" => "融资对接",
        "floors" => "楼层数",
        "industry" => "行业",
        "policy.name" => "政策名称",
        "premises" => "经营场所",
        "rule" => "适用条件",
        "service_team" => "服务队",
        "service_visit" => "走访",
        "source" => "政策依据",
        "team.name" => "服务队名称",
        "team.members" => "服务队队员",
        "until" => "截止日期",
        "disposition" => "拨打结果",
        other => other,
    }
}

impl DomainError {
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
        DomainError::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The stable machine-readable code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            DomainError::VersionConflict { .. } => ErrorCode::VersionConflict,
            DomainError::RoleForbidden { .. } => ErrorCode::RoleForbidden,
            DomainError::NotLeadUnit { .. } => ErrorCode::NotLeadUnit,
            DomainError::IllegalTransition { .. } => ErrorCode::IllegalTransition,
            DomainError::AppealClosed => ErrorCode::AppealClosed,
            DomainError::AppealMerged => ErrorCode::AppealMerged,
            DomainError::NotSigned => ErrorCode::NotSigned,
            DomainError::AlreadySigned => ErrorCode::AlreadySigned,
            DomainError::ReturnWindowPassed(_) => ErrorCode::ReturnWindowPassed,
            DomainError::UnitConfirmed => ErrorCode::UnitConfirmed,
            DomainError::ExtensionPending => ErrorCode::ExtensionPending,
            DomainError::NoExtensionPending => ErrorCode::NoExtensionPending,
            DomainError::ExtensionTooLong(_) => ErrorCode::ExtensionTooLong,
            DomainError::NotATownship => ErrorCode::NotATownship,
            DomainError::UnknownWhistle(_) => ErrorCode::UnknownWhistle,
            DomainError::NotWhistleTarget(_) => ErrorCode::NotWhistleTarget,
            DomainError::NoReportDue => ErrorCode::NoReportDue,
            DomainError::AlreadyReported(_) => ErrorCode::AlreadyReported,
            DomainError::NotAssistingUnit => ErrorCode::NotAssistingUnit,
            DomainError::AssistOpinionGiven => ErrorCode::AssistOpinionGiven,
            DomainError::VisitIncomplete => ErrorCode::VisitIncomplete,
            DomainError::MergeIntoSelf => ErrorCode::MergeIntoSelf,
            DomainError::MasterNotOpen => ErrorCode::MasterNotOpen,
            DomainError::NotOverdue => ErrorCode::NotOverdue,
            DomainError::AlreadySupervised => ErrorCode::AlreadySupervised,
            DomainError::NotUnsatisfied => ErrorCode::NotUnsatisfied,
            DomainError::TimeBeforeLastStep => ErrorCode::TimeBeforeLastStep,
            DomainError::ReviewWindowClosed { .. } => ErrorCode::ReviewWindowClosed,
            DomainError::ReviewFinal => ErrorCode::ReviewFinal,
            DomainError::Invalid { .. } => ErrorCode::InvalidInput,
            DomainError::Calendar(e) => e.error_code(),
        }
    }

    /// The code as the API writes it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// What a person in the console reads: what happened and what to do.
    pub fn message_zh(&self) -> String {
        match self {
            DomainError::VersionConflict { current, .. } => {
                format!("工单已被他人更新（当前版本 {current}），请刷新后重试")
            }
            DomainError::RoleForbidden { role, .. } => {
                format!("当前角色「{}」无权执行此操作", role.label())
            }
            DomainError::NotLeadUnit { .. } => "只有主办单位可以执行此操作".into(),
            DomainError::IllegalTransition { status, .. } => {
                format!("工单当前状态为「{}」，不能执行此操作", status.label())
            }
            DomainError::AppealClosed => "工单已办结，不能再执行此操作".into(),
            DomainError::AppealMerged => "工单已合并到其他工单，请在主工单上操作".into(),
            DomainError::NotSigned => "主办单位尚未签收，请先签收".into(),
            DomainError::AlreadySigned => "工单已签收".into(),
            DomainError::ReturnWindowPassed(t) => {
                format!("退单时限已于 {t} 届满，请按期办理或申请延期")
            }
            DomainError::UnitConfirmed => "中心已确认由本单位主办，不能再次退单".into(),
            DomainError::ExtensionPending => "已有延期申请等待审批".into(),
            DomainError::NoExtensionPending => "没有待审批的延期申请".into(),
            DomainError::ExtensionTooLong(t) => {
                format!("延期后的期限超过最长允许期限 {t}，请缩短延期")
            }
            DomainError::NotATownship => "只有乡镇（街道）可以吹哨".into(),
            DomainError::UnknownWhistle(n) => format!("本工单没有第 {n} 次吹哨"),
            DomainError::NotWhistleTarget(_) => "本单位不在此次吹哨的报到单位中".into(),
            DomainError::NoReportDue => "本单位没有待报到的吹哨".into(),
            DomainError::AlreadyReported(_) => "本单位已报到".into(),
            DomainError::NotAssistingUnit => "本单位不是这件工单的协办单位".into(),
            DomainError::AssistOpinionGiven => "本单位已提交协办意见".into(),
            DomainError::VisitIncomplete => {
                "已联系上群众时，必须填写是否解决和满意度；未联系上时不填".into()
            }
            DomainError::MergeIntoSelf => "不能把工单合并到它自己".into(),
            DomainError::MasterNotOpen => "主工单已办结或已合并，请选择在办的主工单".into(),
            DomainError::NotOverdue => "工单没有超期的时限，请选择领导交办督办".into(),
            DomainError::AlreadySupervised => "该超期时限已督办过".into(),
            DomainError::NotUnsatisfied => "只有回访评价为不满意的工单才能因不满意重办".into(),
            DomainError::TimeBeforeLastStep => "操作时间早于工单最后一步的时间".into(),
            DomainError::ReviewWindowClosed { stage, closes } => format!(
                "{stage}请求须自收到意见书之日起30日内提出，期限已于 {closes} 届满（信访工作条例第三十五条、第三十六条）；逾期提出的，不予受理"
            ),
            DomainError::ReviewFinal => "复核意见为终结意见；信访人仍以同一事实和理由提出信访请求的，不再受理（信访工作条例第三十六条）".into(),
            DomainError::Invalid { field, reason } => format!("{}：{reason}", field_label(field)),
            DomainError::Calendar(e) => match e {
                CalendarError::YearNotLoaded(y) => {
                    format!("{y} 年的节假日安排尚未导入，请管理员导入后再试")
                }
                CalendarError::BadFile(r) => format!("节假日文件无效：{r}"),
                CalendarError::OutOfRange => "期限过长，超出了可计算的日期范围，请缩短时长".into(),
            },
        }
    }
}
