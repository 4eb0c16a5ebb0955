//! TLS end to end: the control plane serving https and wss with a self-signed certificate, an
//! agent that pins it, and a dashboard over wss — the link that connection strings cross.

use cairn_e2e::{Agent, ControlPlane, Dashboard, TlsCert, http, lines, recipes_dir};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_and_dashboard_work_over_tls_with_a_pinned_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    let recipes = recipes_dir(root, &["lines"]);
    let tls = TlsCert::self_signed(root);
    let cp = ControlPlane::start_with(root, &recipes, Some(tls.clone())).await;

    // Nothing in clear: a plain HTTP request to the TLS port gets no HTTP answer.
    let plain = http(cp.addr, "GET", "/healthz", None, None).await;
    assert_eq!(plain.status, 0, "plain HTTP answered: {plain:?}");

    // The session cookie is Secure (and still HttpOnly, SameSite=Strict) over TLS.
    let body = json!({"username": "admin", "password": cairn_e2e::PASSWORD}).to_string();
    let login = cp.request("POST", "/api/login", None, Some(&body)).await;
    assert_eq!(login.status, 200, "{login:?}");
    let set_cookie = login.set_cookie().expect("Set-Cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    // And browsers are told to come back over https only.
    assert!(
        login
            .headers
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age="),
        "{}",
        login.headers
    );
    let cookie = login.cookie().expect("cookie");

    let r = cp
        .request(
            "POST",
            "/api/enrollment-tokens",
            Some(&cookie),
            Some(&json!({"name": "tls-1"}).to_string()),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let created = r.json();
    let token = created["token"].as_str().expect("token").to_owned();
    let node_id = created["nodeId"].as_str().expect("node id").to_owned();
    let install = created["installCommand"].as_str().unwrap_or_default();
    assert!(
        install.contains(&format!("https://{}/install.sh", cp.addr)),
        "{install}"
    );

    // Without the pin, a self-signed certificate is not trusted: refused, nothing written.
    let url = cp.url();
    let no_pin = root.join("agent-no-pin");
    let (status, text) = Agent::enroll_command(&url, &token, &no_pin).await;
    assert!(
        !status.success(),
        "enrolled without trusting the certificate: {text}"
    );
    assert!(text.to_lowercase().contains("certificate"), "{text}");
    assert!(!no_pin.join("agent.json").exists());

    // A wrong pin (another certificate's) is refused too, and says which certificate it saw.
    let other = TlsCert::self_signed(&root.join("recipes"));
    let wrong = root.join("agent-wrong-pin");
    let (status, text) =
        Agent::enroll_command_with(&url, &token, &wrong, &["--tls-pin", &other.pin]).await;
    assert!(!status.success(), "enrolled with a wrong pin: {text}");
    assert!(
        text.contains(&tls.pin),
        "the refusal names the certificate seen: {text}"
    );
    assert!(!wrong.join("agent.json").exists());

    // With the right pin: enrolled, the pin kept in its configuration, online over wss.
    let config = root.join("agent");
    let (status, text) =
        Agent::enroll_command_with(&url, &token, &config, &["--tls-pin", &tls.pin]).await;
    assert!(status.success(), "enroll with the pin failed: {text}");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(config.join("agent.json")).expect("config"))
            .expect("agent.json");
    assert_eq!(saved["tlsPin"], json!(tls.pin), "{saved}");
    assert!(
        saved["url"].as_str().unwrap_or("").starts_with("https://"),
        "{saved}"
    );
    let mut agent = Agent::enroll_from(&config, &root.join("agent.log"));
    agent.start();
    cp.wait_online(&cookie, &node_id, true).await;

    // A dashboard over wss sees the node's status and a job's every line.
    let mut d = Dashboard::connect_tls(cp.addr, &tls.pin, &cookie, &cp.origin())
        .await
        .expect("wss dashboard");
    d.send(json!({"type": "SUBSCRIBE", "nodeId": node_id}))
        .await;
    let online = d.recv_until(|m| m["type"] == "NODE_STATUS").await;
    assert_eq!(online["payload"]["online"], true, "{online}");
    d.send(json!({"type": "GET_SERVER_STATUS", "nodeId": node_id}))
        .await;
    let status = d.recv_until(|m| m["type"] == "SERVER_STATUS").await;
    let os = status["payload"]["system"]["os"]
        .as_str()
        .unwrap_or_default();
    assert!(!os.is_empty(), "{status}");
    let job = d.start_lines(&node_id, 50).await;
    let end = d.wait_terminal(&job).await;
    assert_eq!(end["type"], "RUNTIME_INSTALLED", "{end}");
    let want: Vec<String> = (1..=50).map(|i| i.to_string()).collect();
    assert_eq!(lines(&d.job_messages(&job), "stdout"), want);
    drop(agent);
}
