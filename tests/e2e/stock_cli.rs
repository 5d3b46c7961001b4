//! `field-cli stock …` in-process against the real server, as a new user would: receive parts,
//! issue them to a van, a technician uses them offline and sees its van offline, sync, count.

use std::path::Path;

use clap::Parser;
use field_cli::cli::{run, Cli};
use field_cli::device::Device;
use serde_json::Value;
use tests::{TestServer, ADMIN_PASSWORD};

use crate::BIN;

async fn cli(args: &[&str]) -> anyhow::Result<()> {
    let mut all = vec!["field-cli"];
    all.extend_from_slice(args);
    run(Cli::try_parse_from(all)?).await
}

/// What `field-cli stock van` shows: the cached snapshot adjusted by the device's own lines.
async fn van_on_device(dir: &str) -> Value {
    let dev = Device::open(Path::new(dir)).await.unwrap();
    let mut v = dev
        .van_snapshot()
        .await
        .unwrap()
        .expect("a snapshot after sync");
    let me = dev.actor().await.unwrap().user;
    field_cli::stock::adjust_van(&mut v, &dev.jobs().await.unwrap(), &me);
    dev.close().await;
    v
}

fn level(v: &Value, sku: &str) -> (i64, i64) {
    let l = v["levels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"] == sku)
        .unwrap_or_else(|| panic!("no {sku} in {v}"));
    (
        l["qty"].as_i64().unwrap(),
        l["pending"].as_i64().unwrap_or(0),
    )
}

async fn set_server(dir: &str, url: &str) {
    let dev = Device::open(Path::new(dir)).await.unwrap();
    dev.set_server(url).await.unwrap();
    dev.close().await;
}

tests::on_each_backend! {
    async fn a_new_user_stocks_a_van_and_the_technician_sees_it_offline_with_field_cli(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let url = s.url("");
        let root = std::env::temp_dir().join(format!("fieldsync-stock-cli-{}", uuid::Uuid::new_v4().simple()));
        let office = root.join("office").display().to_string();
        let phone = root.join("phone").display().to_string();
        let (o, p) = (office.as_str(), phone.as_str());
        let office_steps: Vec<Vec<&str>> = vec![
            vec!["login", "--server", &url, "--user", "admin", "--password", ADMIN_PASSWORD],
            vec!["region", "add", "north"],
            vec!["skill", "add", "washers"],
            vec!["user", "add", "tech-a", "--role", "technician", "--password", "tech-a-password",
                 "--regions", "north", "--skills", "washers", "--capacity", "4"],
            vec!["stock", "part", "PUMP-1", "--name", "Drain pump", "--price-cents", "4500"],
            vec!["stock", "warehouse", "central", "--name", "Central warehouse"],
            vec!["stock", "receive", "--location", "central", "--sku", "PUMP-1", "--qty", "5"],
            vec!["stock", "issue", "--from", "central", "--technician", "tech-a", "--sku", "PUMP-1", "--qty", "2"],
            vec!["stock", "threshold", "van:tech-a", "PUMP-1", "--min", "1", "--reorder-to", "2"],
            vec!["order", "create", "--id", "WO-S1", "--region", "north", "--skills", "washers",
                 "--customer", "Ada", "--phone", "+49 30 1", "--address", "Hauptstr. 1", "--problem", "no drain"],
            vec!["dispatch", "auto"],
        ];
        for step in office_steps {
            let mut args = vec!["--device", o];
            args.extend(step.iter().copied());
            cli(&args).await.unwrap_or_else(|e| panic!("{step:?}: {e:#}"));
        }
        cli(&["--device", p, "login", "--server", &url, "--user", "tech-a", "--password", "tech-a-password"])
            .await
            .unwrap();
        cli(&["--device", p, "sync"]).await.unwrap();
        assert_eq!(level(&van_on_device(p).await, "PUMP-1"), (2, 0), "the van as issued");

        // Offline: three pumps on the job; the device shows the van one short at once.
        set_server(p, "http://127.0.0.1:9").await;
        for step in [
            vec!["accept", "WO-S1"],
            vec!["part", "add", "WO-S1", "--sku", "PUMP-1", "--qty", "3", "--old-serial", "OLD-1"],
            vec!["stock", "van"],
        ] {
            let mut args = vec!["--device", p];
            args.extend(step.iter().copied());
            cli(&args).await.unwrap_or_else(|e| panic!("{step:?}: {e:#}"));
        }
        assert_eq!(level(&van_on_device(p).await, "PUMP-1"), (-1, -3), "adjusted offline");

        // Back online: the server counts the line once, the snapshot agrees, nothing pending.
        set_server(p, &url).await;
        cli(&["--device", p, "sync"]).await.unwrap();
        assert_eq!(level(&van_on_device(p).await, "PUMP-1"), (-1, 0));
        for step in [
            vec!["stock", "shortfalls"],
            vec!["stock", "moves", "--work-order", "WO-S1", "--json"],
            vec!["stock", "reorder"],
            vec!["stock", "count", "van:tech-a", "PUMP-1=0", "--note", "evening check"],
            vec!["stock", "levels", "van:tech-a"],
            vec!["stock", "levels"],
            vec!["stock", "return", "--location", "central", "--sku", "PUMP-1", "--serial", "OLD-1", "--disposition", "scrap"],
        ] {
            let mut args = vec!["--device", o];
            args.extend(step.iter().copied());
            cli(&args).await.unwrap_or_else(|e| panic!("{step:?}: {e:#}"));
        }
        let e = cli(&["--device", o, "stock", "count", "van:tech-a", "PUMP-1"]).await.unwrap_err();
        assert!(format!("{e:#}").contains("SKU=COUNTED"), "{e:#}");
        let e = cli(&["--device", o, "stock", "receive", "--location", "central", "--sku", "PUMP-1", "--qty=-2"])
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("at least 1"), "{e:#}");
        cli(&["--device", p, "sync"]).await.unwrap();
        assert_eq!(level(&van_on_device(p).await, "PUMP-1"), (0, 0), "counted and reconciled");
        let admin = s.admin_token().await;
        let m: Value = s.get(&admin, "/v1/stock/moves?work_order=WO-S1").await.json().await.unwrap();
        let kinds: Vec<&str> = m.as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["return", "consumption"], "{m}");
        let _ = std::fs::remove_dir_all(&root);
    }
}
