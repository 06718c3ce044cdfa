//! Numbers with a range, as types serde checks while it reads the file: an
//! out-of-range value is refused by the deserialiser, so the error carries
//! the value's line and column and the key, like a type error does.
//!
//! Rules that compare two fields (`password.max_length` against
//! `min_length`, `audit.progress_retention_days` against `retention_days`)
//! cannot be seen by one field's deserialiser and stay in `Config::validate`.

use std::fmt;

use serde::Deserialize;

/// A newtype over `$t` that only holds `$lo..=$hi`. It reads as a plain
/// `$t` (so a wrong type keeps serde's own message, "expected u8"), then
/// refuses a value out of range with `$refuse(value)`.
macro_rules! ranged {
    ($(
        $(#[$doc:meta])*
        $name:ident($t:ty): $lo:literal ..= $hi:expr, default $default:literal,
        refuse $refuse:expr;
    )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($t);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::new(<$t>::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }

        impl $name {
            /// The smallest value allowed.
            pub const MIN: $t = $lo;
            /// The largest value allowed.
            pub const MAX: $t = $hi;

            /// `value`, if it is in range; else why not, in the config's words.
            pub fn new(value: $t) -> Result<Self, String> {
                if (Self::MIN..=Self::MAX).contains(&value) {
                    Ok(Self(value))
                } else {
                    let refuse: fn($t) -> String = $refuse;
                    Err(refuse(value))
                }
            }

            /// The number.
            pub const fn get(self) -> $t {
                self.0
            }
        }

        impl Default for $name {
            /// The documented default.
            fn default() -> Self {
                Self($default)
            }
        }

        impl TryFrom<$t> for $name {
            type Error = String;
            fn try_from(value: $t) -> Result<Self, String> {
                Self::new(value)
            }
        }

        impl From<$name> for $t {
            fn from(v: $name) -> $t {
                v.0
            }
        }

        impl PartialEq<$t> for $name {
            fn eq(&self, other: &$t) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}

ranged! {
    /// `policy.methods_required`: methods a user must prove to reset, 1 or 2.
    MethodsRequired(u8): 1..=2, default 1,
        refuse |v| format!("must be 1 or 2, not {v}");
    /// `policy.reconfirm_days`: days before users reconfirm their security
    /// info; 0 = never, at most 730.
    ReconfirmDays(u16): 0..=730, default 180,
        refuse |v| format!("must be 0 to 730, not {v}");
    /// `reset.pow_difficulty`: leading zero bits the proof-of-work CAPTCHA
    /// demands, 8 to 28.
    PowDifficulty(u8): 8..=28, default 18,
        refuse |v| format!("must be 8 to 28, not {v}");
    /// `reset.identify_floor_ms`: identify takes at least this long, at most 5 s.
    IdentifyFloorMs(u64): 0..=5000, default 250,
        refuse |v| format!("must be at most 5000, not {v}");
    /// `password.min_length`, in code points: at least 8.
    MinLength(u16): 8..=u16::MAX, default 8,
        refuse |v| format!("must be at least 8, not {v}");
    /// `password.min_score`: the minimum zxcvbn score, 0 to 4.
    MinScore(u8): 0..=4, default 3,
        refuse |v| format!("must be 0 to 4, not {v}");
    /// `audit.retention_days`: 30 to 3650.
    RetentionDays(u32): 30..=3650, default 365,
        refuse |v| format!("must be 30 to 3650, not {v}");
    /// `alerts.*_per_hour`: 0 turns the alert off, at most a million.
    AlertThreshold(u32): 0..=1_000_000, default 10,
        refuse |v| format!("must be 0 (off) to 1000000, not {v}");
    /// `delivery.retry_first_secs`: the outbox's first wait, 1 s to an hour.
    RetryFirstSecs(u32): 1..=3600, default 10,
        refuse |v| format!("must be 1 to 3600, not {v}");
    /// `delivery.retry_hours`: how long a message is retried, 1 to 168.
    RetryHours(u32): 1..=168, default 24,
        refuse |v| format!("must be 1 to 168, not {v}");
    /// `delivery.queue_limit`: messages the outbox may hold, 100 to a million.
    QueueLimit(u32): 100..=1_000_000, default 10_000,
        refuse |v| format!("must be 100 to 1000000, not {v}");
    /// `directory.ldap.timeout_secs`: per operation and connect, 1 to 10.
    LdapTimeoutSecs(u64): 1..=10, default 10,
        refuse |v| format!("must be 1 to 10, not {v}");
    /// `directory.ldap.pool_size`: pooled service connections, 1 to 64.
    LdapPoolSize(usize): 1..=64, default 4,
        refuse |v| format!("must be 1 to 64, not {v}");
    /// `server.connection_limit`: open connections at most.
    ConnectionLimit(usize): 1..=1_000_000, default 1024,
        refuse |v| format!("must be 1 to 1000000, not {v}");
    /// `server.header_timeout_secs`: 1 to 120.
    HeaderTimeoutSecs(u64): 1..=120, default 10,
        refuse |v| format!("must be 1 to 120, not {v}");
    /// `server.request_timeout_secs`: 1 to 600.
    RequestTimeoutSecs(u64): 1..=600, default 30,
        refuse |v| format!("must be 1 to 600, not {v}");
    /// `server.idle_timeout_secs`: 1 to 3600.
    IdleTimeoutSecs(u64): 1..=3600, default 60,
        refuse |v| format!("must be 1 to 3600, not {v}");
    /// `server.hash_workers`: argon2 threads, 0 = one per core, at most 256.
    HashWorkers(usize): 0..=256, default 0,
        refuse |v| format!("must be 0 to 256, not {v}");
    /// `server.hash_queue`: password checks that may wait, 0 to 100000.
    HashQueue(usize): 0..=100_000, default 64,
        refuse |v| format!("must be 0 to 100000, not {v}");
    /// `store.max_connections`: at least 1.
    MaxConnections(u32): 1..=u32::MAX, default 10,
        refuse |v| format!("must be at least 1, not {v}");
    /// `reset.identify_per_ip`: identify attempts per client address per 10
    /// minutes. 0 would refuse every client, so it is not "no limit".
    IdentifyPerIp(u32): 1..=u32::MAX, default 60,
        refuse |v| format!("must be at least 1 (0 would refuse every client), not {v}");
    /// `reset.steps_per_ip`: other reset requests per client address per 10
    /// minutes; at least 1, as above.
    StepsPerIp(u32): 1..=u32::MAX, default 300,
        refuse |v| format!("must be at least 1 (0 would refuse every client), not {v}");
    /// `server.connection_limit_per_client`: open connections per client
    /// address; at least 1, as above.
    ConnectionsPerClient(usize): 1..=1_000_000, default 64,
        refuse |v| format!("must be 1 to 1000000 (0 would refuse every client), not {v}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_defaults_agree() {
        assert_eq!(MethodsRequired::new(2), Ok(MethodsRequired(2)));
        assert_eq!(
            MethodsRequired::new(3),
            Err("must be 1 or 2, not 3".to_string())
        );
        assert_eq!(
            PowDifficulty::new(7),
            Err("must be 8 to 28, not 7".to_string())
        );
        assert!(PowDifficulty::new(28).is_ok());
        // Every default is itself in range.
        macro_rules! in_range {
            ($($t:ident),*) => {$(
                assert!($t::new($t::default().get()).is_ok(), stringify!($t));
            )*};
        }
        in_range!(
            MethodsRequired,
            ReconfirmDays,
            PowDifficulty,
            IdentifyFloorMs,
            MinLength,
            MinScore,
            RetentionDays,
            AlertThreshold,
            RetryFirstSecs,
            RetryHours,
            QueueLimit,
            LdapTimeoutSecs,
            LdapPoolSize,
            ConnectionLimit,
            HeaderTimeoutSecs,
            RequestTimeoutSecs,
            IdleTimeoutSecs,
            HashWorkers,
            HashQueue,
            MaxConnections
        );
    }

    #[test]
    fn a_wrong_type_keeps_serde_s_own_message() {
        #[derive(Debug, Deserialize)]
        struct T {
            #[allow(dead_code)]
            n: MethodsRequired,
        }
        let e = toml::from_str::<T>("n = \"two\"").unwrap_err();
        assert!(
            e.message()
                .contains("invalid type: string \"two\", expected u8"),
            "{e}"
        );
        let e = toml::from_str::<T>("n = 3").unwrap_err();
        assert_eq!(e.message(), "must be 1 or 2, not 3");
        assert_eq!(e.span(), Some(4..5), "the value's own span");
    }
}
