//! What directories answer, in plain terms: the ppolicy response control,
//! Active Directory's error codes, and their time formats.

use crate::clock::UnixTime;
use crate::directory::Rejection;

/// The password policy control (draft-behera-ldap-password-policy), sent with
/// every password write so OpenLDAP says why it refused one.
pub const PPOLICY_OID: &str = "1.3.6.1.4.1.42.2.27.8.5.1";
/// AD's LDAP_SERVER_POLICY_HINTS_OID: an admin reset honours history and age.
pub const AD_POLICY_HINTS_OID: &str = "1.2.840.113556.1.4.2239";
/// The same control before Windows Server 2012 R2 named it.
pub const AD_POLICY_HINTS_DEPRECATED_OID: &str = "1.2.840.113556.1.4.2066";
/// Its value: `SEQUENCE { flags INTEGER 1 }`.
pub const AD_POLICY_HINTS_ON: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x01];
/// LDAP_MATCHING_RULE_IN_CHAIN: AD resolves nested membership in one search.
pub const AD_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// The `error` of a ppolicy response control value:
/// `SEQUENCE { warning [0] ... OPTIONAL, error [1] ENUMERATED OPTIONAL }`.
pub fn ppolicy_error(value: &[u8]) -> Option<u8> {
    let (tag, body, _) = tlv(value)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = body;
    while !rest.is_empty() {
        let (tag, v, next) = tlv(rest)?;
        if tag == 0x81 && v.len() == 1 {
            return Some(v[0]);
        }
        rest = next;
    }
    None
}

/// One BER element: (tag, contents, rest). Definite short or long lengths only.
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, head) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 3 {
            return None;
        }
        let len = b
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, &x| (a << 8) | x as usize);
        (len, 2 + n)
    };
    let body = b.get(head..head + len)?;
    Some((tag, body, &b[head + len..]))
}

/// ppolicy's error numbers, as the user should hear them.
pub fn ppolicy_rejection(code: u8) -> Rejection {
    match code {
        // passwordTooShort
        6 => Rejection::TooShort,
        // passwordTooYoung
        7 => Rejection::TooYoung,
        // passwordInHistory
        8 => Rejection::InHistory,
        // insufficientPasswordQuality (a check module said no)
        5 => Rejection::NotComplex,
        _ => Rejection::Other,
    }
}

/// What an AD or Samba DC's diagnostic text means. AD says `0000052D`
/// (ERROR_PASSWORD_RESTRICTION) for every length, complexity, history and age
/// failure; Samba adds which, and the policy read beforehand narrows it.
pub fn ad_rejection(text: &str, policy: &Policy, password_len: usize) -> Rejection {
    let t = text.to_ascii_lowercase();
    if t.contains("too short") || (policy.min_length as usize) > password_len {
        Rejection::TooShort
    } else if t.contains("complexity") {
        Rejection::NotComplex
    } else if t.contains("history") || t.contains("already used") {
        Rejection::InHistory
    } else if t.contains("too young") {
        Rejection::TooYoung
    } else {
        Rejection::Other
    }
}

/// The hex code at the start of AD's diagnostic text, e.g. `0000052D`.
pub fn ad_code(text: &str) -> Option<u32> {
    let code = text.get(..8)?;
    if !code.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(code, 16).ok()
}

/// AD's codes that mean "the password was refused" rather than "no access".
pub fn ad_is_password_restriction(code: u32) -> bool {
    // ERROR_PASSWORD_RESTRICTION; ERROR_INVALID_PASSWORD comes with a wrong old one.
    code == 0x52D
}

/// Plain words for the AD codes administrators most often meet, for logs.
pub fn ad_code_meaning(code: u32) -> &'static str {
    match code {
        0x52D => "the password does not meet the domain's length, complexity, history or age rules",
        0x56 => "the current password is not correct",
        0x52E => "the user name or password is not correct",
        0x530 => "the account may not sign in at this time",
        0x531 => "the account may not sign in from this workstation",
        0x532 => "the password has expired",
        0x533 => "the account is disabled",
        0x701 => "the account has expired",
        0x773 => "the user must change their password before signing in",
        0x775 => "the account is locked out",
        0x1F => {
            "the service account lacks the reset-password right, or the connection is not LDAPS"
        }
        _ => "an error the directory did not explain",
    }
}

/// What the portal uses of a directory's password policy (ppolicy entry,
/// AD domain or fine-grained policy). History and minimum age the directory
/// enforces itself; its refusals come back as reasons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    pub min_length: u16,
    pub complexity: bool,
    /// 0 means locked until an administrator unlocks.
    pub lockout_secs: i64,
}

/// An AD interval (negative 100 ns ticks; i64::MIN is "never") in seconds.
pub fn ad_interval_secs(v: &str) -> Option<i64> {
    let ticks: i64 = v.trim().parse().ok()?;
    if ticks == i64::MIN {
        return Some(0);
    }
    Some(ticks.unsigned_abs() as i64 / 10_000_000)
}

