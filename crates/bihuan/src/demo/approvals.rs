//! 一件事一次办 in the demo county: the seed's 香精香料产业链一件事 (12 matters of 8 units, one
//! promise of 15 working days) and applications over the last three months in every state —
//! issued (on time and late, with 补正 and 容缺), decided and waiting to be issued, running
//! (one past its promise, one stopped for expert review, one with a lapsed 容缺 material),
//! awaiting the window, answered by a one-time notice, accepted on receipt by the scan, not
//! accepted and withdrawn — all through the console's use cases, on a moving clock.
//!
//! The matters' limits are the demo's own, realistic but illustrative; a county enters its
//! own catalogue.

use std::sync::Arc;

use bihuan_domain::approvals::{
    uscc_check, ApplicantKind, ApplicationCommand, FormField, Material, MatterSpec, Missing,
    PackageSpec, StopKind, TaskDecision,
};
use bihuan_domain::org::UnitId;
use bihuan_domain::time::{cst, local_date, Instant};
use bihuan_server::approvals as uc;
use bihuan_store::Store;
use chrono::{NaiveDate, TimeZone};

/// What [`approvals`] made.
pub struct ApprovalsMade {
    pub matters: usize,
    pub applications: usize,
}

/// The department with this full name in the demo county (its id is 100 + its place).
pub(super) fn dept(name: &str) -> UnitId {
    let i = super::DEPARTMENTS
        .iter()
        .position(|d| d.0 == name)
        .unwrap_or_else(|| panic!("no department {name}"));
    UnitId(100 + i as u32)
}

pub(super) fn login_of(name: &str) -> String {
    let i = super::DEPARTMENTS
        .iter()
        .position(|d| d.0 == name)
        .unwrap_or_else(|| panic!("no department {name}"));
    format!("dept{:02}", i + 1)
}

fn m(code: &str, text: &str, waivable: bool, shared: Option<&str>) -> Material {
    Material {
        code: code.into(),
        name: text.into(),
        waivable,
        shared_from: shared.map(str::to_string),
    }
}

fn f(key: &str, label: &str) -> FormField {
    FormField {
        key: key.into(),
        label: label.into(),
        required: true,
    }
}

