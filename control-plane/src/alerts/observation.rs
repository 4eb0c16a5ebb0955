//! What the alert engine is told about a node ([`Observation`]), whatever it comes from: a
//! `SERVER_STATUS` the agent sent ([`Observation::from_status`]), the agent's socket opening or
//! closing ([`Observation::online`]), and the metrics sampler's 10 s samples
//! ([`Observation::from_sample`]).
//! Every part is optional: `None` means "not said by this observation", and what was said
//! before stays as it was (a sample with memory only does not blank the disks).

use cairn_protocol::messages::{Sample, ServerStatus, ServiceState};

/// One mounted file system: mount point, bytes used, bytes total (as `df` counts the share:
/// total is used + available when the agent says what is available).
pub type Disk = (String, u64, u64);

/// A backup's state: provider, last run ok, last restore drill time, drill ok, the drill's
/// own age limit in days (when the backup states one; else the rule's threshold).
pub type Backup = (String, Option<bool>, Option<u64>, Option<bool>, Option<u32>);

/// What is known of a node at `at` (unix seconds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    pub at: u64,
    /// The agent connected (`true`) or disconnected (`false`).
    pub online: Option<bool>,
    pub disks: Option<Vec<Disk>>,
    /// Memory (used, total) in bytes.
    pub memory: Option<(u64, u64)>,
    pub load1: Option<f64>,
    pub cores: Option<u32>,
    /// Services a recipe set up, by name, and whether each runs. Services a recipe declares
    /// but that are not installed are left out: nobody set them up.
    pub services: Option<Vec<(String, bool)>>,
    /// Configured backups only.
    pub backups: Option<Vec<Backup>>,
}

impl Observation {
    /// The agent's socket opened or closed.
    pub fn online(at: u64, online: bool) -> Self {
        Self {
            at,
            online: Some(online),
            ..Self::default()
        }
    }

    /// What a `SERVER_STATUS` says. A `systemOnly` one carries the machine's figures only (its
    /// empty service and backup lists mean "not detected", not "none").
    pub fn from_status(status: &ServerStatus, at: u64) -> Self {
        let sys = &status.system;
        let disk_total = sys
            .disk
            .available_bytes
            .map_or(sys.disk.total_bytes, |a| sys.disk.used_bytes + a);
        let mut o = Self {
            at,
            disks: (disk_total > 0)
                .then(|| vec![("/".to_owned(), sys.disk.used_bytes, disk_total)]),
            memory: (sys.ram.total_bytes > 0).then_some((sys.ram.used_bytes, sys.ram.total_bytes)),
            cores: (sys.cpu.cores > 0).then_some(sys.cpu.cores),
            ..Self::default()
        };
        if !status.system_only {
            o.services = Some(
                status
                    .services
                    .iter()
                    .filter(|s| s.state != ServiceState::NotInstalled)
                    .map(|s| (s.name.clone(), s.state == ServiceState::Running))
                    .collect(),
            );
            o.backups = Some(
                status
                    .backups
                    .iter()
                    .filter(|b| b.configured)
                    .map(|b| {
                        (
                            b.provider.clone(),
                            b.last_run_ok,
                            b.last_restore_test_at,
                            b.last_restore_test_ok,
                            b.drill.as_ref().and_then(|d| d.max_age_days),
                        )
                    })
                    .collect(),
            );
        }
        o
    }

