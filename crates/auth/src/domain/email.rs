use std::fmt;

/// An email address in a canonical (lowercase) form: one `@`, a non-empty local part, a domain
/// with a dot, no spaces or control characters, at most 254 characters (RFC 5321).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let candidate = raw.trim().to_lowercase();
        if candidate.len() > 254 {
            return Err("must be at most 254 characters");
        }
        let invalid = "is not a valid email address";
        let (local, domain) = candidate.split_once('@').ok_or(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.chars().any(|c| c.is_whitespace() || c.is_control() || "@<>()[]\\,;:\"".contains(c));
        if !domain_ok || !local_ok {
            return Err(invalid);
        }
        Ok(Self(candidate))
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
        for bad in ["", "plain", "@example.com", "a@b", "a@@b.com", "a b@c.com", "a@b..com", "a\0@b.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
