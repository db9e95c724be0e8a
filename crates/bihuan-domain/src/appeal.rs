//! The appeal and its parts: number, channel, kind, urgency, regime, place, citizen (personal data
//! masked in `Debug` and `Display`), owner and two-way commitment.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::org::UnitId;

/// Identifies an appeal inside the store.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct AppealId(pub u64);

/// Identifies a user.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
pub struct UserId(pub u32);

/// The readable number citizens are told, `2026-11-000123`: year and month of registration and a
/// sequence within that month (allocated by the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppealNumber {
    pub year: u16,
    pub month: u8,
    pub seq: u32,
}

impl AppealNumber {
    pub fn new(year: u16, month: u8, seq: u32) -> Option<AppealNumber> {
        ((1..=12).contains(&month) && (1..=999_999).contains(&seq) && (2000..=9999).contains(&year))
            .then_some(AppealNumber { year, month, seq })
    }
}

impl fmt::Display for AppealNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:06}", self.year, self.month, self.seq)
    }
}

impl FromStr for AppealNumber {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || format!("{s:?} is not an appeal number like 2026-11-000123");
        let mut parts = s.trim().split('-');
        let (Some(y), Some(m), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        if y.len() != 4 || m.len() != 2 || n.len() != 6 {
            return Err(err());
        }
        if !(y.bytes().chain(m.bytes()).chain(n.bytes())).all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        AppealNumber::new(
            y.parse().map_err(|_| err())?,
            m.parse().map_err(|_| err())?,
            n.parse().map_err(|_| err())?,
        )
        .ok_or_else(err)
    }
}

/// In the OpenAPI document: a string `YYYY-MM-NNNNNN`.
impl utoipa::__dev::ComposeSchema for AppealNumber {
    fn compose(
        _: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^\d{4}-\d{2}-\d{6}$"))
            .description(Some("工单编号：登记年月与当月序号"))
            .examples(["2026-11-000123"])
            .into()
    }
}

impl utoipa::ToSchema for AppealNumber {}

impl Serialize for AppealNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AppealNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Defines a plain enum with its stable snake_case code and its Chinese label.
macro_rules! labelled_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $code:literal, $zh:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v,)*];
            /// The stable machine code (also the JSON form).
            pub fn code(self) -> &'static str { match self { $($name::$v => $code,)* } }
            /// The Chinese name shown to people.
            pub fn label(self) -> &'static str { match self { $($name::$v => $zh,)* } }
            /// Accepts the code or the Chinese label.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| v.code() == s || v.label() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.label()) }
        }
    };
}

/// Used by the other capabilities for their own labelled enums.
pub(crate) use labelled_enum;

labelled_enum! {
    /// Where an appeal came in.
    Channel {
        Hotline => "hotline", "12345热线";
        Web => "web", "网站";
        App => "app", "移动端";
        HouseholdVisit => "household_visit", "入户走访";
        Letter => "letter", "来信";
        InPerson => "in_person", "来访";
        GridReport => "grid_report", "网格上报";
        EnterpriseService => "enterprise_service", "企业服务";
        /// A 不满意 answer in a phone survey, raised with the respondent's consent.
        Survey => "survey", "满意度测评";
        Other => "other", "其他";
    }
}

labelled_enum! {
    /// The statute the appeal runs under; decides which deadline policy applies.
    Regime {
        /// 12345 government service hotline rules (local regulations).
        Hotline => "hotline", "热线诉求";
        /// 信访工作条例 (2022).
        Petition => "petition", "信访事项";
    }
}

labelled_enum! {
    /// What the citizen wants. The first seven are hotline kinds, the last three the petition kinds
    /// of 信访工作条例.
    Kind {
        Consultation => "consultation", "咨询";
        Help => "help", "求助";
        Complaint => "complaint", "投诉";
        Report => "report", "举报";
        Suggestion => "suggestion", "建议";
        Praise => "praise", "表扬";
        /// A complaint that a government body or a large enterprise has not paid a small
        /// enterprise (保障中小企业款项支付条例 2025, Art 25): its own clocks.
        PaymentComplaint => "payment_complaint", "拖欠账款投诉";
        PetitionOpinion => "petition_opinion", "建议意见";
        PetitionAccusation => "petition_accusation", "检举控告";
        PetitionClaim => "petition_claim", "申诉求决";
    }
}

impl Kind {
    /// The regime this kind belongs to.
    pub fn regime(self) -> Regime {
        match self {
            Kind::PetitionOpinion | Kind::PetitionAccusation | Kind::PetitionClaim => {
                Regime::Petition
            }
            _ => Regime::Hotline,
        }
    }
}

