/// A password that passed the policy: 8 to 128 characters, not one of the most common
/// passwords (OWASP ASVS 5.0 §6.2). No composition rules.
pub struct Password(String);

/// Passwords that attackers try first (lowercased); refused at registration and change.
const COMMON: &str = include_str!("common-passwords.txt");

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err("must be at least 8 characters");
        }
        if chars > Self::MAX_CHARS {
            return Err("must be at most 128 characters");
        }
        if raw.contains('\0') {
            return Err("must not contain NUL characters");
        }
        let lowered = raw.to_lowercase();
        if COMMON.lines().any(|common| common == lowered) {
            return Err("is too common; choose a less guessable password");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn enforces_length_and_common_list() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("Password123").is_err());
        assert!(Password::parse("correct horse battery").is_ok());
        assert!(Password::parse("ünïcødé-pässwörd").is_ok());
    }
}
