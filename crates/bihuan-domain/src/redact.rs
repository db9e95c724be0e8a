//! What a reader who may not see the citizen's personal data is shown: the citizen's name and
//! phone masked, and personal numbers typed into any free text (a mobile or landline number, an
//! ID or bank card number; see [`mask_free_text`]) masked as well.
//!
//! Every function here takes its type apart completely, with no `..`: a field added to an appeal,
//! an event or one of their parts does not compile until someone decides here whether it can carry
//! personal data. Views for readers without the right to see it are built from
//! [`Redact::redacted`] values, so masking happens by construction, not by remembering.

use crate::appeal::{mask_free_text, mask_name, Citizen, Commitment, Phone, Place};
use crate::lifecycle::{
    Appeal, AssistTask, Declined, Event, EventRecord, ExtensionRequest, GroupVisit, Hearing,
    NewAppeal, PendingReturn, Reply, ReturnVisit, Whistle, WhistleTarget,
};

/// A copy with the citizen's personal data masked.
pub trait Redact {
    fn redacted(&self) -> Self;
}

fn text(s: &str) -> String {
    mask_free_text(s).into_owned()
}

fn texts(v: &[String]) -> Vec<String> {
    v.iter().map(|s| text(s)).collect()
}

fn opt_text(s: &Option<String>) -> Option<String> {
    s.as_deref().map(text)
}

impl Redact for Phone {
    /// First three and last four digits shown; a stored value that is not a phone number at all
    /// (older data) is shown as `***`; a masked one stays as it is.
    fn redacted(&self) -> Phone {
        if self.is_valid() {
            Phone::masked_value(self.masked())
        } else if self.expose().contains('*') {
            self.clone()
        } else {
            Phone::masked_value("***".into())
        }
    }
}

impl Redact for Citizen {
    fn redacted(&self) -> Citizen {
        let Citizen {
            name,
            phone,
            organisation,
        } = self;
        Citizen {
            name: name.as_deref().map(mask_name),
            phone: phone.as_ref().map(Redact::redacted),
            // An enterprise's name is not a person's data.
            organisation: organisation.clone(),
        }
    }
}

impl Redact for Place {
    fn redacted(&self) -> Place {
        let Place {
            address,
            township,
            village,
            grid,
            coordinates,
        } = self;
        Place {
            address: text(address),
            township: *township,
            village: *village,
            grid: *grid,
            coordinates: *coordinates,
        }
    }
}

impl Redact for NewAppeal {
    fn redacted(&self) -> NewAppeal {
        let NewAppeal {
            channel,
            kind,
            urgency,
            category,
            title,
            content,
            place,
            citizen,
            accused_units,
            accused_persons,
            group,
            forwarded_from,
            repeat_of,
        } = self;
        NewAppeal {
            channel: *channel,
            kind: *kind,
            urgency: *urgency,
            category: *category,
            title: text(title),
            content: text(content),
            place: place.redacted(),
            citizen: citizen.redacted(),
            accused_units: accused_units.clone(),
            accused_persons: accused_persons.clone(),
            group: group.as_ref().map(Redact::redacted),
            forwarded_from: *forwarded_from,
            // A case number and the name of an office.
            repeat_of: repeat_of.clone(),
        }
    }
}

/// The representatives are persons: their names masked like the petitioner's.
impl Redact for GroupVisit {
    fn redacted(&self) -> GroupVisit {
        let GroupVisit {
            people,
            representatives,
        } = self;
        GroupVisit {
            people: *people,
            representatives: representatives.iter().map(|n| mask_name(n)).collect(),
        }
    }
}

impl Redact for Commitment {
    fn redacted(&self) -> Commitment {
        let Commitment {
            what,
            by,
            citizen_part,
        } = self;
        Commitment {
            what: text(what),
            by: *by,
            citizen_part: opt_text(citizen_part),
        }
    }
}