/// AD's FILETIME (100 ns since 1601-01-01) as Unix seconds; 0 is "never".
pub fn filetime_to_unix(v: &str) -> Option<UnixTime> {
    let ft: i64 = v.trim().parse().ok()?;
    (ft > 0).then(|| ft / 10_000_000 - 11_644_473_600)
}

/// LDAP GeneralizedTime (`YYYYMMDDHHMMSS[.frac]Z`) as Unix seconds.
pub fn generalized_time(v: &str) -> Option<UnixTime> {
    let d = v.as_bytes();
    if d.len() < 15 || !v.ends_with('Z') || !d[..14].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |a: usize, b: usize| v[a..b].parse::<i64>().ok();
    let (y, mo, day) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (h, mi, s) = (n(8, 10)?, n(10, 12)?, n(12, 14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s)
}

/// AD's objectGUID bytes in the usual text form (the first three fields little-endian).
pub fn guid_text(b: &[u8]) -> Option<String> {
    if b.len() != 16 {
        return None;
    }
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    ))
}

/// The inverse of [`guid_text`], escaped for a search filter (`\xx` per byte).
pub fn guid_filter_value(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    let raw = hex::decode(&hex).ok()?;
    if raw.len() != 16 {
        return None;
    }
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    Some(order.iter().map(|&i| format!("\\{:02x}", raw[i])).collect())
}

/// Whether a group's binary `objectSid` is one of AD's protected groups:
/// Domain, Schema and Enterprise Admins (RIDs 512, 518, 519) or the built-in
/// Administrators, Account, Server, Print and Backup Operators (S-1-5-32-544,
/// 548 to 551). Their members reset with two gates whatever the config says.
pub fn sid_is_protected(sid: &[u8]) -> bool {
    let Some(&count) = sid.get(1) else {
        return false;
    };
    let count = count as usize;
    if sid.first() != Some(&1) || sid.len() != 8 + 4 * count || count == 0 {
        return false;
    }
    // The identifier authority, 6 bytes big-endian: 5 is NT AUTHORITY.
    if sid[2..8] != [0, 0, 0, 0, 0, 5] {
        return false;
    }
    let sub = |i: usize| {
        u32::from_le_bytes([
            sid[8 + 4 * i],
            sid[9 + 4 * i],
            sid[10 + 4 * i],
            sid[11 + 4 * i],
        ])
    };
    let rid = sub(count - 1);
    match sub(0) {
        32 => count == 2 && matches!(rid, 544 | 548..=551),
        21 => count == 5 && matches!(rid, 512 | 518 | 519),
        _ => false,
    }
}

/// The protected groups' SIDs for a domain SID, escaped for a search filter.
pub fn protected_sid_filter(domain_sid: &[u8]) -> Option<String> {
    let count = *domain_sid.get(1)? as usize;
    if domain_sid.len() != 8 + 4 * count || count != 4 {
        return None;
    }
    let with_rid = |rid: u32| {
        let mut v = domain_sid.to_vec();
        v[1] += 1;
        v.extend(rid.to_le_bytes());
        v
    };
    let builtin = |rid: u32| {
        let mut v = vec![1, 2, 0, 0, 0, 0, 0, 5];
        v.extend(32u32.to_le_bytes());
        v.extend(rid.to_le_bytes());
        v
    };
    let sids = [512, 518, 519]
        .map(with_rid)
        .into_iter()
        .chain([544, 548, 549, 550, 551].map(builtin));
    let esc = |b: Vec<u8>| b.iter().map(|x| format!("\\{x:02x}")).collect::<String>();
    Some(format!(
        "(|{})",
        sids.map(|s| format!("(objectSid={})", esc(s)))
            .collect::<String>()
    ))
}

