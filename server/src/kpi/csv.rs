//! KPI figures as CSV, spreadsheet-ready: RFC 4180 records, formulas defused.

use std::collections::BTreeSet;

use super::http::DailyRow;
use super::{Figures, Rate, TrendPoint};

/// The columns every series has after its own leading ones: rates as fractions (empty when
/// nothing was counted) with their denominators.
const FIGURE_COLUMNS: [&str; 9] = [
    "volume",
    "completed",
    "resolution_rate",
    "satisfaction_rate",
    "satisfaction_count",
    "first_time_fix_rate",
    "first_time_fix_count",
    "repeat_fault_rate",
    "repeat_fault_count",
];

fn figure_fields(f: &Figures) -> Vec<String> {
    let rate = |r: &Rate| r.rate.map(|x| x.to_string()).unwrap_or_default();
    vec![
        f.volume.to_string(),
        f.completed.to_string(),
        rate(&f.resolution_rate),
        rate(&f.satisfaction),
        f.satisfaction.denominator.to_string(),
        rate(&f.first_time_fix),
        f.first_time_fix.denominator.to_string(),
        rate(&f.repeat_fault_rate),
        f.repeat_fault_rate.denominator.to_string(),
    ]
}

/// Every service type seen in the series, for one `volume_<type>` column each.
fn types<'a>(figures: impl Iterator<Item = &'a Figures>) -> BTreeSet<&'a str> {
    figures
        .flat_map(|f| f.by_type.keys().map(String::as_str))
        .collect()
}

fn type_fields(f: &Figures, types: &BTreeSet<&str>) -> Vec<String> {
    types
        .iter()
        .map(|t| f.by_type.get(*t).copied().unwrap_or(0).to_string())
        .collect()
}

fn head(lead: &[&str], types: &BTreeSet<&str>) -> Vec<String> {
    lead.iter()
        .chain(FIGURE_COLUMNS.iter())
        .map(|s| (*s).to_owned())
        .chain(types.iter().map(|t| format!("volume_{t}")))
        .collect()
}

/// The daily rows as CSV: one line per day, every service type and clock rule seen in the
/// range as its own column.
pub(super) fn daily_csv(rows: &[DailyRow]) -> String {
    let types = types(rows.iter().map(|r| &r.summary.figures));
    let rules: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.breaches.keys().map(String::as_str))
        .collect();
    let mut head = head(&["date", "region"], &types);
    head.extend(rules.iter().map(|r| format!("breaches_{r}")));
    let mut out = csv_line(&head);
    for r in rows {
        let s = &r.summary;
        let mut line = vec![s.date.clone(), s.region.clone().unwrap_or_default()];
        line.extend(figure_fields(&s.figures));
        line.extend(type_fields(&s.figures, &types));
        line.extend(
            rules
                .iter()
                .map(|x| r.breaches.get(*x).copied().unwrap_or(0).to_string()),
        );
        out.push_str(&csv_line(&line));
    }
    out
}

/// A trend as CSV: one line per period with the days it covers, every service type seen as
/// its own column.
pub(super) fn trend_csv(points: &[TrendPoint]) -> String {
    let types = types(points.iter().map(|p| &p.figures));
    let mut out = csv_line(&head(&["period", "from", "to", "days", "region"], &types));
    for p in points {
        let mut line = vec![
            p.period.clone(),
            p.from.clone(),
            p.to.clone(),
            p.days.to_string(),
            p.region.clone().unwrap_or_default(),
        ];
        line.extend(figure_fields(&p.figures));
        line.extend(type_fields(&p.figures, &types));
        out.push_str(&csv_line(&line));
    }
    out
}

/// One CSV record (RFC 4180): fields with a comma, quote or line break are quoted. A field
/// that a spreadsheet would read as a formula is prefixed with `'`.
pub(super) fn csv_line(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| {
            let f = if f.starts_with(['=', '+', '-', '@']) && f.parse::<f64>().is_err() {
                format!("'{f}")
            } else {
                f.clone()
            };
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::testdata::*;
    use crate::kpi::{trend, Period};

    #[test]
    fn a_weekly_trend_as_csv() {
        let points = trend(&Known::new().at(now()), &range(), Period::Week, None);
        let text = trend_csv(&points);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "period,from,to,days,region,volume,completed,resolution_rate,satisfaction_rate,\
             satisfaction_count,first_time_fix_rate,first_time_fix_count,repeat_fault_rate,\
             repeat_fault_count,volume_complaint,volume_inspection,volume_install,\
             volume_maintenance,volume_repair"
        );
        assert_eq!(
            lines[1],
            "2026-W09,2026-03-01,2026-03-01,1,,3,2,1,,0,1,2,1,2,1,0,1,0,1"
        );
        assert_eq!(
            lines[2],
            "2026-W10,2026-03-02,2026-03-03,2,,6,3,0.6667,0.6,5,0,3,,0,1,1,1,1,2"
        );
        assert_eq!((lines.len(), lines[3]), (4, ""));
    }

    #[test]
    fn csv_fields_are_quoted_when_needed_and_formulas_are_defused() {
        let f = |v: &[&str]| csv_line(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(f(&["2026-11-30", "north", "3"]), "2026-11-30,north,3\r\n");
        assert_eq!(f(&["a,b", "say \"hi\""]), "\"a,b\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(f(&["=SUM(A1)", "-0.5", "@x"]), "'=SUM(A1),-0.5,'@x\r\n");
    }
}
