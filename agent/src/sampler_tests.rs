#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn net_dev_gives_received_and_sent_bytes_of_every_interface_but_loopback() {
    let text = "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0\n  \
eth0: 987654 321 0 0 0 0 0 0 123456 78 0 0 0 0 0 0\n";
    assert_eq!(
        parse_net_dev(text),
        vec![NetSample {
            i: "eth0".into(),
            rx: 987654,
            tx: 123456
        }]
    );
}

#[test]
fn diskstats_counts_sectors_of_512_bytes() {
    let text = " 254       0 vda 7941877 217346 484371754 13474031 7351233 2454837 1596526168 10518824 0 1514844 24538481";
    let io = parse_diskstats(text);
    assert_eq!(io["vda"], (484371754 * 512, 1596526168 * 512));
}

#[test]
fn a_device_mounted_twice_is_one_file_system_and_pseudo_file_systems_are_left_out() {
    // The machine's own root device, mounted at `/` and bound elsewhere.
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let root = mounts
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("/"))
        .unwrap();
    let device = root.split_whitespace().next().unwrap();
    let fstype = root.split_whitespace().nth(2).unwrap();
    let text = format!(
        "proc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n{device} / {fstype} rw 0 0\n{device} /srv/bound {fstype} rw 0 0\n"
    );
    let found = disks(&text, "");
    if REAL_FS.contains(&fstype) && device.starts_with("/dev/") {
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].m, "/");
        assert!(found[0].s > 0 && found[0].u <= found[0].s);
    } else {
        assert!(found.is_empty(), "{found:?}");
    }
}

#[test]
fn cpu_is_absent_first_then_a_percentage() {
    let mut s = Sampler::default();
    let first = s.sample(1, &[]);
    assert_eq!(first.cpu, None);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let second = s.sample(2, &[]);
    let cpu = second.cpu.unwrap_or(0.0);
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");
    assert!(second.mem[1] > 0 && second.mem[0] <= second.mem[1]);
    assert!(second.load.iter().all(|l| *l >= 0.0));
}

#[test]
fn a_service_is_up_while_its_pid_file_names_a_live_process() {
    let dir = tempfile::tempdir().unwrap();
    let pid = dir.path().join("svc.pid");
    std::fs::write(&pid, format!("{}\n", std::process::id())).unwrap();
    let watched = |pid_file: Option<String>, last_up| Watched {
        name: "svc".into(),
        pid_file,
        last_up,
    };
    let pattern = dir.path().join("s*.pid").display().to_string();
    assert!(service_up(&watched(Some(pattern.clone()), false)));
    std::fs::write(&pid, "999999999\n").unwrap();
    assert!(!service_up(&watched(Some(pattern), true)));
    // Without a pid file, the last status's word.
    assert!(service_up(&watched(None, true)));
}
