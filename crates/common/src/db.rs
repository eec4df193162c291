//! Connecting to SQLite or PostgreSQL through sqlx's `Any` driver, so each service runs one
//! portable set of queries (`$n` parameters, BIGINT times and flags, TEXT everything else) on
//! both engines.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

/// Which engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    #[error("cannot create the data directory: {0}")]
    DataDir(std::io::Error),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Why a statement failed, as far as a client is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The database could not be reached or went away (a restart, a network cut, a full pool).
    Outage,
    /// The database is out of space (a full disk): nothing was written; reads still work.
    Full,
    /// Anything else: a bug or a broken database.
    Other,
}

/// Classifies a database error (see [`Failure`]).
pub fn classify(error: &sqlx::Error) -> Failure {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Failure::Outage,
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // SQLite: SQLITE_FULL (13). PostgreSQL: class 53, insufficient resources
            // (53100 disk_full, 53200 out_of_memory, …).
            Some("13") => Failure::Full,
            Some(code) if code.starts_with("53") => Failure::Full,
            // PostgreSQL: connection exceptions (08…) and operator intervention (57P01 admin
            // shutdown, 57P03 cannot connect now, …).
            Some(code) if code.starts_with("08") || code.starts_with("57P") => Failure::Outage,
            _ => Failure::Other,
        },
        _ => Failure::Other,
    }
}

/// Connects (creating a SQLite file and its directory if needed) and applies `migrator`.
pub async fn connect(url: &str, migrator: &Migrator) -> Result<(AnyPool, Backend), ConnectError> {
    sqlx::any::install_default_drivers();
    let (backend, url) = if let Some(path) = url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or_default();
        if let Some(dir) = Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
            // A folder made here is owner-only; an existing one (perhaps shared, as with a
            // configured path) is left as it is — `openchat serve` secures the data directory.
            if !dir.exists() {
                private_dir(dir).map_err(ConnectError::DataDir)?;
            }
        }
        if !file.is_empty() && !file.starts_with(':') {
            private_file(Path::new(file), true).map_err(ConnectError::DataDir)?;
        }
        let url = if url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        (Backend::Sqlite, url)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        (Backend::Postgres, url.to_owned())
    } else {
        return Err(ConnectError::UnsupportedUrl);
    };
    let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
    let pool = AnyPoolOptions::new()
        .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
        .acquire_timeout(Duration::from_secs(10))
        // A connection given back while still inside a transaction (one whose COMMIT or
        // ROLLBACK failed: SQLite keeps a transaction open when its COMMIT fails for a full
        // disk, and a ROLLBACK after SQLite rolled back by itself fails too) would hold the
        // database's write lock for good; it is closed instead, which ends the transaction.
        .after_release(|conn, _| Box::pin(async move { Ok(!conn.is_in_transaction()) }))
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    conn.execute(
                        "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    if backend == Backend::Sqlite {
        // WAL persists in the file: readers never block the writer.
        pool.execute("PRAGMA journal_mode = WAL").await?;
        // SQLite gives the -wal and -shm files the database file's mode; make sure.
        if let Some(file) = url.strip_prefix("sqlite://").and_then(|p| p.split('?').next()) {
            for suffix in ["-wal", "-shm"] {
                let companion = format!("{file}{suffix}");
                if Path::new(&companion).exists() {
                    private_file(Path::new(&companion), false).map_err(ConnectError::DataDir)?;
                }
            }
        }
    }
    migrator.run(&pool).await?;
    Ok((pool, backend))
}

/// Creates `dir` (and its parents) if needed; a directory this creates is `0700` (owner only).
/// An existing one that others may read or enter is made `0700`, with a warning.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.exists() {
            return std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
        }
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                dir = %dir.display(),
                mode = format!("{mode:o}"),
                "the data directory was open to other users; made it 0700 (owner only)"
            );
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Makes a database file `0600` (owner only): created so if `create` and it does not exist
/// (before SQLite opens it, so it is never readable by others, not even for a moment); an
/// existing one that others may read is fixed, with a warning — it may hold password hashes
/// and the token signing key.
pub fn private_file(file: &Path, create: bool) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if create && !file.exists() {
            std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file)?;
            return Ok(());
        }
        let mode = std::fs::metadata(file)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %file.display(),
                mode = format!("{mode:o}"),
                "a database file was readable by other users; made it 0600 (owner only)"
            );
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = (file, create);
        Ok(())
    }
}

/// Whether a database error is a unique-constraint violation, and its message and constraint.
pub fn unique_violation(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.message().to_owned() + db.constraint().unwrap_or_default())
        }
        _ => None,
    }
}

/// Escapes `%`, `_` and backslashes so user input matches literally in a LIKE pattern.
pub fn escape_like(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(super::escape_like("50%_a\\b"), "50\\%\\_a\\\\b");
    }
}
