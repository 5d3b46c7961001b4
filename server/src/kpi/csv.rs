//! KPI figures as CSV, spreadsheet-ready: RFC 4180 records, formulas defused.

use super::http::DailyRow;
use super::Rate;

/// The daily rows as CSV: one line per day; rates as fractions (empty when nothing was
/// counted), every service type and clock rule seen in the range as its own column.
pub(super) fn daily_csv(rows: &[DailyRow]) -> String {
    use std::collections::BTreeSet;
    let types: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.summary.by_type.keys().map(String::as_str))
        .collect();
    let rules: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.breaches.keys().map(String::as_str))
        .collect();
    let rate = |r: &Rate| r.rate.map(|x| x.to_string()).unwrap_or_default();
    let mut head: Vec<String> = [
        "date",
        "region",
        "volume",
        "completed",
        "resolution_rate",
        "satisfaction_rate",
        "satisfaction_count",
        "first_time_fix_rate",
        "first_time_fix_count",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    head.extend(types.iter().map(|t| format!("volume_{t}")));
    head.extend(rules.iter().map(|r| format!("breaches_{r}")));
    let mut out = csv_line(&head);
    for r in rows {
        let s = &r.summary;
        let mut line = vec![
            s.date.clone(),
            s.region.clone().unwrap_or_default(),
            s.volume.to_string(),
            s.completed.to_string(),
            rate(&s.resolution_rate),
            rate(&s.satisfaction),
            s.satisfaction.denominator.to_string(),
            rate(&s.first_time_fix),
            s.first_time_fix.denominator.to_string(),
        ];
        line.extend(
            types
                .iter()
                .map(|t| s.by_type.get(*t).copied().unwrap_or(0).to_string()),
        );
        line.extend(
            rules
                .iter()
                .map(|x| r.breaches.get(*x).copied().unwrap_or(0).to_string()),
        );
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
    use super::csv_line;

    #[test]
    fn csv_fields_are_quoted_when_needed_and_formulas_are_defused() {
        let f = |v: &[&str]| csv_line(&v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(f(&["2026-11-30", "north", "3"]), "2026-11-30,north,3\r\n");
        assert_eq!(f(&["a,b", "say \"hi\""]), "\"a,b\",\"say \"\"hi\"\"\"\r\n");
        assert_eq!(f(&["=SUM(A1)", "-0.5", "@x"]), "'=SUM(A1),-0.5,'@x\r\n");
    }
}