impl Redact for Reply {
    fn redacted(&self) -> Reply {
        let Reply {
            result,
            reason,
            text: body,
            petition_outcome,
            attachments,
        } = self;
        Reply {
            result: *result,
            reason: opt_text(reason),
            text: text(body),
            petition_outcome: *petition_outcome,
            attachments: texts(attachments),
        }
    }
}

impl Redact for ReturnVisit {
    fn redacted(&self) -> ReturnVisit {
        let ReturnVisit {
            contacted,
            resolved,
            rating,
            comment,
        } = self;
        ReturnVisit {
            contacted: *contacted,
            resolved: *resolved,
            rating: *rating,
            comment: text(comment),
        }
    }
}

impl Redact for AssistTask {
    fn redacted(&self) -> AssistTask {
        let AssistTask {
            unit,
            asked_at,
            due,
            given_at,
            opinion,
        } = self;
        AssistTask {
            unit: *unit,
            asked_at: *asked_at,
            due: *due,
            given_at: *given_at,
            opinion: opinion.as_deref().map(text),
        }
    }
}

impl Redact for Whistle {
    fn redacted(&self) -> Whistle {
        let Whistle {
            no,
            by,
            at,
            matter,
            report_by,
            targets,
        } = self;
        Whistle {
            no: *no,
            by: *by,
            at: *at,
            matter: text(matter),
            report_by: *report_by,
            targets: targets
                .iter()
                .map(|t| {
                    let WhistleTarget {
                        unit,
                        reported_at,
                        note,
                    } = t;
                    WhistleTarget {
                        unit: *unit,
                        reported_at: *reported_at,
                        note: opt_text(note),
                    }
                })
                .collect(),
        }
    }
}

impl Redact for PendingReturn {
    fn redacted(&self) -> PendingReturn {
        let PendingReturn {
            unit,
            reason,
            at,
            status_before,
        } = self;
        PendingReturn {
            unit: *unit,
            reason: text(reason),
            at: *at,
            status_before: *status_before,
        }
    }
}

impl Redact for ExtensionRequest {
    fn redacted(&self) -> ExtensionRequest {
        let ExtensionRequest {
            reason,
            limit,
            proposed_due,
            requested_at,
        } = self;
        ExtensionRequest {
            reason: text(reason),
            limit: *limit,
            proposed_due: *proposed_due,
            requested_at: *requested_at,
        }
    }
}

impl Redact for Hearing {
    fn redacted(&self) -> Hearing {
        let Hearing {
            reason,
            started_at,
            ended_at,
            note,
            days,
        } = self;
        Hearing {
            reason: text(reason),
            started_at: *started_at,
            ended_at: *ended_at,
            note: note.as_deref().map(text),
            days: *days,
        }
    }
}

impl Redact for Declined {
    fn redacted(&self) -> Declined {
        let Declined {
            ground,
            reason,
            route,
            prior,
        } = self;
        Declined {
            ground: *ground,
            reason: text(reason),
            route: text(route),
            prior: *prior,
        }
    }
}

