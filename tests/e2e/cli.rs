//! field-cli's commands, run in-process against the real server: a dispatcher's console and a
//! technician's device that works a job offline, as README.md walks a new user through it.

use clap::Parser;
use field_cli::cli::{run, Cli};
use serde_json::Value;
use tests::{TestServer, ADMIN_PASSWORD};

use crate::BIN;

async fn cli(args: &[&str]) -> anyhow::Result<()> {
    let mut all = vec!["field-cli"];
    all.extend_from_slice(args);
    run(Cli::try_parse_from(all)?).await
}

tests::on_each_backend! {
    async fn a_new_user_runs_a_job_from_intake_to_follow_up_with_field_cli(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let url = s.url("");
        let root =
            std::env::temp_dir().join(format!("fieldsync-cli-{}", uuid::Uuid::new_v4().simple()));
        let office = root.join("office").display().to_string();
        let phone = root.join("phone").display().to_string();
        let o = office.as_str();
        let p = phone.as_str();

        cli(&[
            "--device",
            o,
            "login",
            "--server",
            &url,
            "--user",
            "admin",
            "--password",
            ADMIN_PASSWORD,
        ])
        .await
        .unwrap();
        cli(&["--device", o, "region", "add", "north", "--name", "North"])
            .await
            .unwrap();
        cli(&["--device", o, "skill", "add", "washers"])
            .await
            .unwrap();
        cli(&[
            "--device",
            o,
            "user",
            "add",
            "tech-a",
            "--role",
            "technician",
            "--password",
            "tech-a-password",
            "--regions",
            "north",
            "--skills",
            "washers",
            "--capacity",
            "4",
        ])
        .await
        .unwrap();
        cli(&[
            "--device",
            o,
            "order",
            "create",
            "--id",
            "WO-CLI-1",
            "--region",
            "north",
            "--skills",
            "washers",
            "--customer",
            "Ada Customer",
            "--phone",
            "+49 30 1",
            "--address",
            "Hauptstr. 1",
            "--problem",
            "does not drain",
        ])
        .await
        .unwrap();
        cli(&["--device", o, "dispatch", "auto"]).await.unwrap();
        cli(&["--device", o, "explain", "WO-CLI-1"]).await.unwrap();
        cli(&["--device", o, "board", "--json"]).await.unwrap();

        // The technician's device: fetch, then work with no server at all.
        cli(&[
            "--device",
            p,
            "login",
            "--server",
            &url,
            "--user",
            "tech-a",
            "--password",
            "tech-a-password",
        ])
        .await
        .unwrap();
        cli(&["--device", p, "sync"]).await.unwrap();
        cli(&["--device", p, "jobs"]).await.unwrap();
        let unreachable = "http://127.0.0.1:9";
        let dev = field_cli::device::Device::open(std::path::Path::new(p))
            .await
            .unwrap();
        dev.set_server(unreachable).await.unwrap();
        dev.close().await;
        for step in [
            vec!["accept", "WO-CLI-1"],
            vec!["appointment", "WO-CLI-1", "--at", "+3h"],
            vec!["en-route", "WO-CLI-1"],
            vec!["on-site", "WO-CLI-1"],
            vec![
                "diagnose",
                "WO-CLI-1",
                "pump blocked",
                "--solution",
                "clean the pump",
            ],
            vec![
                "quote",
                "WO-CLI-1",
                "--item",
                "pump:49.90",
                "--item",
                "labour:35",
            ],
            vec!["consent", "WO-CLI-1"],
            vec!["start", "WO-CLI-1"],
            vec![
                "part",
                "add",
                "WO-CLI-1",
                "--sku",
                "PUMP-7",
                "--qty",
                "1",
                "--serial",
                "SN-NEW",
                "--old-serial",
                "SN-OLD",
            ],
            vec!["note", "WO-CLI-1", "gate code 4711"],
            vec!["test", "WO-CLI-1", "--passed"],
            vec!["complete", "WO-CLI-1", "--fixed"],
        ] {
            let mut args = vec!["--device", p];
            args.extend(step.iter().copied());
            cli(&args)
                .await
                .unwrap_or_else(|e| panic!("{step:?}: {e:#}"));
        }
        let e = cli(&["--device", p, "sync"]).await.unwrap_err();
        assert!(format!("{e:#}").contains("kept on the device"), "{e:#}");
        let e = cli(&["--device", p, "accept", "WO-NOPE"])
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("no job WO-NOPE"), "{e:#}");

        // Back in coverage: one sync sends it all.
        let dev = field_cli::device::Device::open(std::path::Path::new(p))
            .await
            .unwrap();
        dev.set_server(&url).await.unwrap();
        dev.close().await;
        cli(&["--device", p, "sync", "--json"]).await.unwrap();
        let admin = s.admin_token().await;
        let v: Value = s
            .get(&admin, "/v1/workorders/WO-CLI-1")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "completed", "{v}");
        assert_eq!(v["assignee"], "tech-a");
        assert_eq!(v["quote"]["total_cents"], 8490);
        assert_eq!(v["parts"][0]["serial_old"], "SN-OLD");
        assert!(v["notes"].as_str().unwrap().contains("gate code 4711"));

        cli(&[
            "--device",
            o,
            "followup",
            "WO-CLI-1",
            "--score",
            "5",
            "--comment",
            "quick and tidy",
        ])
        .await
        .unwrap();
        cli(&["--device", o, "kpi"]).await.unwrap();
        let v: Value = s
            .get(&admin, "/v1/workorders/WO-CLI-1")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], "closed");
        // A refused office call is an error naming the server's reason.
        let e = cli(&["--device", o, "followup", "WO-CLI-1", "--score", "4"])
            .await
            .unwrap_err();
        assert!(format!("{e:#}").contains("wrong_state"), "{e:#}");
        let _ = std::fs::remove_dir_all(&root);
    }
}

tests::on_each_backend! {
    async fn the_load_generator_runs_and_finds_every_change_on_the_server(backend) {
        let s = TestServer::start(BIN, &backend).await;
        let r = field_cli::bench::run(&field_cli::bench::BenchOptions {
            server: s.url(""),
            admin_user: "admin".into(),
            admin_password: ADMIN_PASSWORD.into(),
            devices: 3,
            jobs: 2,
            edits: 3,
            progress: false,
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e:#}", backend.name()));
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["documents"], 6, "{v}");
        assert_eq!(
            v["changes"],
            3 * 2 * (1 + 3),
            "an acceptance and 3 edits per job: {v}"
        );
        assert_eq!(
            v["changes_sent"], v["changes"],
            "the devices sent every change: {v}"
        );
        assert_eq!(v["server_holds_every_change"], true, "{v}");
        assert_eq!(v["round_trips_per_sync"], 1.0, "{v}");
        assert!(v["sync_latency_ms"]["p50"].as_f64().unwrap() > 0.0);
    }
}
