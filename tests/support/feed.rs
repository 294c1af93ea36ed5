//! A cctray feed on loopback (a real HTTP server) for the end-to-end tests.

/// A cctray feed on loopback: serves whatever XML it holds now, and remembers the auth headers it saw.
pub struct Feed {
    pub url: String,
    pub xml: std::sync::Arc<std::sync::Mutex<String>>,
    pub auth: std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
    _server: std::sync::Arc<tiny_http::Server>,
}

impl Feed {
    pub fn start(xml: &str, content_type: &'static str) -> Feed {
        let server = std::sync::Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        let xml = std::sync::Arc::new(std::sync::Mutex::new(xml.to_owned()));
        let auth = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, x, a) = (server.clone(), xml.clone(), auth.clone());
        std::thread::spawn(move || {
            for req in s.incoming_requests() {
                let header = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.as_str().to_owned());
                a.lock().unwrap().push(header);
                let body = x.lock().unwrap().clone();
                let ct = tiny_http::Header::from_bytes("Content-Type", content_type).unwrap();
                req.respond(tiny_http::Response::from_string(body).with_header(ct))
                    .ok();
            }
        });
        Feed {
            url: format!("http://127.0.0.1:{port}/go/cctray.xml"),
            xml,
            auth,
            _server: server,
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self._server.unblock();
    }
}
