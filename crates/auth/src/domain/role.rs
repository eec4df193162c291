use std::fmt;

/// The three roles of the seed. Permissions (api.md): administrators do everything; managers
/// read users; users manage themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Admin,
    Manager,
    User,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Manager, Role::User];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::User => "user",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user's roles: sorted, without duplicates, never empty (at least `user`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSet(Vec<Role>);

impl RoleSet {
    pub fn user() -> Self {
        Self(vec![Role::User])
    }

    /// Parses role names; the first unknown one is returned as the error.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, String> {
        let mut roles = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            roles.push(Role::parse(name).ok_or_else(|| name.to_owned())?);
        }
        Ok(Self::from_roles(roles))
    }

    pub fn from_roles(mut roles: Vec<Role>) -> Self {
        roles.sort();
        roles.dedup();
        if roles.is_empty() {
            roles.push(Role::User);
        }
        Self(roles)
    }

    /// The stored form: names joined by commas.
    pub fn to_db(&self) -> String {
        self.names().join(",")
    }

    /// Reads the stored form; unknown names (from a newer version) are skipped.
    pub fn from_db(raw: &str) -> Self {
        Self::from_roles(raw.split(',').filter_map(Role::parse).collect())
    }

    pub fn names(&self) -> Vec<String> {
        self.0.iter().map(|r| r.as_str().to_owned()).collect()
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn is_only_user(&self) -> bool {
        self.0 == [Role::User]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorts_and_dedups() {
        let set = RoleSet::parse(&["user", "admin", "user"]).unwrap();
        assert_eq!(set.to_db(), "admin,user");
        assert_eq!(RoleSet::parse(&["root"]).unwrap_err(), "root");
        assert_eq!(RoleSet::parse::<&str>(&[]).unwrap(), RoleSet::user());
    }
}
