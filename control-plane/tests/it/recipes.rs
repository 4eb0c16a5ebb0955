//! The recipe catalogue and reload.

use crate::util::{TestServer, http, runtime_recipe};

fn entry<'a>(list: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    list.as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == id))
        .unwrap_or(&serde_json::Value::Null)
}

#[tokio::test]
async fn reload_publishes_a_fixed_recipe_and_keeps_a_broken_one_unpublished() {
    let mut srv = TestServer::start().await;
    let dir = srv.recipes_dir();
    std::fs::write(dir.join("ruby.rhai"), "const RECIPE = #{ id: \"ruby\", ").expect("write");
    std::fs::write(
        dir.join("go.rhai"),
        runtime_recipe("go", 1).replace("\"runtime\"", "\"nonsense\""),
    )
    .expect("write");
    let cookie = srv.login().await;
    let r = http(srv.addr, "POST", "/api/recipes/reload", Some(&cookie), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let list = http(srv.addr, "GET", "/api/recipes", Some(&cookie), None)
        .await
        .json();
    let hello = entry(&list, "hello");
    assert_eq!(hello["published"], true, "{list}");
    assert_eq!(hello["category"], "runtime");
    assert_eq!(hello["version"], 3);
    assert_eq!(hello["fingerprint"].as_str().map(str::len), Some(64));
    // What the declared program can be made to do, in the engine's words.
    assert_eq!(
        hello["programs"],
        serde_json::json!([{
            "program": "true",
            "power": "does nothing but exit",
            "translations": {"fr": "ne fait que se terminer"},
        }]),
        "{hello}"
    );
    assert!(
        hello["source"]
            .as_str()
            .is_some_and(|s| s.contains("fn install"))
    );
    assert_eq!(entry(&list, "redis")["published"], true);
    for id in ["ruby", "go"] {
        let e = entry(&list, id);
        assert_eq!(e["published"], false, "{id}: {e}");
        assert_eq!(e["programs"], serde_json::json!([]), "{id}: {e}");
        assert!(
            e["error"].as_str().is_some_and(|s| !s.is_empty()),
            "{id}: {e}"
        );
    }
    // Fix one; the other stays broken.
    std::fs::write(dir.join("go.rhai"), runtime_recipe("go", 1)).expect("write");
    let list = http(srv.addr, "POST", "/api/recipes/reload", Some(&cookie), None)
        .await
        .json();
    assert_eq!(entry(&list, "go")["published"], true, "{list}");
    assert_eq!(entry(&list, "ruby")["published"], false);
    assert!(entry(&list, "ruby")["error"].as_str().is_some());
    let audit = http(srv.addr, "GET", "/api/audit", Some(&cookie), None)
        .await
        .body;
    assert!(audit.contains("recipes.reload"));
    srv.stop().await;
}

#[tokio::test]
async fn the_catalogue_says_what_each_declared_program_can_be_made_to_do() {
    let mut srv = TestServer::start().await;
    std::fs::copy(
        crate::util::repo_root().join("recipes/go.rhai"),
        srv.recipes_dir().join("go.rhai"),
    )
    .expect("copy go recipe");
    let cookie = srv.login().await;
    let list = http(srv.addr, "POST", "/api/recipes/reload", Some(&cookie), None)
        .await
        .json();
    let go = entry(&list, "go");
    assert_eq!(go["published"], true, "{go}");
    let power = |program: &str| {
        go["programs"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["program"] == program))
            .and_then(|p| p["power"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        power("tar").starts_with("extracts archives into /opt/cairn/go"),
        "{go}"
    );
    assert!(power("go").ends_with("runs anything, as root"), "{go}");
    assert!(power("apt-get").contains("apt_install"), "{go}");
    // And what writing each declared path can lead to.
    let path = |path: &str| {
        go["paths"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["path"] == path))
            .and_then(|p| p["power"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(path("/usr/local/bin/go").contains("search path"), "{go}");
    assert!(
        path("/opt/cairn/go").contains("nothing on the server runs"),
        "{go}"
    );
    // In the dashboard's other languages too, from the engine's own words.
    let french = |list: &str, key: &str, name: &str| {
        go[list]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p[key] == name))
            .and_then(|p| p["translations"]["fr"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        french("programs", "program", "tar")
            .starts_with("décompresse des archives dans /opt/cairn/go"),
        "{go}"
    );
    assert!(
        french("programs", "program", "go").ends_with("lance n’importe quoi, en root"),
        "{go}"
    );
    assert!(
        french("paths", "path", "/usr/local/bin/go").contains("chemin de recherche"),
        "{go}"
    );
    srv.stop().await;
}
