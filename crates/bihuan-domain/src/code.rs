//! Every refusal the API can give, by its stable code: one list, so that a code cannot be
//! misspelt in one place or given two names, and `docs/errors.md` lists exactly these (a test
//! checks it).

macro_rules! codes {
    ($($v:ident => $code:literal, $zh:literal;)*) => {
        /// A stable, machine-readable error code (`{"code": "…"}` in every API error).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode { $($v,)* }

        impl ErrorCode {
            /// Every code, in alphabetical order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$v,)*];

            /// The code as the API writes it.
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$v => $code,)* }
            }

            /// What it means, in Chinese (for `docs/errors.md`).
            pub fn meaning(self) -> &'static str {
                match self { $(ErrorCode::$v => $zh,)* }
            }
        }
    };
}

codes! {
    AlreadyReported => "already_reported", "本单位已对这次吹哨报到";
    AlreadySigned => "already_signed", "工单已签收";
    AlreadySupervised => "already_supervised", "这个超期时限已督办过";
    AppealClosed => "appeal_closed", "工单已办结，只能备注";
    AppealMerged => "appeal_merged", "工单已合并到主工单，请在主工单上操作";
    AssistOpinionGiven => "assist_opinion_given", "本单位已就这次交办提交协办意见";
    BackupNotFound => "backup_not_found", "备份文件不存在";
    BadAppealKey => "bad_appeal_key", "工单编号或ID格式不对";
    BadBackup => "bad_backup", "备份文件损坏、被改动或不完整，未恢复任何数据";
    BadBody => "bad_body", "无法读取请求内容";
    BadCredentials => "bad_credentials", "登录名或密码错误";
    BadCursor => "bad_cursor", "翻页游标无效";
    BadDatabaseUrl => "bad_database_url", "数据库地址格式不对";
    BadFileName => "bad_file_name", "文件名无效";
    BadFormat => "bad_format", "不支持的导出格式";
    BadHistory => "bad_history", "导入的历史不合规（须从登记开始、版本连续）";
    BadIdempotencyKey => "bad_idempotency_key", "Idempotency-Key 不符合要求";
    BadMultipart => "bad_multipart", "上传的表单格式不对";
    BadPath => "bad_path", "路径参数无效";
    BadPeriod => "bad_period", "统计周期格式不对";
    BadPhone => "bad_phone", "电话号码格式不对";
    BadQuery => "bad_query", "查询参数无效";
    BodyTooLarge => "body_too_large", "请求内容过大";
    BulkActionNotAllowed => "bulk_action_not_allowed", "该操作不能批量执行（可批量交办、批量督办）";
    BulkTooMany => "bulk_too_many", "一次批量操作的工单过多";
    Busy => "busy", "服务器正忙，请稍后重试";
    CalendarBadFile => "calendar_bad_file", "节假日文件无效";
    CalendarYearNotLoaded => "calendar_year_not_loaded", "该年的节假日安排尚未导入";
    CategoryDuplicateId => "category_duplicate_id", "分类ID重复";
    CategoryDuplicateName => "category_duplicate_name", "同一上级下分类名称重复";
    CategoryEmptyName => "category_empty_name", "分类名称为空";
    CategoryMissingParent => "category_missing_parent", "上级分类不存在";
    CategoryTooDeep => "category_too_deep", "分类超过三级";
    ContentRequired => "content_required", "须提供诉求内容";
    CrossOriginRefused => "cross_origin_refused", "来自其他网站的请求被拒绝";
    DateOutOfRange => "date_out_of_range", "日期超出可计算的范围";
    Duplicate => "duplicate", "同一幂等键的登记正在进行（内部，重试即可）";
    DuplicateRuleId => "duplicate_rule_id", "派单规则ID重复";
    EmptyFile => "empty_file", "文件为空";
    EvaluationExists => "evaluation_exists", "该期间的评比已经建立";
    ExtensionPending => "extension_pending", "已有延期申请等待审批";
    ExtensionTooLong => "extension_too_long", "延期超过最长允许期限";
    FileDamaged => "file_damaged", "文件不完整或已损坏";
    FileTooLarge => "file_too_large", "文件过大";
    FileTypeNotAllowed => "file_type_not_allowed", "文件类型不允许";
    IllegalTransition => "illegal_transition", "工单当前状态不能执行此操作";
    Internal => "internal", "服务器内部错误";
    InvalidBody => "invalid_body", "请求内容的字段不符合要求";
    InvalidInput => "invalid_input", "填写的内容不符合要求（见 field）";
    InvalidLogin => "invalid_login", "登录名不符合要求";
    InvalidRole => "invalid_role", "未知的角色";
    InvalidRule => "invalid_rule", "派单规则不符合要求";
    InvalidWeights => "invalid_weights", "综合评分权重不符合要求";
    JsonRequired => "json_required", "请求须为 JSON";
    LimitOutOfRange => "limit_out_of_range", "时限超出允许范围";
    LoginTaken => "login_taken", "登录名已被使用";
    LoginThrottled => "login_throttled", "登录失败次数过多，请稍后再试";
    MalformedJson => "malformed_json", "请求内容不是有效的 JSON";
    MasterNotOpen => "master_not_open", "主工单已办结或已合并";
    MergeIntoSelf => "merge_into_self", "不能把工单合并到它自己";
    MethodNotAllowed => "method_not_allowed", "该路径不支持此请求方法";
    NameTooLong => "name_too_long", "名称过长或含控制字符（单位、分类的名称和别名不超过100字）";
    NoExtensionPending => "no_extension_pending", "没有待审批的延期申请";
    NoFile => "no_file", "没有上传文件";
    NoReportDue => "no_report_due", "本单位没有待报到的吹哨";
    NotATownship => "not_a_township", "只有乡镇（街道）可以吹哨";
    NotAssistingUnit => "not_assisting_unit", "本单位不是这件工单的协办单位";
    NotEmpty => "not_empty", "数据库非空，不能恢复备份";
    NotFound => "not_found", "未找到";
    NotLeadUnit => "not_lead_unit", "只有主办单位可以执行此操作";
    NotOverdue => "not_overdue", "工单没有超期的时限";
    NotSigned => "not_signed", "主办单位尚未签收";
    NotUnsatisfied => "not_unsatisfied", "回访评价不是不满意";
    NotWhistleTarget => "not_whistle_target", "本单位不在这次吹哨的报到单位中";
    NotYourUnit => "not_your_unit", "工单不属于本单位";
    NumberExhausted => "number_exhausted", "本月工单编号已用尽";
    OrgAmbiguousName => "org_ambiguous_name", "单位名称或别名有重名";
    OrgBadRoot => "org_bad_root", "县级单位设置不对";
    OrgDuplicateId => "org_duplicate_id", "单位ID重复";
    OrgEmptyName => "org_empty_name", "单位名称为空";
    OrgMissingParent => "org_missing_parent", "上级单位不存在";
    OrgRootCount => "org_root_count", "须有且只有一个县级单位";
    OrgWrongParentKind => "org_wrong_parent_kind", "上级单位的类型不对";
    PolicyBadShare => "policy_bad_share", "临期提醒比例须在1%至99%之间";
    PolicyDuplicate => "policy_duplicate", "时限规则重复";
    PolicyKindOutsideRegime => "policy_kind_outside_regime", "诉求类型与适用制度不符";
    PolicyMissingBase => "policy_missing_base", "缺少该制度的基本时限规则";
    PolicyZeroLimit => "policy_zero_limit", "时限不能为0";
    RefreshFailed => "refresh_failed", "索引或模型刷新失败";
    RequestTimeout => "request_timeout", "请求超时（内容发送过慢或处理过久）";
    Retry => "retry", "写入冲突，请重试";
    ReturnWindowPassed => "return_window_passed", "退单时限已过";
    ReviewFinal => "review_final", "复核意见为终结意见，不再受理";
    ReviewWindowClosed => "review_window_closed", "复查（复核）请求期限已过";
    RoleForbidden => "role_forbidden", "当前角色无权执行此操作";
    SearchUnavailable => "search_unavailable", "全文搜索暂不可用";
    StoreUnavailable => "store_unavailable", "数据库不可写（健康检查）";
    TimeBeforeLastStep => "time_before_last_step", "操作时间早于工单最后一步";
    TooLong => "too_long", "内容过长";
    TooManyAttachments => "too_many_attachments", "附件数量超过上限";
    TooManyRules => "too_many_rules", "派单规则过多";
    TrainingFailed => "training_failed", "模型训练失败";
    Unauthenticated => "unauthenticated", "未登录或令牌无效";
    UnitCannotHandle => "unit_cannot_handle", "该单位不能承办工单";
    UnitConfirmed => "unit_confirmed", "中心已确认由本单位主办，不能再退单";
    UnknownAction => "unknown_action", "未知的操作";
    UnknownCategory => "unknown_category", "分类不存在";
    UnknownRate => "unknown_rate", "未知的指标";
    UnknownTownship => "unknown_township", "乡镇（街道）不存在";
    UnknownUnit => "unknown_unit", "单位不存在";
    UnknownUser => "unknown_user", "用户不存在或已停用";
    UnknownWhistle => "unknown_whistle", "没有这次吹哨";
    UploadForbidden => "upload_forbidden", "无权上传附件";
    VersionConflict => "version_conflict", "工单已被他人更新，请刷新后重试";
    VersionRequired => "version_required", "须提供工单当前版本号";
    VisitIncomplete => "visit_incomplete", "回访记录不完整";
    WeakPassword => "weak_password", "密码太弱";
    WorkerDown => "worker_down", "后台任务已停止（健康检查）";
    WrongCurrentPassword => "wrong_current_password", "当前密码不对";
}

impl ErrorCode {
    /// The code of `s`, if it is one.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_sorted_unique_and_snake_case() {
        let names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
        for n in names {
            assert!(
                n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{n}"
            );
            assert_eq!(ErrorCode::parse(n).map(|c| c.as_str()), Some(n));
        }
    }
}
