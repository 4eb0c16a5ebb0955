//! Prometheus's text exposition format for `GET /metrics`: each node's latest sample, whether
//! its agent is connected and when it was last seen, and the control plane's own health. Pure:
//! the handler (`http::metrics`) gathers the figures, this writes them.

use std::fmt::Write;

use cairn_protocol::messages::Sample;

/// A node as `/metrics` reports it.
#[derive(Debug)]
pub struct NodeFigures {
    pub id: String,
    pub name: String,
    pub online: bool,
    pub last_seen: Option<u64>,
    pub latest: Option<Sample>,
}

/// The control plane's own figures.
#[derive(Debug, Default)]
pub struct Health {
    pub agents: usize,
    pub dashboards: usize,
    pub jobs_running: usize,
    pub agent_queue: usize,
    pub dashboard_queue: usize,
    pub dashboard_queue_bytes: usize,
    pub login_refusals: u64,
    /// Nodes whose observations wait for the alert engine.
    pub alert_backlog: usize,
    /// Observations merged into one already waiting, since the start.
    pub alert_coalesced: u64,
}

/// One metric family: its samples written under one `# HELP` and `# TYPE`.
struct Family<'a> {
    name: &'a str,
    kind: &'a str,
    help: &'a str,
    lines: Vec<String>,
}

