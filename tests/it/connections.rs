//! threats.md 34, connection exhaustion, against the running binaries: thousands of idle
//! connections (from many addresses, and from the agents' own address), requests and TLS
//! handshakes sent by halves, idle keep-alive connections, agent sockets that never finish
//! their handshake, and one address past its cap. Traffic to loopback only; every wait bounded.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use cairn_e2e::conns::{
    count_open, fd_limit, healthz, idle_connections, open_fds, raise_nofile, sources, still_open,
};
use cairn_e2e::{Cluster, ControlPlane, TlsCert, WAIT, http_over, recipes_dir};
use cairn_protocol::messages::Hello;
use cairn_protocol::{Message, bare_message_json};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The open-files limit the flooded control plane runs under: the incident's (4,210 idle
/// connections used it up), below the 5,000 connections of the flood.
const NOFILE: u64 = 4096;
const FLOOD: usize = 5000;

/// Whether the control plane closes `s` (end of stream or reset) within `limit`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let end = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(end, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.expect("connect")
}

/// A control plane under [`NOFILE`], its idle strangers kept past the test (the caps, not the
/// header timeout, must hold), an agent connected; `FLOOD` idle connections from `from`;
/// then `/healthz`, the connected agent, an agent connecting now, and the descriptors.
async fn flood_then_serve(from: &[Ipv4Addr]) {
    assert!(
        raise_nofile() > 2 * FLOOD as u64,
        "this test needs 10,000 open files"
    );
    let mut c =
        Cluster::start_full(&["lines"], &[], &["--header-timeout", "300"], Some(NOFILE)).await;
    let pid = c.cp.pid();
    assert_eq!(fd_limit(pid), NOFILE, "prlimit did not apply");

    let (conns, _failed) = idle_connections(c.cp.addr, from, FLOOD).await;
    // Strangers that moved within a second are not evicted for a newcomer; these idle ones
    // are older than that now.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let (status, _) = healthz(c.cp.addr, Duration::from_secs(30)).await;
    assert_eq!(status, 200, "/healthz did not answer during the flood");

    // The agent connected before the flood is still served…
    let mut d = c.dashboard().await;
    d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": c.node_id}))
        .await;
    d.recv_until(|m| m["type"] == "SERVER_STATUS").await;
    // …and an agent connecting now authenticates and answers.
    c.agent.kill();
    c.cp.wait_online(&c.cookie, &c.node_id, false).await;
    c.agent.start();
    c.cp.wait_online(&c.cookie, &c.node_id, true).await;
    let before = d.seen.len();
    d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": c.node_id}))
        .await;
    d.recv_from(before, |m| m["type"] == "SERVER_STATUS").await;

    // What the control plane holds, counted on its side: a client-side count would include
    // connections the kernel still has half-open in its listen queue, which hold no descriptor.
    let fds = open_fds(pid);
    assert!(
        fds < NOFILE as usize / 2 + 128,
        "the control plane holds {fds} descriptors: more than its stranger pool and the \
         sockets waiting to join it (a quarter of its {NOFILE} open files each) and its own \
         files; {} idle connections look open",
        count_open(&conns)
    );
    assert!(c.cp.running(), "the control plane exited:\n{}", c.cp.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_idle_connections_from_many_addresses_leave_healthz_and_agents_served() {
    flood_then_serve(&sources(1, 100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_thousand_idle_connections_from_the_agents_own_address_leave_it_served() {
    // 127.0.0.1: where the agent, the dashboard and `/healthz` come from too.
    flood_then_serve(&[Ipv4Addr::LOCALHOST]).await;
}

async fn short_timeouts() -> (tempfile::TempDir, ControlPlane) {
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = recipes_dir(dir.path(), &["lines"]);
    let args: Vec<std::ffi::OsString> = [
        "--header-timeout",
        "2",
        "--idle-timeout",
        "3",
        "--handshake-timeout",
        "2",
    ]
    .iter()
    .map(Into::into)
    .collect();
    let cp = ControlPlane::start_limited(dir.path(), &recipes, &args, None).await;
    (dir, cp)
}

/// Closed "before N s" with the timeouts above: generous for a loaded machine.
const CLOSED_BEFORE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_by_halves_is_closed_at_the_header_timeout() {
    let (_dir, cp) = short_timeouts().await;
    let addr = cp.addr;
    let half_line = async {
        let mut s = connect(addr).await;
        s.write_all(b"GET /heal").await.expect("write");
        closed_within(&mut s, CLOSED_BEFORE).await
    };
    let half_headers = async {
        let mut s = connect(addr).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .expect("write");
        closed_within(&mut s, CLOSED_BEFORE).await
    };
    // A byte every 300 ms: each one moves no deadline.
    let trickle = async {
        let mut s = connect(addr).await;
        let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        for b in head {
            if s.write_all(&[*b]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        closed_within(&mut s, CLOSED_BEFORE).await
    };
    // A whole head, then half the body it announced.
    let half_body = async {
        let mut s = connect(addr).await;
        s.write_all(
            b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\":",
        )
        .await
        .expect("write");
        closed_within(&mut s, CLOSED_BEFORE).await
    };
    let silent = async {
        let mut s = connect(addr).await;
        closed_within(&mut s, CLOSED_BEFORE).await
    };
    let (a, b, t, p, n) = tokio::join!(half_line, half_headers, trickle, half_body, silent);
    assert!(a, "half a request line was not closed");
    assert!(b, "half-sent headers were not closed");
    assert!(t, "a trickled head was not closed");
    assert!(p, "a half-sent body was not closed");
    assert!(n, "a connection that sent nothing was not closed");
    let (status, _) = healthz(addr, WAIT).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_head_is_refused_not_buffered() {
    let (_dir, cp) = short_timeouts().await;
    let mut s = connect(cp.addr).await;
    // One header of 100 KiB: few headers (hyper refuses more than 100 of them anyway), many
    // bytes.
    let head = format!(
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    // The control plane may close before taking it all.
    let _ = s.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(CLOSED_BEFORE, s.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "a 100 KiB head was answered: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let (_dir, cp) = short_timeouts().await;
    let mut s = connect(cp.addr).await;
    for _ in 0..2 {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !String::from_utf8_lossy(&got).contains("\r\n\r\nok") {
            let n = tokio::time::timeout(WAIT, s.read(&mut buf))
                .await
                .expect("an answer in time")
                .expect("read");
            assert!(
                n > 0,
                "closed before answering: {}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
        }
        assert!(
            String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"),
            "{got:?}"
        );
    }
    assert!(
        closed_within(&mut s, CLOSED_BEFORE).await,
        "an idle keep-alive connection stayed open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_handshake_that_stalls_is_closed_at_the_header_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = recipes_dir(dir.path(), &["lines"]);
    let tls = TlsCert::self_signed(dir.path());
    let args: Vec<std::ffi::OsString> = ["--header-timeout", "2"].iter().map(Into::into).collect();
    let cp = ControlPlane::start_opts(dir.path(), &recipes, Some(tls), &args, None).await;
    let mut silent = connect(cp.addr).await;
    // The first bytes of a ClientHello (a TLS record header announcing 512 bytes), then nothing.
    let mut half = connect(cp.addr).await;
    half.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .await
        .expect("write");
    let (a, b) = tokio::join!(
        closed_within(&mut silent, CLOSED_BEFORE),
        closed_within(&mut half, CLOSED_BEFORE)
    );
    assert!(a, "a silent connection to the TLS port was not closed");
    assert!(b, "half a TLS handshake was not closed");
    assert_eq!(cp.request("GET", "/healthz", None, None).await.status, 200);
}

fn hello(node_id: &str, key_id: Option<String>) -> WsMessage {
    let m = Message::Hello(Hello {
        node_id: node_id.to_owned(),
        key_id,
        agent_version: "e2e".into(),
        protocol_version: cairn_protocol::PROTOCOL_VERSION,
        detectors_hash: None,
    });
    WsMessage::text(bare_message_json(&m).expect("HELLO"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_socket_that_never_finishes_its_handshake_is_closed() {
    let c = Cluster::start_full(&["lines"], &[], &["--handshake-timeout", "2"], None).await;
    let addr = c.cp.addr;
    let key_id = c.cp.get_json(&c.cookie, "/api/nodes").await[0]["keyId"]
        .as_str()
        .map(str::to_owned);
    let open = || async move {
        tokio_tungstenite::connect_async(format!("ws://{addr}/ws/agent"))
            .await
            .expect("agent socket")
            .0
    };
    let ends = |mut ws: cairn_e2e::Ws| async move {
        let end = tokio::time::Instant::now() + CLOSED_BEFORE;
        loop {
            match tokio::time::timeout_at(end, ws.next()).await {
                Err(_) => return false,
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(WsMessage::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    };
    // Upgraded, then silent.
    let silent = open().await;
    // HELLO of the enrolled node, then no AUTH_RESPONSE.
    let mut authenticating = open().await;
    authenticating
        .send(hello(&c.node_id, key_id))
        .await
        .expect("HELLO");
    // HELLO asking to enroll, then no ENROLL_REQUEST.
    let mut enrolling = open().await;
    enrolling
        .send(hello("node-0123456789ab", None))
        .await
        .expect("HELLO");
    let (a, b, e) = tokio::join!(ends(silent), ends(authenticating), ends(enrolling));
    assert!(a, "an upgraded socket that sent nothing stayed open");
    assert!(b, "an authentication left halfway stayed open");
    assert!(e, "an enrollment left halfway stayed open");
    // The real agent, authenticated long ago, is untouched.
    c.cp.wait_online(&c.cookie, &c.node_id, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_per_address_cap_are_closed_without_harming_other_addresses() {
    raise_nofile();
    let dir = tempfile::tempdir().expect("temp dir");
    let recipes = recipes_dir(dir.path(), &["lines"]);
    let args: Vec<std::ffi::OsString> =
        ["--max-pending-per-address", "8", "--header-timeout", "300"]
            .iter()
            .map(Into::into)
            .collect();
    let cp = ControlPlane::start_limited(dir.path(), &recipes, &args, None).await;
    let (a, b) = (Ipv4Addr::new(127, 0, 2, 1), Ipv4Addr::new(127, 0, 2, 2));
    let (others, _) = idle_connections(cp.addr, &[b], 5).await;
    let (flood, _) = idle_connections(cp.addr, &[a], 40).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let held = count_open(&flood);
    assert!(
        held <= 8,
        "one address holds {held} idle connections past its cap of 8"
    );
    assert_eq!(count_open(&others), 5, "another address lost connections");
    // The other address's connections still serve requests.
    let s = TcpStream::from_std(others[0].try_clone().expect("clone")).expect("tokio stream");
    let r = http_over(s, "x", "GET", "/healthz", None, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    // And the capped address itself still gets in: its stalest idle connection makes room.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let s = cairn_e2e::conns::connect_from(a, cp.addr)
        .await
        .expect("connect");
    let r = http_over(s, "x", "GET", "/healthz", None, None).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(others[1..].iter().all(still_open));
}