/// A password as AD's `unicodePwd` wants it: quoted, UTF-16LE.
pub fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ppolicy_controls_as_slapd_sends_them() {
        // Seen from slapd 2.5: too short, then in history.
        assert_eq!(ppolicy_error(&[0x30, 0x03, 0x81, 0x01, 0x06]), Some(6));
        assert_eq!(ppolicy_error(&[0x30, 0x03, 0x81, 0x01, 0x08]), Some(8));
        // A warning (grace logins: 2) before the error.
        let v = [0x30, 0x08, 0xa0, 0x03, 0x81, 0x01, 0x02, 0x81, 0x01, 0x07];
        assert_eq!(ppolicy_error(&v), Some(7));
        // Only a warning, and truncated or foreign values.
        assert_eq!(
            ppolicy_error(&[0x30, 0x05, 0xa0, 0x03, 0x80, 0x01, 0x05]),
            None
        );
        assert_eq!(ppolicy_error(&[0x30, 0x05, 0x81, 0x01]), None);
        assert_eq!(ppolicy_error(&[0x04, 0x00]), None);
        assert_eq!(ppolicy_error(&[]), None);
        assert_eq!(ppolicy_rejection(6), Rejection::TooShort);
        assert_eq!(ppolicy_rejection(8), Rejection::InHistory);
        assert_eq!(ppolicy_rejection(7), Rejection::TooYoung);
        assert_eq!(ppolicy_rejection(3), Rejection::Other);
    }

    #[test]
    fn ad_text_and_codes_become_reasons() {
        let p = Policy {
            min_length: 7,
            ..Default::default()
        };
        let samba = "0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!";
        assert_eq!(ad_code(samba), Some(0x52D));
        assert!(ad_is_password_restriction(0x52D));
        assert_eq!(ad_rejection(samba, &p, 12), Rejection::InHistory);
        let samba = "0000052D: Constraint violation - check_password_restrictions: the password was already used (previous password)!";
        assert_eq!(ad_rejection(samba, &p, 12), Rejection::InHistory);
        let samba = "0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!";
        assert_eq!(ad_rejection(samba, &p, 12), Rejection::NotComplex);
        let samba = "0000052D: Constraint violation - check_password_restrictions: password is too young to change!";
        assert_eq!(ad_rejection(samba, &p, 12), Rejection::TooYoung);
        // Windows gives no detail: the policy read beforehand tells length failures apart.
        let windows = "0000052D: SvcErr: DSID-031A1248, problem 5003 (WILL_NOT_PERFORM), data 0";
        assert_eq!(ad_rejection(windows, &p, 5), Rejection::TooShort);
        assert_eq!(ad_rejection(windows, &p, 12), Rejection::Other);
        assert_eq!(ad_code("not a code"), None);
        assert_eq!(ad_code_meaning(0x775), "the account is locked out");
    }

    #[test]
    fn protected_groups_are_known_by_sid() {
        fn sid(subs: &[u32]) -> Vec<u8> {
            let mut v = vec![1, subs.len() as u8, 0, 0, 0, 0, 0, 5];
            for s in subs {
                v.extend(s.to_le_bytes());
            }
            v
        }
        let domain = [21, 2_911_997_472, 1_633_228_137, 95_409_103];
        let with = |rid: u32| sid(&[domain.as_slice(), &[rid]].concat());
        assert!(sid_is_protected(&with(512)), "Domain Admins");
        assert!(sid_is_protected(&with(519)), "Enterprise Admins");
        assert!(!sid_is_protected(&with(513)), "Domain Users");
        assert!(!sid_is_protected(&with(1103)), "an ordinary group");
        assert!(
            sid_is_protected(&sid(&[32, 544])),
            "BUILTIN\\Administrators"
        );
        assert!(sid_is_protected(&sid(&[32, 548])), "Account Operators");
        assert!(!sid_is_protected(&sid(&[32, 545])), "BUILTIN\\Users");
        assert!(
            !sid_is_protected(&sid(&[21, 512])),
            "too few sub-authorities"
        );
        assert!(!sid_is_protected(&[1, 5, 0]), "truncated");
        assert!(!sid_is_protected(&[]));
        let f = protected_sid_filter(&sid(&domain)).unwrap();
        assert_eq!(f.matches("(objectSid=").count(), 8, "{f}");
        assert!(
            f.contains("(objectSid=\\01\\05\\00\\00\\00\\00\\00\\05\\15\\00"),
            "{f}"
        );
        assert!(
            f.contains("\\00\\02\\00\\00)"),
            "RID 512 little-endian: {f}"
        );
        assert_eq!(protected_sid_filter(&sid(&[21, 1])), None);
    }

    #[test]
    fn times_and_guids_convert() {
        assert_eq!(generalized_time("19700101000000Z"), Some(0));
        assert_eq!(generalized_time("20261122215842Z"), Some(1_795_384_722));
        assert_eq!(
            generalized_time("20261122215842.307988Z"),
            Some(1_795_384_722)
        );
        assert_eq!(generalized_time("20261322215842Z"), None);
        assert_eq!(generalized_time("2026"), None);
        assert_eq!(filetime_to_unix("0"), None);
        assert_eq!(filetime_to_unix("116444736000000000"), Some(0));
        assert_eq!(ad_interval_secs("-18000000000"), Some(1800));
        assert_eq!(ad_interval_secs("-9223372036854775808"), Some(0));
        let raw: Vec<u8> = (1..=16).collect();
        let text = guid_text(&raw).unwrap();
        assert_eq!(text, "04030201-0605-0807-090a-0b0c0d0e0f10");
        let filter = guid_filter_value(&text).unwrap();
        assert!(filter.starts_with("\\01\\02\\03\\04\\05\\06"));
        assert_eq!(guid_filter_value("nope"), None);
        assert_eq!(unicode_pwd("ab"), vec![0x22, 0, 0x61, 0, 0x62, 0, 0x22, 0]);
    }
}
