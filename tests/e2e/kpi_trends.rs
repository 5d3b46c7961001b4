//! The repeat-fault rate and the weekly and monthly KPI trends through the real server, on a
//! manual clock: a seeded month with exact figures, the ISO week boundary (Sunday to Monday),
//! the month boundary, the repeat window's edge (a return after 29 days counts, after 31 days
//! does not), CSV, and bad input.
//!
//! The data set, around the first day M of a 31-day month (P = M - 1, W = the first Monday at
//! least a week after M; one technician, every job completed on the day it names):
//!
//! | wo | created | serial | completed | follow-up |
//! |----|---------|--------|-----------|-----------|
//! | 1 | P 10:00, repair | SN-R1 | P 11:00, fixed | M 12:00, score 3 |
//! | 2 | M 10:00, repair | SN-R2 | M 11:00, fixed | M+1 12:00, score 5 |
//! | 5 | W-1 (Sunday) 23:00, repair | none | W-1 23:30, not fixed | |
//! | 6 | W (Monday) 00:30, repair | none | open | |
//! | 3 | M+28 11:00 (29 days after 1's completion), repair | ` sn-r1` | open | |
//! | 4 | M+31 11:00 (31 days after 2's completion), repair | SN-R2 | open | |
//!
//! Read at M+31 12:00: 1's fault came back (3, 29 days later; the serial compared trimmed and
//! upper-cased); 2's did not within 30 days (4 came 31 days later) and its window is over.

use clap::Parser;
use field_cli::cli::{run, Cli};
use serde_json::{json, Value};
use sync_core::workorder::Role;
use tests::{Device, TestServer};

use crate::BIN;

const SKILL: &str = "washing-machines";
const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day since 1970-01-01: (year, month, day).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