impl Redact for Appeal {
    fn redacted(&self) -> Appeal {
        let Appeal {
            id,
            number,
            version,
            regime,
            kind,
            channel,
            urgency,
            category,
            title,
            content,
            place,
            citizen,
            policy,
            status,
            registered_at,
            registered_by,
            last_at,
            lead,
            assisting,
            owner,
            commitment,
            deadlines,
            dispatched_at,
            signed_at,
            first_contact_at,
            confirmed_units,
            pending_return,
            extension,
            extensions_granted,
            whistles,
            assists,
            reply,
            replied_at,
            first_replied_at,
            answered_at_intake,
            visit,
            visited_at,
            closed_at,
            closed_without_visit,
            return_count,
            redo_count,
            supervision_count,
            supervised_deadlines,
            merged_into,
            duplicates,
            dispatch_rounds,
            reply_rounds,
            documents,
            accused_units,
            accused_persons,
            review,
            reviews,
            hearings,
            declined,
            group,
            forwarded_from,
            repeat_of,
        } = self;
        Appeal {
            id: *id,
            number: *number,
            version: *version,
            regime: *regime,
            kind: *kind,
            channel: *channel,
            urgency: *urgency,
            category: *category,
            title: text(title),
            content: text(content),
            place: place.redacted(),
            citizen: citizen.redacted(),
            // The policy row is the county's own table, not the citizen's words.
            policy: policy.clone(),
            status: *status,
            registered_at: *registered_at,
            registered_by: *registered_by,
            last_at: *last_at,
            lead: *lead,
            assisting: assisting.clone(),
            // Officials act under their names.
            owner: owner.clone(),
            commitment: commitment.as_ref().map(Redact::redacted),
            deadlines: deadlines.clone(),
            dispatched_at: *dispatched_at,
            signed_at: *signed_at,
            first_contact_at: *first_contact_at,
            confirmed_units: confirmed_units.clone(),
            pending_return: pending_return.as_ref().map(Redact::redacted),
            extension: extension.as_ref().map(Redact::redacted),
            extensions_granted: *extensions_granted,
            whistles: whistles.iter().map(Redact::redacted).collect(),
            assists: assists.iter().map(Redact::redacted).collect(),
            reply: reply.as_ref().map(Redact::redacted),
            replied_at: *replied_at,
            first_replied_at: *first_replied_at,
            answered_at_intake: *answered_at_intake,
            visit: visit.as_ref().map(Redact::redacted),
            visited_at: *visited_at,
            closed_at: *closed_at,
            closed_without_visit: *closed_without_visit,
            return_count: *return_count,
            redo_count: *redo_count,
            supervision_count: *supervision_count,
            supervised_deadlines: supervised_deadlines.clone(),
            merged_into: *merged_into,
            duplicates: duplicates.clone(),
            dispatch_rounds: dispatch_rounds.clone(),
            reply_rounds: reply_rounds.clone(),
            documents: documents.clone(),
            accused_units: accused_units.clone(),
            accused_persons: accused_persons.clone(),
            // Links, dates and units only.
            review: review.clone(),
            reviews: reviews.clone(),
            hearings: hearings.iter().map(Redact::redacted).collect(),
            declined: declined.as_ref().map(Redact::redacted),
            group: group.as_ref().map(Redact::redacted),
            forwarded_from: *forwarded_from,
            repeat_of: repeat_of.clone(),
        }
    }
}

