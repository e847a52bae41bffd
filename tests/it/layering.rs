//! Layering: the config (and later routing) modules stay pure — no async runtime, sockets or
//! storage — so they can be tested and reused without a running server.

use crate::support::root;

#[test]
fn config_uses_no_runtime_sockets_or_store() {
    let mut offences = Vec::new();
    for dir in ["src/config", "src/routing"] {
        let dir = root().join(dir);
        if !dir.exists() {
            continue;
        }
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    let code = line.split("//").next().unwrap_or("");
                    for banned in [
                        "tokio",
                        "std::net::UdpSocket",
                        "std::net::TcpListener",
                        "std::net::TcpStream",
                        "sled",
                    ] {
                        if code.contains(banned) {
                            offences.push(format!("{}:{}: {banned}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "layering broken:\n{}",
        offences.join("\n")
    );
}
