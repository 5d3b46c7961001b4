//! `GET /v1/kpi/trends`: the daily figures per day, ISO week or calendar month of a range,
//! JSON or CSV.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use time::{Date, Duration};

use super::http::{csv_download, wants_csv};
use super::load::load;
use super::range::parse_date;
use super::trends::{trend, Period};
use super::{day_of, DateRange, KpiError};
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// `day`, `week` (ISO weeks, Monday to Sunday) or `month` (calendar months).
    #[param(inline, value_type = Period)]
    pub period: String,
    /// First day, `YYYY-MM-DD` (UTC). Default: the first day of the 30 days (`day`), 12 ISO
    /// weeks (`week`, from a Monday) or 12 calendar months (`month`, from a 1st) that end
    /// with the period holding `to`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive, `YYYY-MM-DD`; default: today (service time). At most 366 days
    /// after `from`.
    #[param(format = Date)]
    pub to: Option<String>,
    pub region: Option<String>,
    /// `json` (default) or `csv` (a spreadsheet-ready download).
    pub format: Option<String>,
}

/// The figures of the daily series (volume, type distribution, completions and resolution
/// rate, satisfaction, first-time fix, repeat-fault rate) per day, ISO week or calendar month
/// of a range. Periods the range cuts are cut too, and say which days they cover.
#[utoipa::path(get, path = "/v1/kpi/trends", tag = "board", operation_id = "kpi_trends",
    params(TrendQuery), security(("bearer_jwt" = [])),
    responses(
        (status = 200, description = "One point per period, oldest first: `period` (`2026-03-01`, `2026-W09` or \
            `2026-03`), `from`, `to`, `days`, `region` and the figures (`format=csv`: the same as CSV, one line per period).",
            content((Vec<Object> = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`bad_query`: a period other than day, week or month, a malformed date, from \
            after to, over 366 days, or an unknown format.", body = ErrorBody),
        (status = 401, description = "`unauthorized` or `token_expired`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: technicians, or a region not the dispatcher's.", body = ErrorBody),
    ))]
pub async fn trends(
    state: web::Data<AppState>,
    user: AuthUser,
    q: web::Query<TrendQuery>,
) -> Result<HttpResponse, ApiError> {
    let period: Period = q
        .period
        .parse()
        .map_err(|e: KpiError| ApiError::bad("bad_query", e.to_string()))?;
    let csv = wants_csv(q.format.as_deref())?;
    let region = q.region.as_deref();
    let loaded = load(&state, &user, region, |now| {
        trend_range(now, period, q.from.as_deref(), q.to.as_deref())
    })
    .await?;
    let points = trend(&loaded.inputs(), &loaded.range, period, region);
    if csv {
        let r = loaded.range;
        let name = format!("kpi-{period}-{}-{}.csv", r.from, r.to);
        return Ok(csv_download(&name, super::csv::trend_csv(&points)));
    }
    Ok(HttpResponse::Ok().json(points))
}

/// The range of a trend: `from` (default: the start of the default span, [`default_start`])
/// to `to` (default: the service day of `now`).
fn trend_range(
    now: i64,
    period: Period,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<DateRange, KpiError> {
    let end = match to {
        Some(to) => parse_date("to", to)?,
        None => day_of(now).unwrap_or(Date::MIN),
    };
    let start = match from {
        Some(from) => parse_date("from", from)?,
        None => default_start(period, end),
    };
    DateRange::new(start, end)
}

/// 30 days, 12 ISO weeks or 12 calendar months ending with the period holding `end`; never
/// more than `MAX_RANGE_DAYS` days (12 months from a 1st are at most 366).
fn default_start(period: Period, end: Date) -> Date {
    match period {
        Period::Day => end.saturating_sub(Duration::days(29)),
        Period::Week => {
            let monday = end.saturating_sub(Duration::days(i64::from(
                end.weekday().number_days_from_monday(),
            )));
            monday.saturating_sub(Duration::weeks(11))
        }
        Period::Month => {
            let (mut year, mut month) = (end.year(), end.month());
            for _ in 0..11 {
                month = month.previous();
                if month == time::Month::December {
                    year -= 1;
                }
            }
            Date::from_calendar_date(year, month, 1).unwrap_or(end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn default_ranges_end_today_and_start_on_a_period_boundary() {
        let end = date!(2026 - 11 - 30); // a Monday
        assert_eq!(default_start(Period::Day, end), date!(2026 - 11 - 01));
        assert_eq!(default_start(Period::Week, end), date!(2026 - 09 - 14));
        assert_eq!(default_start(Period::Month, end), date!(2025 - 12 - 01));
        let sunday = date!(2026 - 03 - 08);
        assert_eq!(default_start(Period::Week, sunday), date!(2025 - 12 - 15));
        // Twelve months of a leap year: 366 days, still a valid range.
        let r = DateRange {
            from: default_start(Period::Month, date!(2028 - 12 - 31)),
            to: date!(2028 - 12 - 31),
        };
        assert_eq!(r.days().count(), 366);
    }

    #[test]
    fn an_explicit_range_is_checked_as_everywhere_else() {
        let now = 1_772_323_200_000; // 2026-03-01
        let r = trend_range(now, Period::Week, None, None).unwrap();
        assert_eq!(
            (r.from, r.to),
            (date!(2025 - 12 - 08), date!(2026 - 03 - 01))
        );
        // `from` alone: up to today.
        let r = trend_range(now, Period::Month, Some("2026-01-15"), None).unwrap();
        assert_eq!(
            (r.from, r.to),
            (date!(2026 - 01 - 15), date!(2026 - 03 - 01))
        );
        let err = trend_range(now, Period::Day, Some("2025-01-01"), Some("2026-01-02"));
        assert_eq!(
            err,
            Err(KpiError::TooLong {
                days: 367,
                max: 366
            })
        );
        let err = trend_range(now, Period::Day, Some("2026-03-02"), None);
        assert!(matches!(err, Err(KpiError::Reversed { .. })), "{err:?}");
        let err = trend_range(now, Period::Month, None, Some("2026-02-30")).unwrap_err();
        assert!(
            matches!(err, KpiError::BadDate { field: "to", .. }),
            "{err:?}"
        );
    }
}