labelled_enum! {
    /// How fast the matter must move.
    Urgency {
        Critical => "critical", "特急";
        Urgent => "urgent", "紧急";
        Normal => "normal", "一般";
    }
}

/// A mobile or landline number. `Debug` and `Display` show `138****5678`; [`Phone::expose`] gives
/// the full value to the few places that need it (the return-visit call, the store).
///
/// Kept in one form whatever way it was typed (`138-1234-5678`, `+86 138 1234 5678`,
/// `(0571) 8800 1234`), so that a repeat caller is recognised. Reading JSON normalises what it
/// can and keeps anything else as written, so old stored appeals always read back;
/// [`Phone::is_valid`] tells them apart and registration refuses an invalid one.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Phone(String);

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Phone, D::Error> {
        let raw = String::deserialize(d)?;
        Ok(Phone::parse(&raw).unwrap_or(Phone(raw)))
    }
}

impl Phone {
    /// Accepts digits with an optional `+`, spaces, dashes, dots and brackets; 5 to 20 digits.
    /// China's country code (`+86`, `0086`, or `86` before an 11-digit mobile number) is dropped,
    /// as is a leading `+` before any other code's digits kept.
    pub fn parse(s: &str) -> Result<Phone, String> {
        let cleaned: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '\u{3000}'))
            .collect();
        let (plus, digits) = match cleaned.strip_prefix('+') {
            Some(d) => (true, d),
            None => (false, cleaned.as_str()),
        };
        if digits.len() < 5 || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("电话号码应为5至20位数字".into());
        }
        let mobile = |d: &str| d.len() == 11 && d.starts_with('1');
        let national = if plus {
            digits.strip_prefix("86").filter(|d| d.len() >= 5)
        } else {
            digits
                .strip_prefix("0086")
                .or_else(|| digits.strip_prefix("86").filter(|d| mobile(d)))
        };
        Ok(match (national, plus) {
            (Some(n), _) => Phone(n.to_string()),
            (None, true) => Phone(format!("+{digits}")),
            (None, false) => Phone(digits.to_string()),
        })
    }

    /// A value holding an already masked number, for views ([`crate::redact`]); it is not a
    /// valid phone and identifies no one.
    pub(crate) fn masked_value(masked: String) -> Phone {
        Phone(masked)
    }

    /// Whether the number is one [`Phone::parse`] accepts (stored data may hold others).
    pub fn is_valid(&self) -> bool {
        Phone::parse(&self.0).is_ok_and(|p| p == *self)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The number as it identifies a caller across appeals (without a leading `+`).
    pub fn identity(&self) -> String {
        self.0.trim_start_matches('+').to_string()
    }

    /// First three and last four shown, the rest starred; short numbers keep only the last two.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        let n = chars.len();
        if n >= 11 {
            let head: String = chars[..3].iter().collect();
            let tail: String = chars[n - 4..].iter().collect();
            format!("{head}{}{tail}", "*".repeat(n - 7))
        } else {
            let tail: String = chars[n.saturating_sub(2)..].iter().collect();
            format!("{}{tail}", "*".repeat(n.saturating_sub(2)))
        }
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

/// Masks a personal name: the first character kept, the rest starred (`张**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

/// Masks phone numbers, ID numbers and card numbers that someone typed into free text (a
/// content, a reply, a comment), for readers who may not see personal data:
///
/// * a run of 11 digits starting with 1 (a mobile number, also written 3-4-4 with spaces or
///   hyphens): `139****5678`;
/// * a run of 15 to 19 digits, or 17 digits and an `X` (an ID number, a bank card): the first 3
///   and last 4 kept, the rest starred;
/// * a landline of 7 or 8 digits after an area code (`0791-8612345`): the last 4 kept.
///
/// Full-width digits count as digits. Shorter runs (dates, amounts, appeal numbers) are left
/// alone. Returns the text unchanged (borrowed) when there is nothing to mask.
pub fn mask_free_text(text: &str) -> std::borrow::Cow<'_, str> {
    let digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
    if text.chars().filter(|c| digit(*c)).count() < 7 {
        return std::borrow::Cow::Borrowed(text);
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut i = 0;
    while i < chars.len() {
        if !digit(chars[i])
            || (i > 0 && (digit(chars[i - 1]) || chars[i - 1].is_ascii_alphabetic()))
        {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A number starts here: digits, with single spaces or hyphens between groups.
        let mut j = i;
        let mut digits: Vec<usize> = Vec::new();
        while j < chars.len() {
            if digit(chars[j]) {
                digits.push(j);
                j += 1;
            } else if (chars[j] == ' ' || chars[j] == '-')
                && j + 1 < chars.len()
                && digit(chars[j + 1])
                && !digits.is_empty()
            {
                j += 1;
            } else {
                break;
            }
        }
        // An ID number may end in X.
        let x_end = j < chars.len() && digits.len() == 17 && matches!(chars[j], 'X' | 'x');
        if x_end {
            digits.push(j);
            j += 1;
        }
        let n = digits.len();
        let first = chars[digits[0]];
        let is_mobile = n == 11 && matches!(first, '1' | '１');
        let is_long = (15..=19).contains(&n) || x_end;
        let is_landline = matches!(first, '0' | '０')
            && (10..=12).contains(&n)
            && chars[i..j].iter().any(|c| *c == '-' || *c == ' ');
        let keep: Option<(usize, usize)> = if is_mobile || is_long {
            Some((3, 4))
        } else if is_landline {
            // The area code (the digits before the first separator) and the last 4 kept.
            let area = chars[i..j]
                .iter()
                .take_while(|c| **c != '-' && **c != ' ')
                .count();
            Some((area, 4))
        } else {
            None
        };
        let followed_by_alnum = j < chars.len() && chars[j].is_ascii_alphanumeric();
        match keep {
            Some((head, tail)) if !followed_by_alnum => {
                changed = true;
                let mut k = 0;
                for c in &chars[i..j] {
                    if digit(*c) || matches!(c, 'X' | 'x') {
                        out.push(if k < head || k >= n - tail { *c } else { '*' });
                        k += 1;
                    } else {
                        out.push(*c);
                    }
                }
            }
            _ => out.extend(&chars[i..j]),
        }
        i = j;
    }
    if changed {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// The person who raised the appeal. Anonymous appeals have neither name nor phone.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Citizen {
    pub name: Option<String>,
    pub phone: Option<Phone>,
    /// An enterprise raising the appeal through the enterprise service channel.
    #[serde(default)]
    pub organisation: Option<String>,
}

impl Citizen {
    /// A key that identifies the same person across appeals (the phone, else the name).
    /// Used for repeat detection; never shown.
    pub fn identity_key(&self) -> Option<String> {
        self.phone
            .as_ref()
            .map(Phone::identity)
            .or_else(|| self.name.as_ref().map(|n| n.trim().to_string()))
            .filter(|k| !k.is_empty())
    }
}

impl fmt::Debug for Citizen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Citizen")
            .field("name", &self.name.as_deref().map(mask_name))
            .field("phone", &self.phone)
            .field("organisation", &self.organisation)
            .finish()
    }
}

impl fmt::Display for Citizen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.name, &self.phone) {
            (None, None) => f.write_str("匿名"),
            (Some(n), None) => f.write_str(&mask_name(n)),
            (None, Some(p)) => write!(f, "{p}"),
            (Some(n), Some(p)) => write!(f, "{} {p}", mask_name(n)),
        }
    }
}