/// A label value, escaped as the format wants (`\`, `"` and newlines); any other control
/// character (a carriage return some parsers end a line at, an escape) becomes U+FFFD, so a
/// value from a user or an agent (a node's name, a mount point, an interface, a service) stays
/// one label of one line in every parser.
fn esc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// The whole exposition.
pub fn render(nodes: &[NodeFigures], health: &Health) -> String {
    let mut families: Vec<Family<'_>> = Vec::new();
    let mut add = |name, kind, help, lines: Vec<String>| {
        families.push(Family {
            name,
            kind,
            help,
            lines,
        });
    };
    let per_node = |f: &dyn Fn(&NodeFigures, &str) -> Vec<String>| -> Vec<String> {
        nodes
            .iter()
            .flat_map(|n| f(n, &labels(&[("node", &n.id), ("name", &n.name)])))
            .collect()
    };
    let sample = |f: &dyn Fn(&Sample, &NodeFigures) -> Vec<String>| -> Vec<String> {
        nodes
            .iter()
            .filter_map(|n| n.latest.as_ref().map(|s| f(s, n)))
            .flatten()
            .collect()
    };
    let node_labels = |n: &NodeFigures, extra: &[(&str, &str)]| {
        let mut pairs = vec![("node", n.id.as_str()), ("name", n.name.as_str())];
        pairs.extend_from_slice(extra);
        labels(&pairs)
    };
    add(
        "cairn_node_online",
        "gauge",
        "Whether the node's agent is connected (1) or not (0).",
        per_node(&|n, l| vec![format!("cairn_node_online{l} {}", u8::from(n.online))]),
    );
    add(
        "cairn_node_last_seen_timestamp_seconds",
        "gauge",
        "When the node's agent was last connected, unix seconds.",
        per_node(&|n, l| {
            n.last_seen
                .map(|t| format!("cairn_node_last_seen_timestamp_seconds{l} {t}"))
                .into_iter()
                .collect()
        }),
    );
    add(
        "cairn_node_sample_timestamp_seconds",
        "gauge",
        "When the node's latest metrics sample was taken, unix seconds (the agent's clock).",
        sample(&|s, n| {
            vec![format!(
                "cairn_node_sample_timestamp_seconds{} {}",
                node_labels(n, &[]),
                s.t
            )]
        }),
    );
    add(
        "cairn_node_cpu_percent",
        "gauge",
        "CPU busy in the node's latest sample, percent of all cores.",
        sample(&|s, n| {
            s.cpu
                .map(|c| format!("cairn_node_cpu_percent{} {c}", node_labels(n, &[])))
                .into_iter()
                .collect()
        }),
    );
    for (name, help, i) in [
        (
            "cairn_node_memory_used_bytes",
            "Memory used (total minus available), bytes.",
            0,
        ),
        ("cairn_node_memory_total_bytes", "Memory, bytes.", 1),
    ] {
        add(
            name,
            "gauge",
            help,
            sample(&|s, n| vec![format!("{name}{} {}", node_labels(n, &[]), s.mem[i])]),
        );
    }
    for (name, help, i) in [
        ("cairn_node_swap_used_bytes", "Swap used, bytes.", 0),
        ("cairn_node_swap_total_bytes", "Swap, bytes.", 1),
    ] {
        add(
            name,
            "gauge",
            help,
            sample(&|s, n| vec![format!("{name}{} {}", node_labels(n, &[]), s.swap[i])]),
        );
    }
    add(
        "cairn_node_load",
        "gauge",
        "Load average over 1, 5 and 15 minutes.",
        sample(&|s, n| {
            ["1", "5", "15"]
                .iter()
                .zip(s.load)
                .map(|(p, v)| {
                    format!(
                        "cairn_node_load{} {v}",
                        node_labels(n, &[("period", &format!("{p}m"))])
                    )
                })
                .collect()
        }),
    );
    type DiskField = fn(&cairn_protocol::messages::DiskSample) -> u64;
    let disk_fields: [(&str, &str, &str, DiskField); 4] = [
        (
            "cairn_node_disk_used_bytes",
            "gauge",
            "File system used, bytes, as df counts it.",
            |d| d.u,
        ),
        (
            "cairn_node_disk_size_bytes",
            "gauge",
            "File system size, bytes.",
            |d| d.s,
        ),
        (
            "cairn_node_disk_read_bytes_total",
            "counter",
            "Bytes read from the file system's device since boot.",
            |d| d.r,
        ),
        (
            "cairn_node_disk_written_bytes_total",
            "counter",
            "Bytes written to the file system's device since boot.",
            |d| d.w,
        ),
    ];
    for (name, kind, help, get) in disk_fields {
        add(
            name,
            kind,
            help,
            sample(&|s, n| {
                s.disks
                    .iter()
                    .map(|d| format!("{name}{} {}", node_labels(n, &[("mount", &d.m)]), get(d)))
                    .collect()
            }),
        );
    }
    type NetField = fn(&cairn_protocol::messages::NetSample) -> u64;
    let net_fields: [(&str, &str, NetField); 2] = [
        (
            "cairn_node_network_receive_bytes_total",
            "Bytes received by the interface since boot.",
            |x| x.rx,
        ),
        (
            "cairn_node_network_transmit_bytes_total",
            "Bytes sent by the interface since boot.",
            |x| x.tx,
        ),
    ];
    for (name, help, get) in net_fields {
        add(
            name,
            "counter",
            help,
            sample(&|s, n| {
                s.nets
                    .iter()
                    .map(|x| {
                        format!(
                            "{name}{} {}",
                            node_labels(n, &[("interface", &x.i)]),
                            get(x)
                        )
                    })
                    .collect()
            }),
        );
    }
    add(
        "cairn_node_service_up",
        "gauge",
        "Whether a service the node's recipes declare runs (1) or not (0).",
        sample(&|s, n| {
            s.svcs
                .iter()
                .map(|x| {
                    format!(
                        "cairn_node_service_up{} {}",
                        node_labels(n, &[("service", &x.n)]),
                        u8::from(x.up)
                    )
                })
                .collect()
        }),
    );
    let one = |name: &str, v: String| vec![format!("{name} {v}")];
    add(
        "cairn_agents_connected",
        "gauge",
        "Agents connected now.",
        one("cairn_agents_connected", health.agents.to_string()),
    );
    add(
        "cairn_dashboards_connected",
        "gauge",
        "Dashboard sockets open now.",
        one("cairn_dashboards_connected", health.dashboards.to_string()),
    );
    add(
        "cairn_jobs_running",
        "gauge",
        "Jobs running now (among the newest 500).",
        one("cairn_jobs_running", health.jobs_running.to_string()),
    );
    add(
        "cairn_agent_queue_messages",
        "gauge",
        "Commands waiting to be sent to agents.",
        one("cairn_agent_queue_messages", health.agent_queue.to_string()),
    );
    add(
        "cairn_dashboard_queue_messages",
        "gauge",
        "Events waiting to be sent to dashboards.",
        one(
            "cairn_dashboard_queue_messages",
            health.dashboard_queue.to_string(),
        ),
    );
    add(
        "cairn_dashboard_queue_bytes",
        "gauge",
        "Bytes of the events waiting to be sent to dashboards.",
        one(
            "cairn_dashboard_queue_bytes",
            health.dashboard_queue_bytes.to_string(),
        ),
    );
    add(
        "cairn_login_refusals_total",
        "counter",
        "Refused sign-ins since the control plane started.",
        one(
            "cairn_login_refusals_total",
            health.login_refusals.to_string(),
        ),
    );
    add(
        "cairn_alert_nodes_waiting",
        "gauge",
        "Nodes whose observations wait for the alert engine.",
        one(
            "cairn_alert_nodes_waiting",
            health.alert_backlog.to_string(),
        ),
    );
    add(
        "cairn_alert_observations_coalesced_total",
        "counter",
        "Observations merged into one of the same node already waiting for the alert engine.",
        one(
            "cairn_alert_observations_coalesced_total",
            health.alert_coalesced.to_string(),
        ),
    );
    let mut out = String::new();
    for f in families {
        let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
        let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
        for line in f.lines {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// THREATS row 56: label values from users (a node's name) and agents (mount points,
    /// interfaces, services: a compromised agent sends what it likes) with quotes, backslashes,
    /// line breaks, carriage returns and a forged sample stay one label each: `promtool check
    /// metrics` (Debian's prometheus package) accepts the exposition, and no forged line is in it.
    #[test]
    fn label_values_with_quotes_and_line_breaks_cannot_break_the_exposition() {
        let forged = "x\"} 1\ncairn_forged_total 1\n# TYPE cairn_forged_total counter";
        let sample: Sample = serde_json::from_value(serde_json::json!({
            "t": 1, "mem": [1, 2], "swap": [0, 0], "load": [0.0, 0.0, 0.0],
            "disks": [{"m": format!("/srv/a\\b\r{forged}"), "u": 1, "s": 2, "r": 0, "w": 0}],
            "nets": [{"i": "eth0\",evil=\"1", "rx": 1, "tx": 2}],
            "svcs": [{"n": forged, "up": true}],
        }))
        .expect("a sample");
        let nodes = [NodeFigures {
            id: "n1".to_owned(),
            name: format!("web \"1\" \\ {{a=b}} {forged}"),
            online: true,
            last_seen: Some(1),
            latest: Some(sample),
        }];
        let body = render(&nodes, &Health::default());
        assert!(
            !body.lines().any(|l| l.starts_with("cairn_forged_total")),
            "{body}"
        );
        assert!(!body.contains('\r'), "{body}");
        assert!(body.contains(r#"interface="eth0\",evil=\"1""#), "{body}");
        let mut promtool = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("promtool (Debian's prometheus package; scripts/test installs it as root)");
        use std::io::Write as _;
        promtool
            .stdin
            .take()
            .expect("promtool's stdin")
            .write_all(body.as_bytes())
            .expect("write to promtool");
        let out = promtool.wait_with_output().expect("promtool's answer");
        assert!(
            out.status.success(),
            "promtool refused the exposition: {}{}\n{body}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
