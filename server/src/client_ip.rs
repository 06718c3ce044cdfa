//! Who the client is. The TCP peer, unless the peer is one of
//! `server.trusted_proxies`: then the right-most address in the forwarded
//! header that is not itself a trusted proxy. Everything left of it was
//! written by the client and is ignored, so a client cannot choose its
//! address by sending the header itself.
//!
//! Per-IP limits count an IPv6 client by its /64, the block one subscriber
//! usually holds; audit records keep the full address.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde::Deserialize;

use crate::AppState;

/// `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl fmt::Debug for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.net, self.bits)
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an address or CIDR such as 10.0.0.0/8"))?;
        let net = canonical(net);
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => b
                .parse::<u8>()
                .ok()
                .filter(|b| *b <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        if bits == 0 {
            return Err(format!(
                "{s:?} trusts every address as a proxy, so any client could forge its own: list your proxies"
            ));
        }
        if mask(net, bits) != net {
            return Err(format!(
                "{s:?} has host bits set: did you mean {}/{bits}?",
                mask(net, bits)
            ));
        }
        Ok(Cidr { net, bits })
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Cidr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.net.is_ipv4() && mask(ip, self.bits) == self.net
    }
}

/// `::ffff:192.0.2.1` is `192.0.2.1`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn mask(ip: IpAddr, bits: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let m = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(bits))
            };
            IpAddr::V4((u32::from(v4) & m).into())
        }
        IpAddr::V6(v6) => {
            let m = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            IpAddr::V6((u128::from(v6) & m).into())
        }
    }
}

/// Which header the trusted proxies write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, haproxy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:443"`.
    Forwarded,
}

/// The addresses a header lists, left to right, across all its lines. An
/// entry that is not an address (`unknown`, an obfuscated `_hidden`) is `None`.
fn chain(headers: &HeaderMap, which: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match which {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let mut out = Vec::new();
    for line in headers.get_all(name) {
        let Ok(line) = line.to_str() else {
            out.push(None);
            continue;
        };
        if which == ForwardedHeader::XForwardedFor {
            out.extend(line.split(',').map(|e| parse_node(e.trim())));
            continue;
        }
        // RFC 7239: elements and pairs are separated outside quoted strings
        // only, so a quoted value a proxy copied from the client (a Host,
        // say) cannot add an element of its own. A line that does not
        // parse is one unknown hop.
        let Some(elements) = split_unquoted(line, b',') else {
            out.push(None);
            continue;
        };
        for element in elements {
            let value = split_unquoted(element, b';').and_then(|pairs| {
                pairs.into_iter().find_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
                })
            });
            out.push(value.and_then(parse_node));
        }
    }
    out
}

/// `s` split at each `sep` that is not inside a quoted string (with `\`
/// escapes); `None` when a quoted string is left open.
fn split_unquoted(s: &str, sep: u8) -> Option<Vec<&str>> {
    let (mut parts, mut start) = (Vec::new(), 0);
    let (mut quoted, mut escaped) = (false, false);
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if b == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    parts.push(&s[start..]);
    Some(parts)
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `"[2001:db8::1]:4711"`.
fn parse_node(v: &str) -> Option<IpAddr> {
    let v = v.trim().trim_matches('"');
    if let Ok(ip) = v.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = v.strip_prefix('[') {
        let (addr, _) = rest.split_once(']')?;
        return addr.parse::<Ipv6Addr>().ok().map(|a| canonical(a.into()));
    }
    let (addr, port) = v.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    addr.parse::<IpAddr>().ok().map(canonical)
}

/// The client's address as the portal sees it.
pub fn resolve(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[Cidr],
    which: ForwardedHeader,
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut client = peer;
    for hop in chain(headers, which).into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(ip) => client = ip,
            Some(ip) => return ip,
            // A proxy that could not say who its client was: the last
            // trusted hop is as far as we can know.
            None => return client,
        }
    }
    client
}