impl Redact for Event {
    fn redacted(&self) -> Event {
        match self {
            Event::Registered {
                number,
                appeal,
                regime,
                policy,
                dispatch_due,
                review,
            } => Event::Registered {
                number: *number,
                appeal: Box::new(appeal.redacted()),
                regime: *regime,
                policy: policy.clone(),
                dispatch_due: *dispatch_due,
                review: review.clone(),
            },
            Event::AnsweredAtIntake { answer } => Event::AnsweredAtIntake {
                answer: text(answer),
            },
            Event::Dispatched {
                lead,
                assisting,
                note,
                sign_due,
                first_contact_due,
                return_by,
                reply_due,
                assist_due,
            } => Event::Dispatched {
                lead: *lead,
                assisting: assisting.clone(),
                note: text(note),
                sign_due: *sign_due,
                first_contact_due: *first_contact_due,
                return_by: *return_by,
                reply_due: *reply_due,
                assist_due: *assist_due,
            },
            Event::Signed { owner, reply_due } => Event::Signed {
                owner: owner.clone(),
                reply_due: *reply_due,
            },
            Event::OwnerChanged { owner } => Event::OwnerChanged {
                owner: owner.clone(),
            },
            Event::Committed { commitment } => Event::Committed {
                commitment: commitment.redacted(),
            },
            Event::Contacted { note } => Event::Contacted { note: text(note) },
            Event::ReturnRequested { unit, reason } => Event::ReturnRequested {
                unit: *unit,
                reason: text(reason),
            },
            Event::ReturnAccepted { note } => Event::ReturnAccepted { note: text(note) },
            Event::ReturnRefused { note } => Event::ReturnRefused { note: text(note) },
            Event::ExtensionRequested {
                limit,
                reason,
                proposed_due,
            } => Event::ExtensionRequested {
                limit: *limit,
                reason: text(reason),
                proposed_due: *proposed_due,
            },
            Event::ExtensionApproved { note, new_due } => Event::ExtensionApproved {
                note: text(note),
                new_due: *new_due,
            },
            Event::ExtensionRefused { note } => Event::ExtensionRefused { note: text(note) },
            Event::Whistled {
                no,
                units,
                matter,
                report_by,
            } => Event::Whistled {
                no: *no,
                units: units.clone(),
                matter: text(matter),
                report_by: *report_by,
            },
            Event::ReportedIn {
                no,
                unit,
                note,
                late,
            } => Event::ReportedIn {
                no: *no,
                unit: *unit,
                note: text(note),
                late: *late,
            },
            Event::AssistOpinionGiven {
                unit,
                opinion,
                late,
            } => Event::AssistOpinionGiven {
                unit: *unit,
                opinion: text(opinion),
                late: *late,
            },
            Event::Replied {
                reply,
                late,
                extension_withdrawn,
            } => Event::Replied {
                reply: reply.redacted(),
                late: *late,
                extension_withdrawn: *extension_withdrawn,
            },
            Event::Visited { visit } => Event::Visited {
                visit: visit.redacted(),
            },
            Event::Closed {
                note,
                without_visit,
            } => Event::Closed {
                note: text(note),
                without_visit: *without_visit,
            },
            Event::RedoOrdered {
                cause,
                reason,
                reply_due,
            } => Event::RedoOrdered {
                cause: *cause,
                reason: text(reason),
                reply_due: *reply_due,
            },
            Event::MergedInto { master, number } => Event::MergedInto {
                master: *master,
                number: *number,
            },
            Event::DuplicateLinked { duplicate, number } => Event::DuplicateLinked {
                duplicate: *duplicate,
                number: *number,
            },
            // Dates only: nothing personal.
            Event::DeadlinesRecomputed { year, changes } => Event::DeadlinesRecomputed {
                year: *year,
                changes: changes.clone(),
            },
            Event::DocumentReceived {
                document,
                received_on,
            } => Event::DocumentReceived {
                document: *document,
                received_on: *received_on,
            },
            Event::Supervised {
                reason,
                note,
                deadline,
            } => Event::Supervised {
                reason: *reason,
                note: text(note),
                deadline: *deadline,
            },
            Event::Commented { text: body } => Event::Commented { text: text(body) },
            Event::Declined { declined } => Event::Declined {
                declined: declined.redacted(),
            },
            Event::ReviewRequested { link, request } => Event::ReviewRequested {
                link: link.clone(),
                request: text(request),
            },
            Event::HearingStarted { reason } => Event::HearingStarted {
                reason: text(reason),
            },
            Event::AgreementRecorded {
                agreement,
                parties,
                terms,
            } => Event::AgreementRecorded {
                agreement: *agreement,
                parties: text(parties),
                terms: text(terms),
            },
            Event::HearingEnded {
                note,
                days,
                reply_due,
            } => Event::HearingEnded {
                note: text(note),
                days: *days,
                reply_due: *reply_due,
            },
        }
    }
}

impl Redact for EventRecord {
    fn redacted(&self) -> EventRecord {
        let EventRecord {
            appeal,
            version,
            at,
            actor,
            event,
        } = self;
        EventRecord {
            appeal: *appeal,
            version: *version,
            at: *at,
            // The official who acted, by name: not the citizen's data.
            actor: actor.clone(),
            event: event.redacted(),
        }
    }
}
