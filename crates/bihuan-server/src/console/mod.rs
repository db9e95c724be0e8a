//! The web console: server-rendered Chinese pages for every role, with every asset embedded in
//! the binary (it must work on an offline government network). Pages are built with `maud`,
//! which escapes everything interpolated — text citizens wrote is always shown escaped.
//!
//! Every page goes through the same use cases (`crate::app`) as the JSON API; an action form
//! posts the same fields an API client would send, and the forms offered are the domain's own
//! list (`Appeal::available_actions`).
//!
//! | URL | file |
//! |---|---|
//! | `/login`, `/logout` | `login.rs` |
//! | `/` | `home.rs` |
//! | `/appeals` | `lists.rs` |
//! | `/appeals/new`, `/console/suggest`, `/console/caller` | `intake.rs` |
//! | `/appeals/{key}` and its `/act`, `/attachments`, `/preview` | `detail.rs` |
//! | `/queue/*` | `queues.rs` |
//! | `/admin`, `/admin/*` | `admin.rs` |
//! | `/households`, `/households/*` | `households.rs` |
//! | `/leaders`, `/leaders/*`, `/appeals/{key}/leader-case` | `leaders.rs` |
//! | `/visits`, `/visits/*`, `/visit-campaigns`, `/visit-campaigns/*`, `/cadres` | `visits.rs` |
//! | `/approvals`, `/approvals/*` | `approvals.rs` |
//! | `/campaigns`, `/campaigns/*` | `campaigns.rs` |
//! | `/evaluations`, `/evaluations/*`, `/board/evaluations` | `evaluations.rs` |
//! | `/surveys`, `/surveys/*` | `surveys.rs` |
//! | `/enterprises`, `/enterprises/*`, `/board/policies` | `enterprises.rs` |
//! | `/jobs`, `/jobs/*`, `/board/jobs` | `jobs.rs` |
//! | `/dashboard`, `/board` | `../dashboard.rs` |
//! | `/assets/*`, the page frame, shared pieces | `layout.rs` |

use std::collections::BTreeMap;

use bihuan_domain::ErrorCode;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use bihuan_domain::appeal::Phone;
use bihuan_domain::lifecycle::{Action, Appeal, Role, Status};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::policy::DeadlineState;
use bihuan_domain::time::{format_local, Instant};
use bihuan_domain::{Channel, Kind, Urgency};
use bihuan_store::{AppealFilter, Catalog, Sort, StoreError};
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::appeals::{can_see, filter_from_query, parse_ref, ListQuery};
use crate::auth::{Caller, SESSION_COOKIE};
use crate::error::ApiError;
use crate::AppState;

mod admin;
mod approvals;
mod campaigns;
mod detail;
mod enterprises;
mod evaluations;
mod home;
mod households;
mod intake;
mod jobs;
mod layout;
mod leaders;
mod lists;
mod login;
mod notices;
mod print;
mod queues;
mod surveys;
mod visits;

use admin::*;
use approvals::*;
use campaigns::*;
use detail::*;
use enterprises::*;
use evaluations::*;
use home::*;
use households::*;
use intake::*;
use jobs::*;
use layout::*;
use leaders::*;
use lists::*;
use login::*;
use notices::*;
use print::*;
use queues::*;
use surveys::*;
use visits::*;

