//! TLS against a real TLS server on loopback whose certificate comes from a private CA: verification is
//! always on, and a per-server CA file makes such a (self-signed) Jenkins work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use ledtogo::model::{JobState, ServerState};
use ledtogo::sources::jenkins::{Client, Settings};
use ledtogo::sources::{Source as _, SourceError};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (./dev test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA (like a company's) and a server certificate for 127.0.0.1 signed by it, made with the
/// openssl command line. Returns (CA certificate, server certificate, server key).
fn private_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=ledtogo test CA",
        ]
        .iter()
        .chain(&["-keyout", "ca.key", "-out", "ca.pem"])
        .copied()
        .collect::<Vec<_>>(),
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
        dir,
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "server.pem",
        ],
        dir,
    );
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

/// Serves `connections` TLS connections, each answered with a one-job Jenkins listing.
fn serve_tls(cert: &Path, key: &Path, connections: usize) -> u16 {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((sock, _)) = listener.accept() else {
                return;
            };
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut buf = [0u8; 8192];
            // A failed handshake (the client refused our certificate) ends this connection only.
            if tls.read(&mut buf).is_err() {
                continue;
            }
            let body = r#"{"jobs":[{"name":"secure","color":"red"}]}"#;
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            tls.write_all(resp.as_bytes()).ok();
            tls.conn.send_close_notify();
            tls.flush().ok();
        }
    });
    port
}

#[test]
fn a_jenkins_with_a_private_ca_is_refused_without_the_ca_file_and_works_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(dir.path());
    let port = serve_tls(&cert, &key, 2);
    let url = format!("https://127.0.0.1:{port}/");

    let refused = Client::new(Settings::new("tls", &url))
        .unwrap()
        .fetch()
        .unwrap_err();
    assert!(matches!(refused, SourceError::Network { .. }), "{refused}");
    assert!(matches!(
        refused.server_state(),
        ServerState::Unreachable(_)
    ));

    let mut source = Settings::new("tls", &url);
    source.http.ca_file = Some(ca);
    let fetched = Client::new(source).unwrap().fetch().unwrap();
    assert_eq!(fetched.jobs.len(), 1);
    assert_eq!(fetched.jobs[0].state, JobState::Failure);
}
