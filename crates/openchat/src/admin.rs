//! `openchat admin …`: user and key administration straight against the auth database, for
//! bootstrapping the first administrator without any default password.

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, bail};
use api_types::auth::{CreateUser, User};
use auth::passwords::Hasher;
use auth::store::Db;
use clap::Subcommand;
use common::config::Config;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create a user. The password is asked for (or read from standard input when piped).
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        full_name: Option<String>,
        /// A role to give (repeatable): admin, manager, user.
        #[arg(long = "role", default_value = "user")]
        roles: Vec<String>,
    },
    /// Add a role to a user.
    GrantRole {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Remove a role from a user.
    RevokeRole {
        #[arg(long)]
        username: String,
        #[arg(long)]
        role: String,
    },
    /// Set a new password (asked for, or read from standard input) and end all sessions.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
    /// List every user.
    ListUsers {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Make a new token signing key; tokens signed by the old one stay valid until they expire.
    RotateKeys,
}

pub async fn run(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    let url = config.auth.database_url(&config.data_dir);
    let db = Db::connect(&url).await.context("cannot open the auth database")?;
    let hasher = || Hasher::new(1);
    let result = match command {
        AdminCommand::CreateUser { username, email, full_name, roles } => {
            let password = read_password("Password for the new user: ")?;
            let input = CreateUser { username, email, password, full_name, roles: Some(roles) };
            auth::admin::create_user(&db, &hasher(), input).await.map(|user| print_user(&user))
        }
        AdminCommand::GrantRole { username, role } => change_role(&db, &username, &role, true).await?,
        AdminCommand::RevokeRole { username, role } => change_role(&db, &username, &role, false).await?,
        AdminCommand::ResetPassword { username } => {
            let password = read_password("New password: ")?;
            auth::admin::reset_password(&db, &hasher(), &username, &password)
                .await
                .map(|()| println!("Password reset for {username}; all sessions ended."))
        }
        AdminCommand::ListUsers { json } => auth::admin::list_users(&db).await.map(|users| {
            if json {
                println!("{}", serde_json::to_string_pretty(&users).expect("users serialise"));
            } else {
                println!("{:<24} {:<32} {:<20} {:<6} CREATED", "USERNAME", "EMAIL", "ROLES", "ACTIVE");
                for u in &users {
                    println!(
                        "{:<24} {:<32} {:<20} {:<6} {}",
                        u.username,
                        u.email,
                        u.roles.join(","),
                        u.is_active,
                        u.created_at
                    );
                }
            }
        }),
        AdminCommand::RotateKeys => {
            let a = &config.auth;
            auth::admin::rotate_keys(&db, &a.issuer, &a.audience, a.access_token_ttl_secs)
                .await
                .map(|kid| println!("New signing key {kid}; running servers switch to it within a minute."))
        }
    };
    db.close().await;
    result.map_err(anyhow::Error::msg)
}

async fn change_role(db: &Db, username: &str, role: &str, grant: bool) -> anyhow::Result<Result<(), String>> {
    let users = auth::admin::list_users(db).await.map_err(anyhow::Error::msg)?;
    let canonical = username.trim().to_ascii_lowercase();
    let Some(user) = users.into_iter().find(|u| u.username == canonical) else {
        bail!("User not found");
    };
    let mut roles = user.roles.clone();
    roles.retain(|r| r != role);
    if grant {
        roles.push(role.to_owned());
    }
    Ok(auth::admin::set_roles(db, &user.username, &roles).await.map(|u| print_user(&u)))
}

fn print_user(user: &User) {
    println!("{} ({}) roles: {} id: {}", user.username, user.email, user.roles.join(","), user.id);
}

/// From a terminal: asked twice without echo. Piped: the first line of standard input.
fn read_password(prompt: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        let second = rpassword::prompt_password("Repeat it: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.is_empty() {
            bail!("no password on standard input");
        }
        Ok(password)
    }
}
