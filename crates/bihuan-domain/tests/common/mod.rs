//! A small world for lifecycle and metric tests: a county with two departments and a township,
//! actors for every role, and helpers that step an appeal or expect a refusal.

#![allow(dead_code)]

use bihuan_domain::appeal::{Citizen, Person, Phone, Place};
use bihuan_domain::lifecycle::{Actor, Appeal, Command, Context, EventRecord, NewAppeal, Role};
use bihuan_domain::org::{UnitId, UnitKind};
use bihuan_domain::time::{local, Instant};
use bihuan_domain::{
    AppealId, AppealNumber, Calendar, Channel, Kind, PolicyTable, Urgency, UserId,
};

pub const COUNTY: UnitId = UnitId(1);
pub const HOUSING: UnitId = UnitId(10);
pub const TRANSPORT: UnitId = UnitId(11);
pub const WATER: UnitId = UnitId(12);
pub const TOWN: UnitId = UnitId(20);

pub struct World {
    pub cal: Calendar,
    pub policies: PolicyTable,
    next_id: u64,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    pub fn new() -> World {
        World {
            cal: Calendar::official(),
            policies: PolicyTable::defaults(),
            next_id: 1,
        }
    }

    /// Loads a stand-in for 2027 (New Year's Day only; test data, not the official notice), for
    /// deadlines that run past the end of 2026.
    pub fn load_test_2027(&mut self) {
        let json =
            r#"{"year": 2027, "days": [{"name": "元旦", "date": "2027-01-01", "isOffDay": true}]}"#;
        self.cal.load_json(json).unwrap();
    }

    pub fn ctx(&self) -> Context<'_> {
        Context {
            calendar: &self.cal,
            policies: &self.policies,
        }
    }

    /// Registers an appeal at `at` and returns it with its registration record.
    pub fn register_with(&mut self, new: NewAppeal, at: Instant) -> (Appeal, Vec<EventRecord>) {
        let id = AppealId(self.next_id);
        self.next_id += 1;
        let number = AppealNumber::new(2026, 11, id.0 as u32).unwrap();
        let (a, r) = Appeal::register(id, number, new, &operator(), at, self.ctx()).unwrap();
        (a, vec![r])
    }

    pub fn register(&mut self, kind: Kind, at: Instant) -> Appeal {
        self.register_with(new_appeal(kind), at).0
    }

    /// Applies a command that must succeed.
    pub fn step(&self, a: &Appeal, cmd: Command, actor: &Actor, at: Instant) -> Appeal {
        match a.handle(&cmd, actor, at, Some(a.version), self.ctx()) {
            Ok((next, _)) => next,
            Err(e) => panic!(
                "{} by {:?} refused: {} ({})",
                cmd.name(),
                actor.role,
                e,
                e.code()
            ),
        }
    }

    /// Applies a command that must succeed and returns its records too.
    pub fn step_rec(
        &self,
        a: &Appeal,
        cmd: Command,
        actor: &Actor,
        at: Instant,
    ) -> (Appeal, Vec<EventRecord>) {
        a.handle(&cmd, actor, at, Some(a.version), self.ctx())
            .unwrap_or_else(|e| panic!("{} refused: {e}", cmd.name()))
    }

    /// Applies a command that must be refused; returns the error code.
    pub fn refuse(&self, a: &Appeal, cmd: Command, actor: &Actor, at: Instant) -> &'static str {
        match a.handle(&cmd, actor, at, Some(a.version), self.ctx()) {
            Ok(_) => panic!(
                "{} by {:?} was accepted in {:?}",
                cmd.name(),
                actor.role,
                a.status
            ),
            Err(e) => e.code(),
        }
    }
}

/// 2026-11-`day` `hour`:00 China time. November 2026: the 2nd is a Monday; 7–8, 14–15, 21–22,
/// 28–29 are weekends; no holidays.
pub fn nov(day: u32, hour: u32) -> Instant {
    local(2026, 11, day, hour, 0, 0).unwrap()
}

pub fn new_appeal(kind: Kind) -> NewAppeal {
    NewAppeal {
        accused_units: vec![],
        accused_persons: vec![],
        group: None,
        forwarded_from: None,
        repeat_of: None,
        channel: Channel::Hotline,
        kind,
        urgency: Urgency::Normal,
        category: Some(bihuan_domain::category::CategoryId(7)),
        title: "路灯不亮".into(),
        content: "东门路12号附近路灯连续一周不亮,夜间行人不便。".into(),
        place: Place {
            address: "城关镇东门路12号".into(),
            township: Some(TOWN),
            ..Default::default()
        },
        citizen: Citizen {
            name: Some("李四".into()),
            phone: Some(Phone::parse("13912345678").unwrap()),
            organisation: None,
        },
    }
}

pub fn actor(user: u32, role: Role, unit: UnitId, unit_kind: UnitKind) -> Actor {
    Actor {
        user: UserId(user),
        name: format!("用户{user}"),
        role,
        unit,
        unit_kind,
    }
}

pub fn operator() -> Actor {
    actor(1, Role::Operator, COUNTY, UnitKind::County)
}
pub fn dispatcher() -> Actor {
    actor(2, Role::Dispatcher, COUNTY, UnitKind::County)
}
pub fn visitor() -> Actor {
    actor(3, Role::ReturnVisitor, COUNTY, UnitKind::County)
}
pub fn supervisor() -> Actor {
    actor(4, Role::Supervisor, COUNTY, UnitKind::County)
}
pub fn leader() -> Actor {
    actor(5, Role::Leader, COUNTY, UnitKind::County)
}
pub fn system() -> Actor {
    actor(0, Role::System, COUNTY, UnitKind::County)
}
pub fn admin() -> Actor {
    actor(6, Role::Admin, COUNTY, UnitKind::County)
}
pub fn housing() -> Actor {
    actor(10, Role::Handler, HOUSING, UnitKind::Department)
}
pub fn housing_leader() -> Actor {
    actor(11, Role::UnitLeader, HOUSING, UnitKind::Department)
}
pub fn transport() -> Actor {
    actor(12, Role::Handler, TRANSPORT, UnitKind::Department)
}
pub fn water() -> Actor {
    actor(13, Role::Handler, WATER, UnitKind::Department)
}
pub fn town() -> Actor {
    actor(20, Role::Handler, TOWN, UnitKind::Township)
}
pub fn grid_member() -> Actor {
    actor(21, Role::GridMember, TOWN, UnitKind::Township)
}

pub fn person(a: &Actor) -> Person {
    Person {
        user: a.user,
        name: a.name.clone(),
        unit: a.unit,
    }
}