pub(crate) use layout::{error_page_pub, page_pub};
pub use layout::{safe_next, PageUser};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/appeals", get(list_page))
        .route("/appeals/new", get(new_page).post(new_submit))
        .route("/appeals/print", get(print_many))
        .route("/appeals/bulk", post(lists::bulk_submit))
        .route("/appeals/filters", post(lists::filter_save))
        .route("/appeals/filters/{id}/remove", post(lists::filter_remove))
        .route("/appeals/{key}", get(detail_page))
        .route("/appeals/{key}/print", get(print_one))
        .route(
            "/appeals/{key}/documents/{version}",
            get(print::print_document),
        )
        .route("/appeals/{key}/act", post(act_submit))
        .route(
            "/reports/petitions/{year}",
            get(print::print_petition_report),
        )
        .route("/appeals/{key}/preview", get(dispatch_preview))
        .route(
            "/appeals/{key}/attachments",
            post(upload_submit).layer(axum::extract::DefaultBodyLimit::max(
                crate::attachments::UPLOAD_LIMIT,
            )),
        )
        .route("/console/caller", get(caller_history))
        .route("/console/suggest", get(intake_suggestions))
        .route("/queue/dispatch", get(dispatch_queue))
        .route("/queue/inbox", get(inbox))
        .route("/notices", get(notices_page))
        .route("/queue/visits", get(visits_queue))
        .route("/queue/supervision", get(supervision))
        .route("/households", get(households_page))
        .route(
            "/households/import",
            post(households_import).layer(axum::extract::DefaultBodyLimit::max(
                crate::households::IMPORT_BODY_LIMIT,
            )),
        )
        .route("/households/{id}", get(household_page))
        .route("/visits", get(tasks_page))
        .route("/visits/mine", get(mine_page))
        .route("/visits/record", get(record_page).post(record_submit))
        .route("/visits/{id}", get(visit_page))
        .route(
            "/visits/{id}/needs/{need}/photos",
            post(photos_submit).layer(axum::extract::DefaultBodyLimit::max(
                crate::attachments::UPLOAD_LIMIT,
            )),
        )
        .route("/visit-campaigns", get(campaigns_page).post(plan_submit))
        .route("/visit-campaigns/{id}", get(campaign_page))
        .route("/visit-campaigns/{id}/launch", post(launch_submit))
        .route("/visit-campaigns/{id}/end", post(end_submit))
        .route("/visit-campaigns/{id}/households", get(drill_page))
        .route("/cadres", get(cadres_page).post(assign_submit))
        .route("/approvals", get(approvals_page))
        .route(
            "/approvals/packages/{id}",
            get(package_page).merge(post(package_submit).layer(
                axum::extract::DefaultBodyLimit::max(crate::approvals::MATERIALS_LIMIT),
            )),
        )
        .route("/approvals/{id}", get(application_page))
        .route("/approvals/{id}/act", post(application_act))
        .route(
            "/approvals/{id}/materials",
            post(application_materials).layer(axum::extract::DefaultBodyLimit::max(
                crate::approvals::MATERIALS_LIMIT,
            )),
        )
        .route("/approvals/{id}/receipt", post(receipt_submit))
        .route("/leaders", get(leaders_page))
        .route("/leaders/receptions", post(schedule_submit))
        .route("/leaders/receptions/{id}/petitions", post(receive_submit))
        .route("/leaders/receptions/{id}/close", post(close_submit))
        .route("/leaders/receptions/{id}/cancel", post(cancel_submit))
        .route("/leaders/cases/{id}/notes", post(note_submit))
        .route("/leaders/cases/{id}/release", post(release_submit))
        .route("/appeals/{key}/leader-case", post(take_submit))
        .route(
            "/campaigns",
            get(campaigns_list_page).post(campaign_create_submit),
        )
        .route("/campaigns/{id}", get(campaign_detail_page))
        .route("/campaigns/{id}/items", post(campaign_item_submit))
        .route(
            "/campaigns/{id}/import",
            post(campaign_import_submit).layer(axum::extract::DefaultBodyLimit::max(
                crate::campaigns::REPORT_LIMIT,
            )),
        )
        .route("/campaigns/{id}/battles", post(campaign_battle_submit))
        .route("/campaigns/{id}/conclude", post(campaign_conclude_submit))
        .route("/campaigns/{id}/weekly", get(campaign_weekly_page))
        .route("/campaigns/{id}/items/{no}", get(campaign_item_page))
        .route(
            "/campaigns/{id}/items/{no}/report",
            post(campaign_report_submit).layer(axum::extract::DefaultBodyLimit::max(
                crate::campaigns::REPORT_LIMIT,
            )),
        )
        .route(
            "/campaigns/{id}/items/{no}/review",
            post(campaign_review_submit),
        )
        .route(
            "/campaigns/{id}/items/{no}/revise",
            post(campaign_revise_submit),
        )
        .route(
            "/campaigns/{id}/items/{no}/withdraw",
            post(campaign_withdraw_submit),
        )
        .route(
            "/evaluations",
            get(evaluations_page).post(evaluation_open_submit),
        )
        .route("/evaluations/schemes", post(scheme_submit))
        .route("/evaluations/schemes/{id}", post(scheme_revise_submit))
        .route("/evaluations/{id}", get(evaluation_page))
        .route("/evaluations/{id}/publish", post(evaluation_publish_submit))
        .route("/board/evaluations", get(public_evaluations_page))
        .route("/board/evaluations/{id}", get(public_evaluation_page))
        .route("/enterprises", get(enterprises_page))
        .route("/enterprises/list", get(enterprise_list_page))
        .route("/enterprises/{id}", get(enterprise_page))
        .route("/enterprises/{id}/demands", post(enterprise_demand_submit))
        .route(
            "/enterprises/{id}/financing",
            post(enterprise_financing_submit),
        )
        .route("/enterprises/teams/{id}", get(team_page))
        .route("/enterprises/teams/{id}/visits", post(team_plan_submit))
        .route("/enterprises/visits/{id}", post(visit_record_submit))
        .route("/board/policies", get(policy_finder_page))
        .route("/jobs", get(jobs_page))
        .route("/jobs/new", post(job_new_submit))
        .route("/jobs/{id}", get(job_page))
        .route("/jobs/{id}/review", post(job_review_submit))
        .route("/jobs/{id}/refer", post(job_refer_submit))
        .route("/jobs/referrals/{id}", post(referral_step_submit))
        .route("/board/jobs", get(public_jobs_page))
        .route("/surveys", get(surveys_page))
        .route("/surveys/{id}/call", get(cati_page))
        .route("/surveys/{id}/cases/{case}/call", post(cati_submit))
        .route("/admin", get(admin_page))
        .route("/admin/users", post(admin_create_user))
        .route("/admin/open311", post(admin::admin_open311_register))
        .route(
            "/admin/open311/{id}/revoke",
            post(admin::admin_open311_revoke),
        )
        .route("/admin/calendar", post(admin_load_calendar))
        .route("/admin/units", post(admin_put_unit))
        .route("/admin/categories", post(admin_put_category))
        .route("/admin/policies", post(admin_put_policies))
        .route("/admin/dispatch-rules", post(admin_dispatch_rules))
        .route("/admin/train", post(admin_train))
        .route("/admin/rates", post(admin_enter_rate))
        .route("/assets/{file}", get(asset))
}
