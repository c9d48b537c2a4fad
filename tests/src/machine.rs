//! What machine a benchmark ran on, and which cores its parts were pinned to.
//!
//! A figure only means something next to the machine it came from: a benchmark prints the CPU model, the
//! cores it may use and the pinning with every result. Pinning puts the server and the load generator on
//! disjoint cores (`sched_setaffinity`), so the load cannot steal the server's core and the server's CPU
//! time is its own; a thread's mask is inherited by the threads and processes it starts, which is how
//! the server child and the bots' runtime get theirs.

use std::fmt;
use std::str::FromStr;

use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};
use serde::Serialize;

/// A set of CPU numbers, written as the kernel's lists are (`0`, `1-3`, `0,2-3`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CpuList(pub Vec<usize>);

impl CpuList {
    /// The CPUs this thread may run on.
    pub fn allowed() -> std::io::Result<Self> {
        let set = sched_getaffinity(None)?;
        Ok(Self((0..CpuSet::MAX_CPU).filter(|&cpu| set.is_set(cpu)).collect()))
    }

    /// Restricts the calling thread (and what it starts from now on) to these CPUs.
    pub fn pin_this_thread(&self) -> std::io::Result<()> {
        let mut set = CpuSet::new();
        for &cpu in &self.0 {
            set.set(cpu);
        }
        sched_setaffinity(None, &set)?;
        Ok(())
    }

    /// How many CPUs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it names no CPU.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the two share a CPU.
    pub fn overlaps(&self, other: &Self) -> bool {
        self.0.iter().any(|cpu| other.0.contains(cpu))
    }
}

impl FromStr for CpuList {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut cpus = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || format!("{part:?} is not a CPU number or range (e.g. 0, 1-3, 0,2)");
            let (lo, hi) = match part.split_once('-') {
                Some((lo, hi)) => {
                    (lo.trim().parse().map_err(|_| bad())?, hi.trim().parse().map_err(|_| bad())?)
                }
                None => {
                    let cpu: usize = part.parse().map_err(|_| bad())?;
                    (cpu, cpu)
                }
            };
            if lo > hi || hi >= CpuSet::MAX_CPU {
                return Err(bad());
            }
            cpus.extend(lo..=hi);
        }
        cpus.sort_unstable();
        cpus.dedup();
        if cpus.is_empty() {
            return Err("no CPU named".into());
        }
        Ok(Self(cpus))
    }
}

impl fmt::Display for CpuList {
    /// Writes the list in the kernel's compact form, e.g. `0,2-3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        let mut first = true;
        while i < self.0.len() {
            let start = self.0[i];
            let mut end = start;
            while i + 1 < self.0.len() && self.0[i + 1] == end + 1 {
                i += 1;
                end = self.0[i];
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?
            } else {
                write!(f, "{start}-{end}")?
            }
            i += 1;
        }
        Ok(())
    }
}

/// Where the server and the bots run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pinning {
    /// The server process's CPUs, or `None` when not pinned.
    pub server: Option<CpuList>,
    /// The bots' CPUs, or `None` when not pinned.
    pub bots: Option<CpuList>,
}

impl Pinning {
    /// The default: with two or more CPUs allowed, the server on the first and the bots on the rest;
    /// with one, nothing pinned (both share it, and the result says so).
    pub fn default_for(allowed: &CpuList) -> Self {
        Self::choose(allowed, None, None)
    }

    /// The sets asked for, the rest filled in: the server by default on the first allowed CPU when
    /// there are two or more; the bots by default on the allowed CPUs the server does not have (unpinned
    /// when that leaves none, or when the server is not pinned).
    pub fn choose(allowed: &CpuList, server: Option<CpuList>, bots: Option<CpuList>) -> Self {
        let server = server.or_else(|| (allowed.len() >= 2).then(|| CpuList(allowed.0[..1].to_vec())));
        let bots = bots.or_else(|| {
            let server = server.as_ref()?;
            Some(CpuList(allowed.0.iter().copied().filter(|c| !server.0.contains(c)).collect()))
                .filter(|rest| !rest.is_empty())
        });
        Self { server, bots }
    }

    /// Checks that the pinned sets are disjoint and allowed.
    pub fn check(&self, allowed: &CpuList) -> Result<(), String> {
        for (who, set) in [("server", &self.server), ("bots", &self.bots)] {
            if let Some(set) = set
                && let Some(cpu) = set.0.iter().find(|cpu| !allowed.0.contains(cpu))
            {
                return Err(format!(
                    "--{who}-cpus names CPU {cpu}, which this process may not use (allowed: {allowed})"
                ));
            }
        }
        if let (Some(server), Some(bots)) = (&self.server, &self.bots)
            && server.overlaps(bots)
        {
            return Err(format!(
                "--server-cpus {server} and --bot-cpus {bots} overlap; they must be disjoint"
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Pinning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |set: &Option<CpuList>| {
            set.as_ref().map_or_else(|| "unpinned".to_owned(), |s| format!("cpu {s}"))
        };
        write!(f, "server {}, bots {}", side(&self.server), side(&self.bots))
    }
}

/// The machine a result comes from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// CPUs online.
    pub cpus_online: usize,
    /// CPUs this process was allowed to use when it started.
    pub cpus_allowed: CpuList,
    /// The kernel release.
    pub kernel: String,
    /// Where the server and the bots ran.
    pub pinning: Pinning,
}

impl Machine {
    /// Reads the machine's description; `allowed` is the CPU set before any pinning.
    pub fn describe(allowed: CpuList, pinning: Pinning) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name").and_then(|rest| rest.split_once(':')).map(|(_, m)| m.trim())
            })
            .unwrap_or("unknown CPU")
            .to_owned();
        let cpus_online = cpuinfo.lines().filter(|l| l.starts_with("processor")).count().max(1);
        let kernel =
            std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
        Self { cpu_model, cpus_online, cpus_allowed: allowed, kernel, pinning }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {} CPUs online (allowed {}), Linux {}; {}",
            self.cpu_model, self.cpus_online, self.cpus_allowed, self.kernel, self.pinning
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_parse_and_print_like_the_kernel() {
        let list: CpuList = "3, 0-1,1".parse().expect("a valid list");
        assert_eq!(list.0, vec![0, 1, 3]);
        assert_eq!(list.to_string(), "0-1,3");
        assert!("".parse::<CpuList>().is_err());
        assert!("2-1".parse::<CpuList>().is_err());
        assert!("x".parse::<CpuList>().is_err());
    }

    #[test]
    fn default_pinning_gives_the_server_one_core_and_the_bots_the_rest() {
        let p = Pinning::default_for(&CpuList(vec![0, 1, 2, 3]));
        assert_eq!(p.server, Some(CpuList(vec![0])));
        assert_eq!(p.bots, Some(CpuList(vec![1, 2, 3])));
        assert_eq!(Pinning::default_for(&CpuList(vec![5])), Pinning { server: None, bots: None });
        let allowed = CpuList(vec![0, 1]);
        assert!(p.check(&allowed).is_err(), "CPU 2 is not allowed");
        let server_only = Pinning::choose(&CpuList(vec![0, 1, 2]), Some(CpuList(vec![1])), None);
        assert_eq!(server_only.bots, Some(CpuList(vec![0, 2])), "the bots get what the server does not");
        let overlap = Pinning { server: Some(CpuList(vec![0])), bots: Some(CpuList(vec![0, 1])) };
        assert!(overlap.check(&allowed).expect_err("overlapping sets").contains("overlap"));
    }
}
