//! Throw-away PostgreSQL databases for tests, so that every suite can run on both stores.
//!
//! The server is taken from `BIHUAN_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be reached, [`scratch_database`]
//! answers `None` and says once that the PostgreSQL runs are skipped; set
//! `BIHUAN_REQUIRE_POSTGRES=1` (as `.ci/run` does) to make that a failure instead.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use tokio_postgres::NoTls;

const DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PREFIX: &str = "bihuan_t_";

/// The maintenance database's address.
pub fn server_url() -> String {
    std::env::var("BIHUAN_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT.to_string())
}

fn with_db(url: &str, db: &str) -> String {
    // Replace the path of the address (the database name), keep any query.
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A database that lives until dropped (it is dropped with `DROP DATABASE … WITH (FORCE)`).
pub struct ScratchDb {
    pub url: String,
    server: String,
    name: String,
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let server = self.server.clone();
        // Drop may run inside a runtime; do the work on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async {
                    if let Ok((client, conn)) = tokio_postgres::connect(&server, NoTls).await {
                        tokio::spawn(conn);
                        let _ = client
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .await;
                    }
                });
            }
        })
        .join();
    }
}

fn skip_notice() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // Written to the handle, not with `eprintln!`, so that the test harness does not
        // swallow it: whoever runs the tests sees that half of them were skipped.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\nPostgreSQL skipped: no server at {} (set BIHUAN_TEST_POSTGRES); the SQLite runs still ran",
            server_url()
        );
    });
}

/// Creates an empty database, or `None` (with a notice) when no server is reachable.
pub async fn scratch_database() -> Option<ScratchDb> {
    scratch_database_on(&server_url()).await
}

/// Like [`scratch_database`], on the server at `server` (its maintenance database's address).
pub async fn scratch_database_on(server: &str) -> Option<ScratchDb> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let required = std::env::var("BIHUAN_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    let connected = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tokio_postgres::connect(server, NoTls),
    )
    .await;
    let (client, conn) = match connected {
        Ok(Ok(c)) => c,
        Ok(Err(e)) if required => panic!("PostgreSQL required but unreachable: {e}"),
        Err(_) if required => panic!("PostgreSQL required but did not answer"),
        _ => {
            skip_notice();
            return None;
        }
    };
    tokio::spawn(conn);
    let pid = std::process::id();
    clean_leftovers(&client, pid).await;
    let name = format!(
        "{PREFIX}{pid}_{}_{}",
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand_suffix()
    );
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap_or_else(|e| panic!("cannot create the test database {name}: {e}"));
    Some(ScratchDb {
        url: with_db(server, &name),
        server: server.to_string(),
        name,
    })
}

fn rand_suffix() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

/// Drops databases left by test processes that are gone (killed before their cleanup ran).
async fn clean_leftovers(client: &tokio_postgres::Client, me: u32) {
    static DONE: OnceLock<()> = OnceLock::new();
    if DONE.set(()).is_err() {
        return;
    }
    let Ok(rows) = client
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'bihuan\\_t\\_%'",
            &[],
        )
        .await
    else {
        return;
    };
    for r in rows {
        let name: String = r.get(0);
        let pid: Option<u32> = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|p| p.parse().ok());
        let alive =
            pid.is_some_and(|p| p == me || std::path::Path::new(&format!("/proc/{p}")).exists());
        if !alive {
            let _ = client
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
        }
    }
}

/// A 1×1 PNG, whole (uploads are checked to the end).
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_replaced_in_addresses() {
        assert_eq!(
            super::with_db("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(super::with_db("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            super::with_db("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
