//! How a method's target is shown before the user has proven anything.

/// `alice@example.com` → `a***@e***.com`.
pub fn email(addr: &str) -> String {
    let (local, domain) = addr.split_once('@').unwrap_or((addr, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let tld = if tld.is_empty() {
        String::new()
    } else {
        format!(".{tld}")
    };
    format!("{}***@{}***{tld}", first(local), first(host))
}

/// `+15550100042` → `+*** *** **42`.
pub fn phone(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits.iter().skip(digits.len().saturating_sub(2)).collect();
    format!("+*** *** **{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_reveal_only_initials_and_the_last_digits() {
        assert_eq!(super::email("alice@example.com"), "a***@e***.com");
        assert_eq!(super::email("Bob.Smith@mail.contoso.co.uk"), "B***@m***.uk");
        assert_eq!(super::phone("+15550100042"), "+*** *** **42");
        assert_eq!(super::phone("+44 20 7946 0018"), "+*** *** **18");
    }
}