/// Where the matter is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// The address as the citizen said it.
    pub address: String,
    pub township: Option<UnitId>,
    pub village: Option<UnitId>,
    pub grid: Option<UnitId>,
    /// WGS-84 longitude and latitude, when known.
    pub coordinates: Option<(f64, f64)>,
}

impl Place {
    pub fn validate(&self) -> Result<(), String> {
        if self.address.chars().count() > 500 {
            return Err("地址不能超过500字".into());
        }
        if let Some((lon, lat)) = self.coordinates {
            if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
                return Err("坐标超出范围（经度-180至180，纬度-90至90）".into());
            }
        }
        Ok(())
    }
}

/// A named person acting for a unit: the chief service officer (首席服务官) of an appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub user: UserId,
    pub name: String,
    pub unit: UnitId,
}

/// The two-way commitment (双向承诺): what the unit promises the citizen, and by when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Commitment {
    pub what: String,
    pub by: NaiveDate,
    /// What the citizen undertakes in return (e.g. to provide documents), if anything.
    #[serde(default)]
    pub citizen_part: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_refuse_garbage() {
        let n: AppealNumber = "2026-11-000123".parse().unwrap();
        assert_eq!(n, AppealNumber::new(2026, 11, 123).unwrap());
        assert_eq!(n.to_string(), "2026-11-000123");
        assert_eq!(serde_json::to_string(&n).unwrap(), "\"2026-11-000123\"");
        for bad in [
            "2026-13-000001",
            "2026-11-123",
            "2026-11-00012a",
            "x",
            "2026-11-000000",
            "2026-11-000001-1",
            "+026-11-000001",
        ] {
            assert!(bad.parse::<AppealNumber>().is_err(), "{bad}");
        }
    }

    #[test]
    fn personal_data_is_masked_in_debug_and_display() {
        let c = Citizen {
            name: Some("张三丰".into()),
            phone: Some(Phone::parse("138-1234-5678").unwrap()),
            organisation: None,
        };
        let dbg = format!("{c:?}");
        let shown = c.to_string();
        for s in [&dbg, &shown] {
            assert!(!s.contains("12345678") && !s.contains("三丰"), "{s}");
        }
        assert_eq!(shown, "张** 138****5678");
        assert_eq!(c.phone.as_ref().unwrap().expose(), "13812345678");
        assert_eq!(Phone::parse("88001").unwrap().masked(), "***01");
        assert!(Phone::parse("12ab").is_err());
        // One caller, however the number was typed.
        for typed in [
            "13812345678",
            "138-1234-5678",
            "138 1234 5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "008613812345678",
            "8613812345678",
            "(138)1234.5678",
        ] {
            assert_eq!(
                Phone::parse(typed).unwrap().expose(),
                "13812345678",
                "{typed}"
            );
        }
        assert_eq!(
            Phone::parse("(0571) 8800-1234").unwrap().expose(),
            "057188001234"
        );
        assert_eq!(
            Phone::parse("+1 415 555 0100").unwrap().expose(),
            "+14155550100"
        );
        // Stored data reads back even when it was never a number; it is not valid.
        let odd: Phone = serde_json::from_str("\"not-a-phone\"").unwrap();
        assert!(!odd.is_valid());
        let typed: Phone = serde_json::from_str("\"135-0000-6666\"").unwrap();
        assert!(typed.is_valid());
        assert_eq!(typed.expose(), "13500006666");
        assert!(Phone::parse("123").is_err());
        assert_eq!(Citizen::default().to_string(), "匿名");
        assert_eq!(c.identity_key().unwrap(), "13812345678");
    }

    #[test]
    fn personal_numbers_in_free_text_are_masked() {
        let m = |s: &str| mask_free_text(s).into_owned();
        assert_eq!(m("请回电13912345678谢谢"), "请回电139****5678谢谢");
        assert_eq!(m("电话 139 1234 5678。"), "电话 139 **** 5678。");
        assert_eq!(m("电话139-1234-5678"), "电话139-****-5678");
        assert_eq!(m("手机１３９１２３４５６７８"), "手机１３９****５６７８");
        assert_eq!(
            m("身份证号36010219900101123X，住东门路"),
            "身份证号360***********123X，住东门路"
        );
        assert_eq!(m("卡号6222021234567890123"), "卡号622************0123");
        assert_eq!(m("座机0791-8612345"), "座机0791-***2345");
        // Left alone: dates, amounts, appeal numbers, short numbers, codes inside words.
        for s in [
            "2026-11-02 上午9点",
            "欠薪 35000 元",
            "工单 2026-11-000123",
            "东门路12号",
            "订单号A13912345678B",
            "单价12345678901234",
        ] {
            assert_eq!(m(s), s, "{s}");
        }
        assert!(matches!(
            mask_free_text("没有号码"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn labels_parse_both_ways() {
        assert_eq!(Kind::parse("投诉"), Some(Kind::Complaint));
        assert_eq!(Kind::parse("petition_claim"), Some(Kind::PetitionClaim));
        assert_eq!(Kind::PetitionClaim.regime(), Regime::Petition);
        assert_eq!(Kind::Consultation.regime(), Regime::Hotline);
        assert_eq!(Urgency::parse("特急"), Some(Urgency::Critical));
        assert_eq!(Channel::parse("grid_report").unwrap().label(), "网格上报");
        assert!(Channel::parse("fax").is_none());
        assert_eq!(
            serde_json::to_string(&Channel::HouseholdVisit).unwrap(),
            "\"household_visit\""
        );
    }

    #[test]
    fn place_validation() {
        let mut p = Place {
            address: "城关镇东门路12号".into(),
            ..Default::default()
        };
        assert!(p.validate().is_ok());
        p.coordinates = Some((115.1, 27.2));
        assert!(p.validate().is_ok());
        p.coordinates = Some((200.0, 27.2));
        assert!(p.validate().is_err());
    }
}