pub async fn approvals(store: &Arc<dyn Store>, now: Instant) -> anyhow::Result<ApprovalsMade> {
    let catalog = store.catalog();
    let cal = catalog.calendar.clone();
    let users = store.users().await?;
    let caller = |login: &str| super::caller_in(&users, &catalog, login);
    let centre = caller("dispatch1")?;
    let window = caller("operator1")?;
    // Working day `n` before today (0: today, or the last working day), at `hour`.
    let today = local_date(now);
    let back = |n: u32, hour: u32| -> Instant {
        let mut d = today;
        while !cal.is_workday(d).unwrap_or(true) {
            d = d.pred_opt().expect("a day");
        }
        let mut left = n;
        while left > 0 {
            d = d.pred_opt().expect("a day");
            if cal.is_workday(d).unwrap_or(false) {
                left -= 1;
            }
        }
        at(d, hour)
    };
    let start = back(70, 9);
    let (app, clock) = super::demo_app(store, start).await?;
    let state = app.state();
    let fail = |e: bihuan_server::error::ApiError| anyhow::anyhow!("{}", e.message);

    // The catalogue: 12 matters of 8 units.
    let licence = || m("licence", "营业执照", false, Some("市场监管电子证照库"));
    let idcard = || m("id_card", "法定代表人身份证", false, Some("公安人口信息库"));
    let project = || m("project_form", "项目申请表（一件事合并表）", false, None);
    let redline = || m("redline", "用地红线图", false, None);
    let design = || m("design", "建设工程设计方案", false, None);
    let layout = || m("layout", "厂区平面布置图", true, None);
    let process = || m("process", "生产工艺流程说明", true, None);
    let fields = || {
        vec![
            f("project", "项目名称"),
            f("site", "建设地点"),
            f("investment", "总投资（万元）"),
        ]
    };
    // (code, name, unit, statutory, promised, materials)
    type Spec<'a> = (&'a str, &'a str, &'a str, u32, u32, Vec<Material>);
    let specs: Vec<Spec> = vec![
        (
            "XJ-01",
            "企业投资项目备案",
            "县发展和改革委员会",
            20,
            3,
            vec![licence(), project()],
        ),
        (
            "XJ-02",
            "固定资产投资项目节能审查",
            "县发展和改革委员会",
            20,
            8,
            vec![licence(), project(), m("energy", "节能报告", false, None)],
        ),
        (
            "XJ-03",
            "建设用地规划许可证核发",
            "县自然资源局",
            20,
            7,
            vec![licence(), project(), redline()],
        ),
        (
            "XJ-04",
            "建设工程规划许可证核发",
            "县自然资源局",
            20,
            7,
            vec![licence(), redline(), design()],
        ),
        (
            "XJ-05",
            "建设项目环境影响报告表审批",
            "县生态环境局",
            30,
            10,
            vec![
                licence(),
                m("eia", "环境影响报告表", false, None),
                process(),
            ],
        ),
        (
            "XJ-06",
            "排污许可证核发",
            "县生态环境局",
            20,
            10,
            vec![
                licence(),
                process(),
                m("outfall", "排污口设置说明", true, None),
            ],
        ),
        (
            "XJ-07",
            "建设工程消防设计审查",
            "县住房和城乡建设局",
            15,
            7,
            vec![design(), m("fire", "消防设计文件", false, None)],
        ),
        (
            "XJ-08",
            "建筑工程施工许可证核发",
            "县住房和城乡建设局",
            15,
            5,
            vec![licence(), design(), m("contract", "施工合同", true, None)],
        ),
        (
            "XJ-09",
            "危险化学品建设项目安全条件审查",
            "县应急管理局",
            20,
            10,
            vec![
                licence(),
                m("safety", "安全条件论证报告", false, None),
                layout(),
            ],
        ),
        (
            "XJ-10",
            "取水许可",
            "县水利局",
            20,
            10,
            vec![
                licence(),
                idcard(),
                m("water", "水资源论证报告表", false, None),
            ],
        ),
        (
            "XJ-11",
            "食品添加剂生产许可",
            "县市场监督管理局",
            20,
            10,
            vec![
                licence(),
                idcard(),
                process(),
                layout(),
                m("standard", "产品执行标准", false, None),
            ],
        ),
        (
            "XJ-12",
            "工业企业技术改造项目备案",
            "县工业和信息化局",
            20,
            5,
            vec![licence(), project()],
        ),
    ];
    let mut matter_ids = Vec::new();
    for (code, name, unit, statutory, promised, materials) in specs {
        let v = uc::define_matter(
            &state,
            &centre,
            MatterSpec {
                code: code.into(),
                name: name.into(),
                unit: dept(unit),
                statutory_days: statutory,
                promised_days: promised,
                materials,
                fields: fields(),
            },
        )
        .await
        .map_err(fail)?;
        matter_ids.push((v.id, unit));
    }
    let p = uc::define_package(
        &state,
        &centre,
        PackageSpec {
            name: "香精香料产业链一件事".into(),
            lead: dept("县行政审批局"),
            promised_days: 15,
            description: "香精香料企业从立项、规划、环评、消防、施工到生产许可的12项高频事项，8个单位并联审批，一次申请、一套材料、15个工作日内统一出证。".into(),
            matters: matter_ids.iter().map(|x| x.0).collect(),
        },
    )
    .await
    .map_err(fail)?;
    let package = p.id;
    // (code, name) of every material the applicant hands in.
    let all_materials: Vec<(String, String)> = p
        .package
        .materials
        .iter()
        .filter(|m| m.material.shared_from.is_none())
        .map(|m| (m.material.code.clone(), m.material.name.clone()))
        .collect();

    let firms = [
        "云溪芳源香精香料有限公司",
        "云溪县兰馨香料科技有限公司",
        "浙东天然香料有限公司云溪分公司",
        "云溪县桂香食品添加剂有限公司",
        "云溪百草香精有限公司",
        "云溪县清韵日化香精有限公司",
        "云溪绿叶天然提取物有限公司",
        "云溪县馥郁香料有限公司",
        "云溪金桂香精香料有限公司",
        "云溪县山茶油脂香料有限公司",
        "云溪安和香料化工有限公司",
        "云溪县雅香生物科技有限公司",
        "云溪县晨露香精有限公司",
        "云溪县宏达食用香精有限公司",
        "云溪县瑞丰香料有限公司",
        "云溪县幽兰精油有限公司",
        "云溪县锦程香料有限公司",
        "云溪县龙泉香精有限公司",
    ];
    let contacts = [
        "陈建华",
        "李秀英",
        "张志强",
        "王丽萍",
        "刘国平",
        "杨海燕",
        "黄文明",
        "赵春梅",
        "吴小军",
    ];
    let unit_caller = |unit: &str| caller(&login_of(unit));
    let units_of: Vec<&str> = matter_ids.iter().map(|x| x.1).collect();

    // Each application's story: when it came (working days back), which materials it lacked,
    // and how far it went.
    #[derive(Clone, Copy, PartialEq)]
    enum Story {
        Issued {
            late: bool,
            correction: bool,
            waived: bool,
        },
        Decided,
        Running {
            stop: bool,
            lapse: bool,
        },
        Received,
        Noticed,
        Deemed,
        NotAccepted,
        Withdrawn,
    }
    use Story::*;
    let stories: [(u32, Story); 18] = [
        (
            68,
            Issued {
                late: false,
                correction: false,
                waived: false,
            },
        ),
        (
            64,
            Issued {
                late: false,
                correction: true,
                waived: false,
            },
        ),
        (
            60,
            Issued {
                late: false,
                correction: false,
                waived: true,
            },
        ),
        (
            55,
            Issued {
                late: true,
                correction: false,
                waived: false,
            },
        ),
        (
            50,
            Issued {
                late: false,
                correction: false,
                waived: false,
            },
        ),
        (
            45,
            Issued {
                late: false,
                correction: true,
                waived: false,
            },
        ),
        (
            40,
            Issued {
                late: false,
                correction: false,
                waived: false,
            },
        ),
        (
            34,
            Issued {
                late: false,
                correction: false,
                waived: true,
            },
        ),
        (30, NotAccepted),
        (25, Decided),
        (22, Withdrawn),
        (
            19,
            Running {
                stop: false,
                lapse: false,
            },
        ),
        (
            17,
            Running {
                stop: false,
                lapse: true,
            },
        ),
        (
            12,
            Running {
                stop: true,
                lapse: false,
            },
        ),
        (9, Deemed),
        (6, Noticed),
        (
            3,
            Running {
                stop: false,
                lapse: false,
            },
        ),
        (1, Received),
    ];
    let mut made = 0;
    for (k, (ago, story)) in stories.iter().enumerate() {
        let received = back(*ago, 9 + (k as u32 % 6));
        clock.set(received);
        let lacking: &[&str] = match story {
            Noticed | NotAccepted => &["eia", "safety"],
            Issued { waived: true, .. } | Running { lapse: true, .. } => &["layout", "outfall"],
            _ => &[],
        };
        let head = format!("91331127MA2{:06}", 300_000 + k * 7_919 % 699_999);
        let code = format!("{head}{}", uscc_check(&head).unwrap_or('0'));
        let req = uc::NewApplication {
            package,
            applicant: uc::ApplicantInput {
                kind: ApplicantKind::Enterprise,
                name: firms[k % firms.len()].into(),
                credit_code: Some(code),
                contact: contacts[k % contacts.len()].into(),
                phone: format!("1385717{:04}", 1000 + k * 37),
            },
            fields: [
                (
                    "project".to_string(),
                    format!("年产{}吨香精香料扩建项目", 500 + k * 150),
                ),
                (
                    "site".to_string(),
                    format!("云溪县经济开发区香料产业园{}号地块", 3 + k),
                ),
                ("investment".to_string(), format!("{}", 1_200 + k * 350)),
            ]
            .into(),
            materials: Vec::new(),
        };
        // Scans uploaded at the window: a small PDF for each material handed in.
        let uploads = all_materials
            .iter()
            .filter(|(c, _)| !lacking.contains(&c.as_str()))
            .map(|(c, n)| uc::Upload {
                code: c.clone(),
                name: format!("{n}.pdf"),
                data: demo_pdf(&format!(
                    "Yunxi County demo: material {c}, application {}",
                    k + 1
                )),
            })
            .collect();
        let v = uc::submit(&state, &window, req, uploads)
            .await
            .map_err(fail)?;
        made += 1;
        let id = v.id;
        let mut t = received;
        let step = |from: Instant, workdays: u32, hour: u32| -> Instant {
            let d = cal
                .add_working_days(local_date(from), workdays)
                .unwrap_or(local_date(from));
            at(d, hour)
        };
        let act = |cmd: ApplicationCommand, who: bihuan_server::auth::Caller, when: Instant| {
            let state = state.clone();
            let clock = clock.clone();
            async move {
                clock.set(when);
                uc::act(&state, &who, id, cmd).await
            }
        };
        match story {
            Received => continue,
            Deemed => {
                // No check in five working days: accepted as of receipt, as the scan does.
                let after = step(received, 6, 8);
                clock.set(after);
                bihuan_store::aggregates::execute::<bihuan_domain::approvals::Application>(
                    store.as_ref(),
                    Some(id),
                    ApplicationCommand::Deem,
                    bihuan_server::scanner::system_actor(&state),
                    after,
                    None,
                )
                .await?;
                continue;
            }
            Noticed | NotAccepted => {
                t = step(t, 2, 10);
                act(
                    ApplicationCommand::Notify {
                        missing: vec![
                            Missing {
                                code: "eia".into(),
                                name: String::new(),
                                note: "请提交经盖章的环境影响报告表".into(),
                            },
                            Missing {
                                code: "safety".into(),
                                name: String::new(),
                                note: "安全条件论证报告须由具备资质的机构出具".into(),
                            },
                        ],
                    },
                    window.clone(),
                    t,
                )
                .await
                .map_err(fail)?;
                if *story == NotAccepted {
                    t = step(t, 12, 15);
                    act(
                        ApplicationCommand::NotAccept { reason: "拟建地块不在香料产业园规划的工业用地范围内，不属于本一件事受理范围；可先向县自然资源局咨询用地规划".into() },
                        window.clone(),
                        t,
                    )
                    .await
                    .map_err(fail)?;
                }
                continue;
            }
            _ => {}
        }
        // Accepted at the window within the day or the next (容缺 with a commitment where a
        // secondary material is missing).
        t = step(t, k as u32 % 2, 15);
        let waive: Vec<(String, u32)> = lacking.iter().map(|c| (c.to_string(), 5)).collect();
        act(
            ApplicationCommand::Accept {
                commitment: (!waive.is_empty()).then(|| "本企业承诺于5个工作日内补交厂区平面布置图和排污口设置说明，逾期未补交的，同意撤销相关审批决定。".to_string()),
                waive,
            },
            window.clone(),
            t,
        )
        .await
        .map_err(fail)?;
        let accepted = t;
        if *story == Withdrawn {
            act(
                ApplicationCommand::Withdraw {
                    reason: "企业调整投资计划，申请撤回".into(),
                },
                window.clone(),
                step(accepted, 3, 11),
            )
            .await
            .map_err(fail)?;
            continue;
        }
        // What follows, gathered and then run in time order (the clock only moves on).
        let mut steps: Vec<(Instant, ApplicationCommand, bihuan_server::auth::Caller)> = Vec::new();
        if matches!(story, Issued { waived: true, .. }) {
            let when = step(accepted, 3, 10);
            let handed = lacking
                .iter()
                .map(|c| bihuan_domain::approvals::Handed {
                    code: c.to_string(),
                    file: format!(
                        "{}（补交）.pdf",
                        all_materials
                            .iter()
                            .find(|m| m.0 == *c)
                            .map_or(*c, |m| m.1.as_str())
                    ),
                    sha256: None,
                    size: None,
                    at: when,
                })
                .collect();
            steps.push((when, ApplicationCommand::Hand { handed }, window.clone()));
        }
        // The units decide in parallel, each within its own promise (the late one's 环评 runs
        // over); 补正 at the environment bureau stops its clock for three working days.
        // The two oldest running ones are stuck past their promise; the rest run on time.
        let finishing = !matches!(story, Running { .. }) || *ago < 15;
        for (i, (matter, unit)) in matter_ids.iter().enumerate() {
            let who = unit_caller(unit)?;
            let correction = matches!(
                story,
                Issued {
                    correction: true,
                    ..
                }
            ) && i == 4;
            let expert = matches!(story, Running { stop: true, .. }) && i == 8;
            if correction || expert {
                let (kind, reason) = if correction {
                    (
                        StopKind::Correction,
                        "环境影响报告表中废气收集处理措施不完整，请补正",
                    )
                } else {
                    (StopKind::ExpertReview, "安全条件论证报告提交专家评审")
                };
                let stop = ApplicationCommand::StopClock {
                    matter: *matter,
                    kind,
                    reason: reason.into(),
                };
                steps.push((step(accepted, 2, 10), stop, who.clone()));
                if expert {
                    continue; // still with the experts
                }
                steps.push((
                    step(accepted, 5, 16),
                    ApplicationCommand::Resume { matter: *matter },
                    who.clone(),
                ));
            }
            let mut days = [2, 6, 5, 6, 8, 9, 5, 4, 8, 7, 9, 3][i] + if correction { 3 } else { 0 };
            if matches!(story, Issued { late: true, .. }) && i == 4 {
                days = 18; // past the package's 15 working days
            }
            if !finishing && i % 3 != 0 {
                continue; // still under review
            }
            let mark = [
                "备", "节", "规", "建", "环", "排", "消", "施", "危", "水", "食", "技",
            ][i];
            let result = format!(
                "{}批准文书（云{mark}〔2026〕{}号）",
                units_of[i].trim_start_matches('县'),
                100 + k * 12 + i
            );
            steps.push((
                step(accepted, days, 10 + (i as u32 % 6)),
                ApplicationCommand::Decide {
                    matter: *matter,
                    decision: TaskDecision::Approve { result },
                },
                who,
            ));
        }
        if matches!(story, Issued { .. }) {
            let late = matches!(story, Issued { late: true, .. });
            steps.push((
                step(accepted, if late { 19 } else { 12 }, 14),
                ApplicationCommand::Issue,
                window.clone(),
            ));
        }
        steps.sort_by_key(|x| x.0);
        for (when, cmd, who) in steps.into_iter().filter(|x| x.0 <= now) {
            act(cmd, who, when).await.map_err(fail)?;
        }
    }
    // Past promises supervised, as the running server's scan does each minute.
    clock.set(now);
    uc::scan(&state, now).await.map_err(fail)?;
    Ok(ApprovalsMade {
        matters: matter_ids.len(),
        applications: made,
    })
}

pub(super) fn at(d: NaiveDate, hour: u32) -> Instant {
    cst()
        .from_local_datetime(&d.and_hms_opt(hour, 0, 0).expect("an hour"))
        .single()
        .expect("CST has no gaps")
        .with_timezone(&chrono::Utc)
}

/// A one-page PDF that says `line` (ASCII), whole: the catalogue, the page, its text and font,
/// and the cross-reference table at the byte offsets a reader checks.
pub(super) fn demo_pdf(line: &str) -> Vec<u8> {
    let text = line.replace(['(', ')', '\\'], " ");
    let content = format!("BT /F1 14 Tf 72 760 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        table.push_str(&format!("{o:010} 00000 n \n"));
    }
    out.extend_from_slice(table.as_bytes());
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}