/// The client of this request. `None` only in tests that give no peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    /// For audit records: the full address.
    pub fn audit(&self) -> String {
        self.0
            .map_or_else(|| "unknown".to_string(), |ip| ip.to_string())
    }

    /// For per-IP limits: IPv4 by address, IPv6 by its /64.
    pub fn limit_key(&self) -> String {
        match self.0 {
            None => "unknown".into(),
            Some(IpAddr::V4(v4)) => v4.to_string(),
            Some(ip @ IpAddr::V6(_)) => format!("{}/64", mask(ip, 64)),
        }
    }
}

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let s = &state.config.server;
        Ok(ClientIp(peer.map(|p| {
            resolve(p, &parts.headers, &s.trusted_proxies, s.forwarded_header)
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn headers(name: &'static str, lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(name, HeaderValue::from_str(l).unwrap());
        }
        h
    }

    #[test]
    fn cidrs_parse_match_and_refuse_nonsense() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains("10.1.2.3".parse().unwrap()));
        assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(!c.contains("::1".parse().unwrap()));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
        assert!(
            "10.0.0.1/8"
                .parse::<Cidr>()
                .unwrap_err()
                .contains("10.0.0.0/8")
        );
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("proxy.internal".parse::<Cidr>().is_err());
        assert!(
            "0.0.0.0/0"
                .parse::<Cidr>()
                .unwrap_err()
                .contains("every address")
        );
        assert!("::/0".parse::<Cidr>().is_err());
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let trusted = cidrs(&["127.0.0.1", "10.0.0.0/8"]);
        let xff = ForwardedHeader::XForwardedFor;
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        // The client's own header is ignored left of the real client.
        let h = headers("x-forwarded-for", &["6.6.6.6, 203.0.113.9, 10.1.1.1"]);
        assert_eq!(
            resolve(peer, &h, &trusted, xff),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // Several header lines are one list, in order.
        let h = headers(
            "x-forwarded-for",
            &["6.6.6.6", "203.0.113.9:51234, 10.1.1.1"],
        );
        assert_eq!(
            resolve(peer, &h, &trusted, xff),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // An untrusted peer's header counts for nothing.
        let stranger: IpAddr = "198.51.100.4".parse().unwrap();
        let h = headers("x-forwarded-for", &["1.2.3.4"]);
        assert_eq!(resolve(stranger, &h, &trusted, xff), stranger);
        // No proxies configured: always the peer.
        assert_eq!(resolve(peer, &h, &[], xff), peer);
        // Only trusted hops: the left-most of them.
        let h = headers("x-forwarded-for", &["10.9.9.9, 10.1.1.1"]);
        assert_eq!(
            resolve(peer, &h, &trusted, xff),
            "10.9.9.9".parse::<IpAddr>().unwrap()
        );
        // A hop the proxy could not name: stop at the last trusted one.
        let h = headers("x-forwarded-for", &["203.0.113.9, garbage, 10.1.1.1"]);
        assert_eq!(
            resolve(peer, &h, &trusted, xff),
            "10.1.1.1".parse::<IpAddr>().unwrap()
        );
        // The other header is not read.
        let h = headers("forwarded", &["for=203.0.113.9"]);
        assert_eq!(resolve(peer, &h, &trusted, xff), peer);
    }

    #[test]
    fn rfc7239_forwarded_is_read_when_configured() {
        let trusted = cidrs(&["127.0.0.1"]);
        let fwd = ForwardedHeader::Forwarded;
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let h = headers(
            "forwarded",
            &[r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https;by=127.0.0.1"#],
        );
        assert_eq!(
            resolve(peer, &h, &trusted, fwd),
            "2001:db8:cafe::17".parse::<IpAddr>().unwrap()
        );
        let h = headers("forwarded", &["for=unknown"]);
        assert_eq!(resolve(peer, &h, &trusted, fwd), peer);
        // A comma or semicolon inside a quoted value (a Host a proxy copied
        // from the client) adds no element: the client is still 1.2.3.4.
        for forged in [
            r#"for=1.2.3.4;host="x, for=9.9.9.9""#,
            r#"for=1.2.3.4;host="x;for=9.9.9.9, for=8.8.8.8""#,
            r#"for=1.2.3.4;host="a\", for=9.9.9.9""#,
        ] {
            let h = headers("forwarded", &[forged]);
            assert_eq!(
                resolve(peer, &h, &trusted, fwd),
                "1.2.3.4".parse::<IpAddr>().unwrap(),
                "{forged}"
            );
        }
        // A quote left open is one unknown hop: the proxy is as far as we know.
        let h = headers("forwarded", &[r#"for=1.2.3.4;host="x, for=9.9.9.9"#]);
        assert_eq!(resolve(peer, &h, &trusted, fwd), peer);
    }

    #[test]
    fn ipv6_clients_share_a_limit_per_64() {
        let a = ClientIp(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = ClientIp(Some("2001:db8:1:2:bbbb::9".parse().unwrap()));
        let c = ClientIp(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a.limit_key(), "2001:db8:1:2::/64");
        assert_eq!(a.limit_key(), b.limit_key());
        assert_ne!(a.limit_key(), c.limit_key());
        assert_eq!(a.audit(), "2001:db8:1:2:aaaa::1");
        assert_eq!(
            ClientIp(Some("192.0.2.1".parse().unwrap())).limit_key(),
            "192.0.2.1"
        );
    }
}
