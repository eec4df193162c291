use std::fmt;

/// A canonical username: lowercase ASCII letters, digits, `_`, `.` and `-`, 3 to 64 characters,
/// starting with a letter or digit. Input is lowercased first, so `Admin` and `admin` are the
/// same account; anything outside ASCII is refused, so a Cyrillic `аdmin` can never stand
/// beside `admin`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MAX_LEN: usize = 64;

    /// Parses a username; surrounding whitespace is ignored (see [`Username::parse_exact`]).
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        Self::parse_exact(raw.trim())
    }

    /// Parses a username that must be exactly that: no surrounding whitespace either (the rule
    /// is `api_types::rules::USERNAME` in the API documents).
    pub fn parse_exact(raw: &str) -> Result<Self, &'static str> {
        let candidate = raw.to_ascii_lowercase();
        if candidate.len() < 3 {
            return Err("must be at least 3 characters");
        }
        if candidate.len() > Self::MAX_LEN {
            return Err("must be at most 64 characters");
        }
        if !candidate.is_ascii() {
            return Err("may contain only the letters a-z, digits, '_', '.' and '-'");
        }
        let bytes = candidate.as_bytes();
        if !bytes[0].is_ascii_alphanumeric() {
            return Err("must start with a letter or a digit");
        }
        let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(b);
        if !bytes.iter().all(allowed) {
            return Err("may contain only the letters a-z, digits, '_', '.' and '-'");
        }
        Ok(Self(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Username;

    #[test]
    fn canonicalises_case_and_spaces() {
        assert_eq!(Username::parse(" Admin ").unwrap().as_str(), "admin");
        assert_eq!(Username::parse("john.doe-2_x").unwrap().as_str(), "john.doe-2_x");
    }

    #[test]
    fn refuses_lookalikes_and_bad_shapes() {
        for bad in ["аdmin", "ad", "_admin", "adm in", "admin\0", "a'; DROP TABLE users;--", &"a".repeat(65)]
        {
            assert!(Username::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
