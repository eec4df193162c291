use std::fmt;

/// An email address in a canonical (lowercase) form: a local part of 1 to 64 characters without
/// whitespace, control characters or `@<>()[]\,;:"`; a domain of ASCII letters, digits, `-` and
/// at least one `.`, which neither starts nor ends with `.` or `-` and has no `..` (an
/// internationalised domain in its `xn--` form); at most 254 characters (RFC 5321). The same
/// rule is `api_types::rules::EMAIL` in the API documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses an address; surrounding whitespace is ignored (see [`Email::parse_exact`]).
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::parse_exact(raw.trim())
    }

    /// Parses an address that must be exactly that: no surrounding whitespace either.
    pub fn parse_exact(raw: &str) -> Result<Self, &'static str> {
        if raw.chars().count() > 254 {
            return Err("must be at most 254 characters");
        }
        let invalid = "is not a valid email address";
        let (local, domain) = raw.split_once('@').ok_or(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.chars().count() <= 64
            && !local.chars().any(|c| c.is_whitespace() || c.is_control() || "@<>()[]\\,;:\"".contains(c));
        if !domain_ok || !local_ok {
            return Err(invalid);
        }
        Ok(Self(raw.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(Email::parse("Jane.Doe+chat@Example.COM").unwrap().as_str(), "jane.doe+chat@example.com");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in
            ["", "plain", "@example.com", "a@b", "a@@b.com", "a b@c.com", "a@b..com", "a\0@b.com", "a@bü.com"]
        {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