    /// What one of the agent's 10 s metrics samples says: every file system, memory and load
    /// (the status says these only when a page asks; the samples come whether or not one is
    /// open), and the services the sampler watches.
    pub fn from_sample(sample: &Sample) -> Self {
        Self {
            at: sample.t,
            disks: Some(
                sample
                    .disks
                    .iter()
                    .filter(|d| d.s > 0)
                    .map(|d| (d.m.clone(), d.u, d.s))
                    .collect(),
            ),
            memory: (sample.mem[1] > 0).then_some((sample.mem[0], sample.mem[1])),
            load1: Some(sample.load[0]),
            services: Some(sample.svcs.iter().map(|s| (s.n.clone(), s.up)).collect()),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use cairn_protocol::messages::{
        BackupInfo, CpuInfo, ServerStatus, ServiceInfo, ServiceState, SystemInfo, Usage,
    };

    use super::Observation;

    fn service(name: &str, state: ServiceState) -> ServiceInfo {
        ServiceInfo {
            name: name.into(),
            state,
            since: None,
            enabled_at_boot: None,
            log: None,
            recipes: vec!["r".into()],
        }
    }

    fn status(system_only: bool) -> ServerStatus {
        ServerStatus {
            request_id: None,
            runtimes: vec![],
            databases: vec![],
            backups: vec![BackupInfo {
                provider: "s3".into(),
                configured: true,
                schedule: None,
                last_run_at: Some(10),
                last_run_ok: Some(false),
                last_restore_test_at: Some(5),
                last_restore_test_ok: Some(true),
                public_key: None,
                error: None,
                snapshots: vec![],
                drill: None,
                settings: None,
            }],
            services: vec![
                service("redis-server", ServiceState::Stopped),
                service("postgresql", ServiceState::NotInstalled),
            ],
            system: SystemInfo {
                os: "Debian".into(),
                kernel: "6".into(),
                arch: "x86_64".into(),
                hostname: "h".into(),
                cpu: CpuInfo {
                    cores: 4,
                    model: "cpu".into(),
                    usage_percent: None,
                },
                ram: Usage {
                    total_bytes: 100,
                    used_bytes: 40,
                    available_bytes: None,
                },
                disk: Usage {
                    total_bytes: 1000,
                    used_bytes: 900,
                    available_bytes: Some(50),
                },
                uptime: 1,
                addresses: vec![],
            },
            system_only,
        }
    }

    #[test]
    fn a_status_gives_the_disk_as_df_counts_it_and_only_the_services_a_recipe_set_up() {
        let o = Observation::from_status(&status(false), 7);
        // 900 used of 950 usable (root's reserved blocks are not the user's).
        assert_eq!(o.disks, Some(vec![("/".to_owned(), 900, 950)]));
        assert_eq!(o.memory, Some((40, 100)));
        assert_eq!(o.cores, Some(4));
        assert_eq!(o.services, Some(vec![("redis-server".to_owned(), false)]));
        assert_eq!(
            o.backups,
            Some(vec![(
                "s3".to_owned(),
                Some(false),
                Some(5),
                Some(true),
                None
            )])
        );
    }

    #[test]
    fn a_system_only_status_says_nothing_of_services_or_backups() {
        let o = Observation::from_status(&status(true), 7);
        assert!(o.disks.is_some());
        assert_eq!((o.services, o.backups), (None, None));
    }

    #[test]
    fn a_metrics_sample_says_every_disk_memory_load_and_service() {
        use cairn_protocol::messages::{DiskSample, Sample, ServiceSample};
        let sample = Sample {
            t: 100,
            cpu: Some(3.0),
            mem: [3, 4],
            swap: [0, 0],
            load: [2.5, 1.0, 0.5],
            disks: vec![
                DiskSample {
                    m: "/".into(),
                    u: 9,
                    s: 10,
                    r: 0,
                    w: 0,
                },
                DiskSample {
                    m: "/srv".into(),
                    u: 1,
                    s: 0,
                    r: 0,
                    w: 0,
                },
            ],
            nets: vec![],
            svcs: vec![ServiceSample {
                n: "redis-server".into(),
                up: false,
            }],
        };
        let o = Observation::from_sample(&sample);
        assert_eq!(o.at, 100);
        // A file system of size 0 (a pseudo file system) says nothing.
        assert_eq!(o.disks, Some(vec![("/".to_owned(), 9, 10)]));
        assert_eq!(o.memory, Some((3, 4)));
        assert_eq!(o.load1, Some(2.5));
        assert_eq!(o.services, Some(vec![("redis-server".to_owned(), false)]));
        assert_eq!(o.online, None);
        assert_eq!(o.backups, None);
    }
}
