//! # bihuan-domain
//!
//! The pure core of bihuan: everything that decides, nothing that stores or serves. No I/O, no
//! database, no HTTP and no clock — the current time is always an argument.
//!
//! | module | what lives there |
//! |---|---|
//! | [`time`] | instants (UTC) and China Standard Time dates |
//! | [`calendar`] | the official working-day calendar (holidays and 调休), shipped for 2007–2026 |
//! | [`policy`] | deadline policies as data, and deadline colours (due soon, overdue) |
//! | [`org`] | county → departments; townships → villages → grids |
//! | [`category`] | the three-level category tree |
//! | [`catalogue`] | the dispatch catalogue (派单目录): which unit takes which appeals |
//! | [`appeal`] | the appeal's parts: number, channel, kind, urgency, citizen (masked), place |
//! | [`lifecycle`] | the closed loop: commands → events → state, with roles and versions |
//! | [`redact`] | what a reader without the right to personal data sees: masked by construction |
//! | [`notice`] | notifications derived from events, queued once, delivered and retried |
//! | [`portal`] | the citizen portal's query codes (kept as digests) |
//! | [`aggregate`] | the same shape for every other capability: one trait, one way to run a command |
//! | [`metrics`] | the rates, scores and counts leaders steer by |
//! | [`petition_report`] | the annual report on petition work (信访工作条例 Art 41) |
//! | [`household`], [`visits`] | 入户听诉: the registry, cadres, campaigns, visits and coverage |
//! | [`campaign`], [`evaluation`] | 战役化推进 and 四比: campaigns, checklists from evidence, evaluations published frozen |
//! | [`error`] | every refusal, each with a stable code |
//! | [`code`] | the one list of error codes the API gives |

pub mod aggregate;
pub mod appeal;
pub mod approvals;
pub mod calendar;
pub mod campaign;
pub mod catalogue;
pub mod category;
pub mod code;
pub mod documents;
pub mod enterprise;
pub mod error;
pub mod evaluation;
pub mod holidays;
pub mod household;
pub mod jobs;
pub mod leaders;
pub mod lifecycle;
pub mod metrics;
pub mod notice;
pub mod open311;
pub mod org;
pub mod petition_report;
pub mod policy;
pub mod portal;
pub mod redact;
pub mod rollup;
pub mod saved_filter;
pub mod survey;
pub mod time;
pub mod visits;

pub use appeal::{
    AppealId, AppealNumber, Channel, Citizen, Kind, Phone, Place, Regime, Urgency, UserId,
};
pub use calendar::{Calendar, CalendarError};
pub use code::ErrorCode;
pub use error::DomainError;
pub use lifecycle::{Actor, Appeal, Command, Context, Event, EventRecord, NewAppeal, Role, Status};
pub use policy::{DeadlinePolicy, DeadlineState, Limit, PolicyTable};
