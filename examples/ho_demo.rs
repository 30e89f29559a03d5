#[path = "../tests/pg/mod.rs"]
mod pg;
fn main() {
    let base = std::path::PathBuf::from("/tmp/hodemo");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(base.join("data")).unwrap();
    let cluster = pg::Cluster::start();
    let mut admin = cluster.admin();
    till::store::office::init(&mut admin, "1").unwrap();
    let creds = till::store::office::add_register(&mut admin, None, "R1").unwrap();
    let pw = base.join("ho.password");
    pg::password_file(&pw, &creds.password);
    let settings = till::config::settings::template()
        + &format!(
            "\n[head_office]\nurl = \"{}\"\npassword_file = \"{}\"\n",
            cluster.register_url(&creds.role),
            pw.display()
        );
    std::fs::write(base.join("data/till.toml"), settings).unwrap();
    std::fs::write(base.join("admin.url"), cluster.admin_url()).unwrap();
    println!("ready");
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}
