//! A throwaway PostgreSQL cluster for the head office's tests and benches: `initdb` into a
//! temporary directory from the machine's server binaries, a free port on loopback, TLS with a
//! certificate authority made for it, and stopped when dropped. As root, the server runs as an
//! unprivileged user (PostgreSQL refuses root). No mock: the real server, its own `sha256`.
// Each test file is its own crate and uses some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const ADMIN: &str = "till_admin";
const ADMIN_PASSWORD: &str = "admin-secret-for-tests";

pub struct Cluster {
    root: tempfile::TempDir,
    bin: PathBuf,
    /// The unprivileged user the server runs as, when the tests run as root.
    user: Option<String>,
    pub port: u16,
    niced: bool,
}

/// The server binaries: `TILL_PG_BIN`, else Debian's newest `/usr/lib/postgresql/N/bin`, else
/// `initdb` on the PATH.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TILL_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p)| p.join("initdb").exists())
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return dir;
    }
    let on_path =
        std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).find(|p| p.join("initdb").exists()));
    on_path.expect("PostgreSQL's server binaries (initdb) are not installed: apt-get install postgresql")
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn run(cmd: &mut Command) {
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Cluster {
    /// A new cluster, started, with an empty database `store`.
    pub fn start() -> Cluster {
        Cluster::start_with(false)
    }

    /// A cluster whose server runs at the lowest priority: a bench of the till with the head
    /// office on the same two cores, as if it were the other machine it is in a store.
    pub fn start_elsewhere() -> Cluster {
        Cluster::start_with(true)
    }

    fn start_with(niced: bool) -> Cluster {
        let root = tempfile::Builder::new().prefix("till-pg-").tempdir().unwrap();
        let user = is_root().then(|| {
            let exists = |u: &str| Command::new("id").arg(u).output().is_ok_and(|o| o.status.success());
            if exists("postgres") { "postgres".to_string() } else { "nobody".to_string() }
        });
        let cluster = Cluster { bin: bin_dir(), user, port: free_port(), root, niced };
        cluster.make_certificates();
        std::fs::write(cluster.path("pwfile"), ADMIN_PASSWORD).unwrap();
        cluster.chown_all();
        cluster.as_server(&[
            "initdb",
            "-D",
            cluster.path("data").to_str().unwrap(),
            "-U",
            ADMIN,
            "--pwfile",
            cluster.path("pwfile").to_str().unwrap(),
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        // Only TLS over the network; the administrator's socket in the cluster's own directory.
        std::fs::write(
            cluster.path("data/pg_hba.conf"),
            "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostnossl all all all reject\n",
        )
        .unwrap();
        cluster.chown_all();
        // A free port, taken by the time the server binds it (tests start clusters in parallel):
        // another one.
        let mut cluster = cluster;
        let mut attempts = 0;
        while !cluster.try_start() {
            attempts += 1;
            assert!(attempts < 5, "the server does not start: {}", cluster.log());
            cluster.port = free_port();
        }
        let mut admin = cluster.admin_socket("postgres");
        admin.batch_execute("CREATE DATABASE store").unwrap();
        cluster
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// The certificate authority's certificate, for `sslrootcert`.
    pub fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// The administrator's url, over TLS verified against the cluster's authority.
    pub fn admin_url(&self) -> String {
        format!(
            "postgres://{ADMIN}:{ADMIN_PASSWORD}@127.0.0.1:{}/store?sslmode=verify-full&sslrootcert={}",
            self.port,
            self.ca().display()
        )
    }

    /// A register's url (its password goes in a file).
    pub fn register_url(&self, role: &str) -> String {
        format!(
            "postgres://{role}@127.0.0.1:{}/store?sslmode=verify-full&sslrootcert={}",
            self.port,
            self.ca().display()
        )
    }

    /// A new register "R1" of a store of its own, and a connection as its role (the benches ship
    /// one ledger again and again, each time to a register that holds nothing yet).
    pub fn fresh_register(&self, admin: &mut postgres::Client, store: &str) -> postgres::Client {
        let creds = till::store::office::add_register(admin, Some(store), "R1").unwrap();
        let url = self.register_url(&creds.role).replace("@127.0.0.1", &format!(":{}@127.0.0.1", creds.password));
        till::store::connect(&url, None).unwrap()
    }

    pub fn admin(&self) -> postgres::Client {
        till::store::connect(&self.admin_url(), None).unwrap()
    }

    fn admin_socket(&self, db: &str) -> postgres::Client {
        let url = format!(
            "postgres://{ADMIN}:{ADMIN_PASSWORD}@/{db}?host={}&port={}&sslmode=disable",
            self.root.path().display(),
            self.port
        );
        till::store::connect(&url, None).unwrap()
    }

    pub fn stop(&self) {
        self.as_server(&["pg_ctl", "-D", self.path("data").to_str().unwrap(), "-m", "fast", "-w", "stop"]);
    }

    pub fn start_again(&self) {
        assert!(self.try_start(), "the server does not start again: {}", self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("server.log")).unwrap_or_default()
    }

    fn try_start(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={} -c ssl_key_file={} \
             -c max_connections=60",
            self.port,
            self.root.path().display(),
            self.path("server.crt").display(),
            self.path("server.key").display()
        );
        let (log, data) = (self.path("server.log"), self.path("data"));
        let args = ["pg_ctl", "-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &options, "-w", "start"];
        self.server_command(&args).stdin(Stdio::null()).output().is_ok_and(|o| o.status.success())
    }

    fn as_server(&self, args: &[&str]) {
        run(&mut self.server_command(args));
    }

    fn server_command(&self, args: &[&str]) -> Command {
        let program = self.bin.join(args[0]);
        let mut cmd = match (&self.user, self.niced) {
            (Some(user), false) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            (Some(user), true) => {
                let mut c = Command::new("nice");
                c.args(["-n", "19", "runuser", "-u", user, "--"]).arg(program);
                c
            }
            (None, false) => Command::new(program),
            (None, true) => {
                let mut c = Command::new("nice");
                c.args(["-n", "19"]).arg(program);
                c
            }
        };
        cmd.args(&args[1..]).current_dir(self.root.path());
        cmd
    }

    fn chown_all(&self) {
        if let Some(user) = &self.user {
            run(Command::new("chown").args(["-R", user]).arg(self.root.path()));
        }
    }

    /// A certificate authority and the server's certificate for 127.0.0.1 and localhost.
    fn make_certificates(&self) {
        let dir = self.root.path();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        run(Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=till test authority"])
            .current_dir(dir));
        run(Command::new("openssl")
            .arg("req")
            .args(ec)
            .args(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
            .current_dir(dir));
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        run(Command::new("openssl")
            .args(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"])
            .args(["-out", "server.crt", "-days", "2", "-extfile", "server.ext"])
            .current_dir(dir));
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.path("data");
        if data.join("postmaster.pid").exists() {
            let program = self.bin.join("pg_ctl");
            let mut cmd = match &self.user {
                Some(user) => {
                    let mut c = Command::new("runuser");
                    c.args(["-u", user, "--"]).arg(program);
                    c
                }
                None => Command::new(program),
            };
            let _ =
                cmd.args(["-D"]).arg(&data).args(["-m", "immediate", "stop"]).current_dir(self.root.path()).output();
        }
    }
}

/// A password file as the till wants it: one line, mode 0600.
pub fn password_file(path: &Path, password: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("{password}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