fn ymd(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn month_label(days: i64) -> String {
    let (y, m, _) = civil(days);
    format!("{y:04}-{m:02}")
}

/// Monday is 0 (1970-01-01 was a Thursday).
fn weekday(days: i64) -> i64 {
    (days + 3).rem_euclid(7)
}

/// `YYYY-Www`: the ISO week, numbered in the year of its Thursday.
fn iso_week_label(days: i64) -> String {
    let thursday = days - weekday(days) + 3;
    let (year, _, _) = civil(thursday);
    let week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    format!("{year:04}-W{week:02}")
}

#[test]
fn the_calendar_helpers_agree_with_known_dates() {
    assert_eq!(ymd(0), "1970-01-01");
    assert_eq!(days_from_civil(2026, 3, 1), 20_513);
    assert_eq!(ymd(20_513), "2026-03-01");
    assert_eq!(weekday(days_from_civil(2026, 11, 30)), 0, "a Monday");
    assert_eq!(iso_week_label(days_from_civil(2026, 3, 1)), "2026-W09");
    assert_eq!(iso_week_label(days_from_civil(2027, 1, 3)), "2026-W53");
    assert_eq!(iso_week_label(days_from_civil(2027, 1, 4)), "2027-W01");
}

async fn company(s: &TestServer) -> String {
    let admin = s.admin_token().await;
    s.add_user(&admin, "tech-a", "technician", &["north"], &[SKILL])
        .await;
    s.add_user(&admin, "agent-1", "agent", &[], &[]).await;
    s.add_user(&admin, "mgr-1", "manager", &[], &[]).await;
    s.add_user(&admin, "disp-e", "dispatcher", &["east"], &[])
        .await;
    admin
}

/// Moves the manual clock to `t` (ms), which must not be in its past.
async fn advance_to(s: &TestServer, admin: &str, t: i64) {
    let now = s.clock(admin).await;
    assert!(t >= now, "the data set runs forward");
    let by = t - now;
    if by > 0 {
        // At most 9 digits a part: whole days, then the rest.
        s.advance(admin, &format!("{}d {}ms", by / DAY, by % DAY))
            .await;
    }
}

/// A repair for `serial` (empty: none recorded), created now by the agent.
async fn repair(s: &TestServer, agent: &str, id: &str, serial: &str) {
    s.create_order_with(
        agent,
        id,
        "north",
        &json!({"product": {"model": "WM-800", "serial": serial, "purchase_date": ""}}),
    )
    .await;
}

/// The technician takes the job and completes it at `t` (the service clock is moved there).
async fn complete(s: &TestServer, admin: &str, a: &mut Device, id: &str, t: i64, fixed: bool) {
    a.sync(s).await.unwrap();
    let accepted = s.clock(admin).await;
    a.act(id, |wo, me| wo.accept(me, accepted).unwrap());
    advance_to(s, admin, t).await;
    a.act(id, |wo, me| {
        wo.set_appointment(me, t, t + HOUR, None, t).unwrap();
        wo.on_site(me, t).unwrap();
        wo.diagnose(me, "blocked pump", &["clean the pump"], t)
            .unwrap();
        wo.start_work(me, t).unwrap();
        wo.record_test(me, fixed, "drain test", t).unwrap();
        wo.complete(me, fixed, t).unwrap();
    });
    a.sync(s).await.unwrap();
}

async fn follow_up(s: &TestServer, agent: &str, id: &str, score: u8) {
    let r = s
        .post(
            agent,
            &format!("/v1/workorders/{id}/followup"),
            &json!({ "score": score }),
        )
        .await;
    assert_eq!(r.status(), 200, "follow-up of {id}");
}

async fn json_of(s: &TestServer, token: &str, path: &str) -> Value {
    let r = s.get(token, path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.json().await.unwrap()
}

fn rate(v: &Value) -> (u64, u64, Value) {
    (
        v["numerator"].as_u64().unwrap(),
        v["denominator"].as_u64().unwrap(),
        v["rate"].clone(),
    )
}

/// The seeded month; returns (M, W) as days since the epoch.
async fn seed(s: &TestServer, admin: &str) -> (i64, i64) {
    let today = s.clock(admin).await.div_euclid(DAY);
    let m = (today + 2..)
        .find(|d| {
            let (_, month, day) = civil(*d);
            day == 1 && [1, 3, 5, 7, 8, 10, 12].contains(&month)
        })
        .unwrap();
    let p = m - 1;
    let w = (m + 7..).find(|d| weekday(*d) == 0).unwrap();
    let agent = s.user_token("agent-1").await;
    let mut a = s.device("tech-a", Role::Technician, "phone-a").await;

    advance_to(s, admin, p * DAY + 10 * HOUR).await;
    repair(s, &agent, "WO-1", "SN-R1").await;
    complete(s, admin, &mut a, "WO-1", p * DAY + 11 * HOUR, true).await;
    advance_to(s, admin, m * DAY + 10 * HOUR).await;
    repair(s, &agent, "WO-2", "SN-R2").await;
    complete(s, admin, &mut a, "WO-2", m * DAY + 11 * HOUR, true).await;
    advance_to(s, admin, m * DAY + 12 * HOUR).await;
    follow_up(s, &agent, "WO-1", 3).await;
    advance_to(s, admin, (m + 1) * DAY + 12 * HOUR).await;
    follow_up(s, &agent, "WO-2", 5).await;
    advance_to(s, admin, (w - 1) * DAY + 23 * HOUR).await;
    repair(s, &agent, "WO-5", "").await;
    complete(
        s,
        admin,
        &mut a,
        "WO-5",
        (w - 1) * DAY + 23 * HOUR + 30 * MIN,
        false,
    )
    .await;
    advance_to(s, admin, w * DAY + 30 * MIN).await;
    repair(s, &agent, "WO-6", "").await;
    advance_to(s, admin, (m + 28) * DAY + 11 * HOUR).await;
    repair(s, &agent, "WO-3", " sn-r1").await;
    advance_to(s, admin, (m + 31) * DAY + 11 * HOUR).await;
    repair(s, &agent, "WO-4", "SN-R2").await;
    advance_to(s, admin, (m + 31) * DAY + 12 * HOUR).await;
    (m, w)
}

tests::on_each_backend! {
    async fn repeat_faults_and_weekly_and_monthly_trends_on_a_seeded_month(backend) {
        let s = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_CLOCK", "manual")]).await;
        let admin = company(&s).await;
        let (m, w) = seed(&s, &admin).await;
        let p = m - 1;
        let mgr = s.user_token("mgr-1").await;
        let (from, to) = (ymd(p), ymd(m + 31));

        // The report: 1 came back after 29 days, 2 not within 30; 5 has no serial.
        let k = json_of(&s, &mgr, &format!("/v1/kpi?from={from}&to={to}")).await;
        assert_eq!(k["work_orders"], 6, "{k}");
        assert_eq!(rate(&k["repeat_fault_rate"]), (1, 2, json!(0.5)), "{k}");
        assert_eq!(k["repeat_fault_rate"]["target"], Value::Null);
        assert_eq!(k["repeat_window_days"], 30.0);
        assert_eq!(rate(&k["complaint_rate"]), (0, 6, json!(0.0)));

        // Months: P alone (the range starts on the last day of its month), all of M's
        // month, and the first day of the next.
        let t = json_of(&s, &mgr, &format!("/v1/kpi/trends?period=month&from={from}&to={to}")).await;
        let t = t.as_array().unwrap();
        assert_eq!(t.len(), 3, "{t:?}");
        let heads: Vec<(String, String, String, u64)> = t
            .iter()
            .map(|x| {
                (
                    x["period"].as_str().unwrap().to_owned(),
                    x["from"].as_str().unwrap().to_owned(),
                    x["to"].as_str().unwrap().to_owned(),
                    x["days"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            heads,
            [
                (month_label(p), ymd(p), ymd(p), 1),
                (month_label(m), ymd(m), ymd(m + 30), 31),
                (month_label(m + 31), ymd(m + 31), ymd(m + 31), 1),
            ]
        );
        // P: 1 created, completed, fixed first time, and back within the window.
        assert_eq!(t[0]["volume"], 1);
        assert_eq!(t[0]["completed"], 1);
        assert_eq!(rate(&t[0]["resolution_rate"]), (1, 1, json!(1.0)));
        assert_eq!(rate(&t[0]["first_time_fix"]), (1, 1, json!(1.0)));
        assert_eq!(rate(&t[0]["repeat_fault_rate"]), (1, 1, json!(1.0)));
        assert_eq!(rate(&t[0]["satisfaction"]), (0, 0, Value::Null));
        assert_eq!(t[0]["by_type"]["repair"], 1);
        // M's month: 2, 5, 6, 3 created; 2 and 5 completed (5 not fixed); both follow-ups
        // (3 and 5) recorded; 2 did not come back within 30 days, 5 has no serial.
        assert_eq!(t[1]["volume"], 4);
        assert_eq!(t[1]["completed"], 2);
        assert_eq!(rate(&t[1]["resolution_rate"]), (1, 2, json!(0.5)));
        assert_eq!(rate(&t[1]["first_time_fix"]), (1, 2, json!(0.5)));
        assert_eq!(rate(&t[1]["satisfaction"]), (1, 2, json!(0.5)));
        assert_eq!(rate(&t[1]["repeat_fault_rate"]), (0, 1, json!(0.0)));
        // The next month's first day: 4 created, nothing completed.
        assert_eq!((&t[2]["volume"], &t[2]["completed"]), (&json!(1), &json!(0)));
        assert_eq!(rate(&t[2]["repeat_fault_rate"]), (0, 0, Value::Null));

        // Weeks: Sunday W-1 and Monday W fall in two ISO weeks.
        let (sun, mon) = (ymd(w - 1), ymd(w));
        let wk = json_of(&s, &mgr, &format!("/v1/kpi/trends?period=week&from={sun}&to={mon}")).await;
        let wk = wk.as_array().unwrap();
        assert_eq!(wk.len(), 2, "{wk:?}");
        assert_eq!(wk[0]["period"], iso_week_label(w - 1));
        assert_eq!(wk[1]["period"], iso_week_label(w));
        assert_ne!(wk[0]["period"], wk[1]["period"]);
        assert_eq!((&wk[0]["from"], &wk[0]["to"], &wk[0]["days"]), (&json!(sun), &json!(sun), &json!(1)));
        assert_eq!((&wk[1]["from"], &wk[1]["to"], &wk[1]["days"]), (&json!(mon), &json!(mon), &json!(1)));
        assert_eq!((&wk[0]["volume"], &wk[0]["completed"]), (&json!(1), &json!(1)));
        assert_eq!(rate(&wk[0]["resolution_rate"]), (0, 1, json!(0.0)));
        assert_eq!(rate(&wk[0]["repeat_fault_rate"]), (0, 0, Value::Null));
        assert_eq!((&wk[1]["volume"], &wk[1]["completed"]), (&json!(1), &json!(0)));
        // A whole week from its Monday holds W's work orders only.
        let whole = json_of(&s, &mgr, &format!("/v1/kpi/trends?period=week&from={mon}&to={}", ymd(w + 6))).await;
        assert_eq!(whole.as_array().unwrap().len(), 1);
        assert_eq!(whole[0]["days"], 7);

        // By day: the same figures as the daily summary, repeat-fault rate included.
        let days = json_of(&s, &mgr, &format!("/v1/kpi/trends?period=day&from={from}&to={}", ymd(m))).await;
        let daily = json_of(&s, &mgr, &format!("/v1/kpi/daily?from={from}&to={}", ymd(m))).await;
        assert_eq!(days.as_array().unwrap().len(), 2);
        for i in 0..2 {
            assert_eq!(days[i]["period"], daily[i]["date"]);
            for f in ["volume", "completed", "resolution_rate", "satisfaction", "first_time_fix", "repeat_fault_rate", "by_type"] {
                assert_eq!(days[i][f], daily[i][f], "{f} on day {i}");
            }
        }
        assert_eq!(rate(&daily[0]["repeat_fault_rate"]), (1, 1, json!(1.0)));

        // CSV, one line per month.
        let r = s.get(&mgr, &format!("/v1/kpi/trends?period=month&from={from}&to={to}&format=csv")).await;
        assert_eq!(r.status(), 200);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
        let disposition = r.headers()["content-disposition"].to_str().unwrap().to_owned();
        assert!(disposition.contains(&format!("kpi-month-{from}-{to}.csv")), "{disposition}");
        let text = r.text().await.unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "period,from,to,days,region,volume,completed,resolution_rate,satisfaction_rate,satisfaction_count,\
             first_time_fix_rate,first_time_fix_count,repeat_fault_rate,repeat_fault_count,volume_complaint,\
             volume_inspection,volume_install,volume_maintenance,volume_repair"
        );
        assert_eq!(lines[1], format!("{},{p0},{p0},1,,1,1,1,,0,1,1,1,1,0,0,0,0,1", month_label(p), p0 = ymd(p)));
        assert_eq!(
            lines[2],
            format!("{},{},{},31,,4,2,0.5,0.5,2,0.5,2,0,1,0,0,0,0,4", month_label(m), ymd(m), ymd(m + 30))
        );
        assert_eq!(lines.len(), 4);
        let daily_csv = s.get(&mgr, &format!("/v1/kpi/daily?from={from}&to={from}&format=csv")).await.text().await.unwrap();
        assert!(
            daily_csv.starts_with("date,region,volume,completed,resolution_rate,satisfaction_rate,satisfaction_count,\
             first_time_fix_rate,first_time_fix_count,repeat_fault_rate,repeat_fault_count,"),
            "{daily_csv}"
        );

        // Another region sees nothing of north's.
        let east = s.user_token("disp-e").await;
        let e = json_of(&s, &east, &format!("/v1/kpi/trends?period=month&from={from}&to={to}")).await;
        assert!(e.as_array().unwrap().iter().all(|x| x["volume"] == 0 && x["completed"] == 0), "{e}");
    }
}

tests::on_each_backend! {
    async fn bad_trend_queries_are_refused_with_clear_messages(backend) {
        let s = TestServer::start_with_env(BIN, &backend, &[("FIELDSYNC_CLOCK", "manual")]).await;
        let _admin = company(&s).await;
        let mgr = s.user_token("mgr-1").await;
        for (q, needle) in [
            ("period=year", "period \"year\" is not one of day, week, month"),
            ("period=Week", "period \"Week\""),
            ("", "period"),
            ("period=week&from=2026-02-30", "from date \"2026-02-30\""),
            ("period=week&to=2026-13-01", "to date \"2026-13-01\""),
            ("period=month&from=2026-03-02&to=2026-03-01", "`from` must not be after `to`"),
            ("period=day&from=2025-01-01&to=2026-01-02", "the range covers 367 days"),
            ("period=week&format=xml", "format \"xml\""),
            ("period=week&granularity=day", "granularity"),
        ] {
            let r = s.get(&mgr, &format!("/v1/kpi/trends?{q}")).await;
            assert_eq!(r.status(), 400, "{q}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["error"], "bad_query", "{q}: {body}");
            let message = body["message"].as_str().unwrap();
            assert!(message.contains(needle), "{q}: {message}");
        }
        // The longest range is fine; twelve months by default.
        let ok = s.get(&mgr, "/v1/kpi/trends?period=day&from=2025-01-01&to=2026-01-01").await;
        assert_eq!(ok.status(), 200);
        let months = json_of(&s, &mgr, "/v1/kpi/trends?period=month").await;
        assert_eq!(months.as_array().unwrap().len(), 12);
        let weeks = json_of(&s, &mgr, "/v1/kpi/trends?period=week").await;
        assert_eq!(weeks.as_array().unwrap().len(), 12);
        assert!(weeks.as_array().unwrap().iter().all(|w| w["days"].as_u64().unwrap() <= 7));

        // Technicians do not read KPIs; a dispatcher reads only their regions.
        let tech = s.user_token("tech-a").await;
        assert_eq!(s.get(&tech, "/v1/kpi/trends?period=week").await.status(), 403);
        let east = s.user_token("disp-e").await;
        assert_eq!(s.get(&east, "/v1/kpi/trends?period=week&region=north").await.status(), 403);
        // Without a token: 401.
        assert_eq!(s.get("", "/v1/kpi/trends?period=week").await.status(), 401);

        // field-cli: the trends and the daily summaries, for people and as JSON; a bad period
        // is refused before any request, a bad date by the server, each in one line.
        let dir = std::env::temp_dir().join(format!("fieldsync-kpi-{}", uuid::Uuid::new_v4().simple()));
        let d = dir.display().to_string();
        let url = s.url("");
        cli(&["--device", &d, "login", "--server", &url, "--user", "mgr-1", "--password", "mgr-1-password"])
            .await
            .unwrap();
        cli(&["--device", &d, "kpi", "trends", "--period", "week"]).await.unwrap();
        cli(&["--device", &d, "--json", "kpi", "trends", "--period", "month", "--region", "north"])
            .await
            .unwrap();
        cli(&["--device", &d, "kpi", "daily", "--from", "2026-03-01", "--to", "2026-03-07"])
            .await
            .unwrap();
        cli(&["--device", &d, "kpi", "--from", "2026-03-01"]).await.unwrap();
        let err = cli(&["--device", &d, "kpi", "trends", "--period", "year"]).await.unwrap_err();
        assert_eq!(err.to_string(), "--period \"year\": use day, week or month");
        let err = cli(&["--device", &d, "kpi", "trends", "--period", "week", "--to", "2026-02-30"])
            .await
            .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("to date \"2026-02-30\""), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        let help = Cli::try_parse_from(["field-cli", "kpi", "trends", "--help"]).unwrap_err().to_string();
        assert!(help.contains("field-cli kpi trends --period week --from"), "{help}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

async fn cli(args: &[&str]) -> anyhow::Result<()> {
    let mut all = vec!["field-cli"];
    all.extend_from_slice(args);
    run(Cli::try_parse_from(all)?).await
}
