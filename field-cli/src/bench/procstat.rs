//! CPU time and memory of processes, read from `/proc` (Linux): the server's (`--server-pid`),
//! the load generator's own, and the whole machine's, so a run shows who used the cores.

use anyhow::{anyhow, Context};
use serde::Serialize;

use super::report::{ratio, round};

/// Clock ticks per second, the unit of the CPU times in `/proc/PID/stat` (`_SC_CLK_TCK`).
fn ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line, in clock ticks. The command
/// name (field 2) may hold spaces and parentheses, so the fields are counted after its last `)`.
pub fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `Key:   123 kB` line of `/proc/PID/status`, in KiB.
pub fn status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// Busy ticks of all cores (user, nice, system, irq, softirq, steal) from `/proc/stat`.
pub fn machine_busy_ticks(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    Some([0, 1, 2, 5, 6, 7].iter().filter_map(|i| v.get(*i)).sum())
}

/// A process whose CPU time and memory the bench reads (`self` for the load generator).
#[derive(Debug, Clone)]
pub struct Proc {
    dir: String,
    what: String,
}

impl Proc {
    /// The server process; fails now, with the reason, if `/proc/PID` cannot be read.
    pub fn server(pid: u32) -> anyhow::Result<Proc> {
        let p = Proc {
            dir: format!("/proc/{pid}"),
            what: format!("server process {pid}"),
        };
        p.cpu_ms().with_context(|| {
            format!("--server-pid {pid}: is the server running, on this machine?")
        })?;
        Ok(p)
    }

    /// The bench's own process.
    pub fn this() -> Proc {
        Proc {
            dir: "/proc/self".into(),
            what: "the bench process".into(),
        }
    }

    fn read(&self, file: &str) -> anyhow::Result<String> {
        std::fs::read_to_string(format!("{}/{file}", self.dir))
            .with_context(|| format!("reading {}/{file} of {}", self.dir, self.what))
    }

    /// CPU time used so far (all threads, user and system), in milliseconds.
    pub fn cpu_ms(&self) -> anyhow::Result<f64> {
        let ticks = stat_cpu_ticks(&self.read("stat")?)
            .ok_or_else(|| anyhow!("{}/stat of {}: unexpected format", self.dir, self.what))?;
        Ok(ticks as f64 * 1000.0 / ticks_per_second() as f64)
    }

    /// Peak (`VmHWM`) and current (`VmRSS`) resident memory, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<(u64, u64)> {
        let status = self.read("status")?;
        let get = |key| {
            status_kib(&status, key)
                .ok_or_else(|| anyhow!("{}/status of {}: no {key}", self.dir, self.what))
        };
        Ok((get("VmHWM")?, get("VmRSS")?))
    }
}

/// Busy CPU time of the whole machine so far, in milliseconds (0 when unreadable: the figure
/// derived from it is informative only).
pub fn machine_busy_ms() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| machine_busy_ticks(&s))
        .map(|t| t as f64 * 1000.0 / ticks_per_second() as f64)
        .unwrap_or(0.0)
}

/// CPU readings at the start of a measured phase.
pub struct CpuWindow {
    server: Option<(Proc, f64)>,
    this: (Proc, f64),
    machine: f64,
}

/// The server's share of a measured phase, as the JSON line reports it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ServerFigures {
    /// Server CPU time (user + system, all threads) over the phase.
    pub server_cpu_ms: Option<f64>,
    /// `server_cpu_ms / changes` of the phase.
    pub server_cpu_ms_per_change: Option<f64>,
    /// Server cores busy on average over the phase (`server_cpu_ms / wall`).
    pub server_cpu_cores: Option<f64>,
    /// The server's peak resident memory so far (`VmHWM`), MiB.
    pub server_peak_rss_mib: Option<f64>,
    /// The server's resident memory at the end of the phase (`VmRSS`), MiB.
    pub server_rss_mib: Option<f64>,
    /// The bench's own CPU time over the phase (devices, HTTP client, bookkeeping).
    pub load_cpu_ms: f64,
    /// Bench cores busy on average over the phase.
    pub load_cpu_cores: f64,
    /// CPU time of every other process on the machine over the phase (other builds, the
    /// database server when it is a separate process).
    pub other_cpu_ms: f64,
}

impl CpuWindow {
    pub fn start(server: Option<&Proc>) -> anyhow::Result<CpuWindow> {
        let this = Proc::this();
        let server = match server {
            Some(p) => Some((p.clone(), p.cpu_ms()?)),
            None => None,
        };
        Ok(CpuWindow {
            this: (this.clone(), this.cpu_ms()?),
            server,
            machine: machine_busy_ms(),
        })
    }

    /// Ends the window: `changes` and `wall_seconds` of the phase it measured.
    pub fn finish(self, changes: usize, wall_seconds: f64) -> anyhow::Result<ServerFigures> {
        let load = self.this.0.cpu_ms()? - self.this.1;
        let machine = machine_busy_ms() - self.machine;
        let mut f = ServerFigures {
            load_cpu_ms: round(load, 1),
            load_cpu_cores: ratio(load, wall_seconds * 1000.0, 3),
            ..ServerFigures::default()
        };
        let mut server_ms = 0.0;
        if let Some((p, before)) = self.server {
            server_ms = p.cpu_ms()? - before;
            let (peak, now) = p.rss_kib()?;
            f.server_cpu_ms = Some(round(server_ms, 1));
            f.server_cpu_ms_per_change = Some(ratio(server_ms, changes as f64, 4));
            f.server_cpu_cores = Some(ratio(server_ms, wall_seconds * 1000.0, 3));
            f.server_peak_rss_mib = Some(round(peak as f64 / 1024.0, 1));
            f.server_rss_mib = Some(round(now as f64 / 1024.0, 1));
        }
        f.other_cpu_ms = round((machine - load - server_ms).max(0.0), 1);
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_after_the_command_name() {
        // A command name with spaces and a parenthesis must not shift the fields.
        let stat = "4242 (field (srv) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 9 0 100 1000 200";
        assert_eq!(stat_cpu_ticks(stat), Some(175));
        assert_eq!(stat_cpu_ticks("garbage"), None);
        assert_eq!(stat_cpu_ticks("1 (x) S 1 2"), None);
    }

    #[test]
    fn rss_lines_are_read_in_kib() {
        let status =
            "Name:\tfield-server\nVmPeak:\t  900 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\n";
        assert_eq!(status_kib(status, "VmHWM"), Some(81234));
        assert_eq!(status_kib(status, "VmRSS"), Some(70000));
        assert_eq!(status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn machine_busy_leaves_out_idle_and_iowait() {
        let s = "cpu  10 1 5 1000 50 2 3 4 0 0\ncpu0 5 0 2 500 25 1 1 2 0 0\n";
        assert_eq!(machine_busy_ticks(s), Some(10 + 1 + 5 + 2 + 3 + 4));
    }

    #[test]
    fn this_process_has_cpu_time_and_memory() {
        let p = Proc::this();
        assert!(p.cpu_ms().unwrap_or(-1.0) >= 0.0);
        let (peak, now) = p.rss_kib().unwrap_or((0, 0));
        assert!(peak >= now && now > 0, "{peak} {now}");
    }

    #[test]
    fn a_missing_server_process_is_a_clear_error() {
        // pid_max is at most 2^22 on Linux: this pid never exists.
        let e = Proc::server(u32::MAX).unwrap_err();
        assert!(format!("{e:#}").contains("--server-pid"), "{e:#}");
    }
}
