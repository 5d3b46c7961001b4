//! The sync scenarios of `tests/scenarios/*.toml`, each against a fresh `field-server` with a
//! manual clock, through field-cli's scenario runner (real HTTP, real device stores).

use std::path::{Path, PathBuf};

use field_cli::scenario::{self, Scenario};
use tests::{Backend, TestServer, ADMIN_PASSWORD};

use crate::BIN;

fn files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

async fn run_all(backend: &Backend) {
    let files = files();
    assert!(files.len() >= 10, "at least ten scenarios: {files:?}");
    for file in &files {
        let sc = Scenario::load(file).unwrap();
        let dir = std::env::temp_dir().join(format!(
            "fieldsync-scenario-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let env = sc.server_env(&dir).unwrap();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let s = TestServer::start_with_env(BIN, backend, &env).await;
        let report = scenario::run(&sc, &s.url(""), ADMIN_PASSWORD, &dir)
            .await
            .unwrap_or_else(|e| panic!("{} on {}: {e:#}", file.display(), backend.name()));
        assert!(report.checks > 0, "{} checks nothing", file.display());
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn every_scenario_passes_on_sqlite() {
    run_all(&Backend::Sqlite).await;
}

tests::on_postgres! {
    async fn every_scenario_passes_on_postgres(backend) {
        run_all(&backend).await;
    }
}
