//! The one URL check (on the `url` crate): what a server URL, a job link or a page to open in the
//! browser must look like: `http://` or `https://`, a host, no spaces.

use url::Url;

/// Checks a server base URL as the config, the CLI and the settings form accept it; the parsed URL.
pub fn check_server_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    let shown = masked(text);
    if text.chars().any(char::is_whitespace) {
        return Err(format!("url {shown:?} contains spaces"));
    }
    let lower = text.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(format!("url {shown:?} must start with http:// or https://"));
    }
    match Url::parse(text) {
        Ok(url) if !url.username().is_empty() || url.password().is_some() => Err(format!(
            "url {shown:?} has a user name or password in it: put the user in `user` and the token \
             in `token_env` or `token_file` instead (a URL gets printed in messages and logs)"
        )),
        Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        Ok(_) | Err(url::ParseError::EmptyHost) => Err(format!("url {shown:?} has no host name")),
        Err(e) => Err(format!("url {shown:?} is not a valid address: {e}")),
    }
}

/// `text` with anything between `://` and an `@` of the authority (a user name, a password) replaced
/// by `***`, so no message repeats a secret.
fn masked(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://***{}", &rest[at..]),
        None => text.to_owned(),
    }
}

/// Whether `text` is a web page address (only those are handed to the system's opener: never a local
/// file or an option-like string).
pub fn is_web_url(text: &str) -> bool {
    check_server_url(text).is_ok()
}

/// Whether `url` lies on the server at `base` (same scheme, host and port, below its path): a link a
/// server sends is used only then.
pub fn is_within(url: &str, base: &str) -> bool {
    let (Ok(url), Ok(base)) = (check_server_url(url), check_server_url(base)) else {
        return false;
    };
    url.scheme() == base.scheme()
        && url.host_str() == base.host_str()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.path().starts_with(base.path())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn server_urls_need_a_scheme_and_a_host() {
        assert!(check_server_url("https://ci.example.com/jenkins/").is_ok());
        assert!(check_server_url("http://127.0.0.1:8080").is_ok());
        assert!(check_server_url("HTTPS://CI.example.com/").is_ok());
        let no_scheme = check_server_url("ci.example.com").unwrap_err();
        assert!(
            no_scheme.contains("must start with http:// or https://"),
            "{no_scheme}"
        );
        for no_host in ["https://", "http://:8080/"] {
            let e = check_server_url(no_host).unwrap_err();
            assert!(e.contains("no host"), "{no_host}: {e}");
        }
        let spaces = check_server_url("http://ci example/").unwrap_err();
        assert!(spaces.contains("spaces"), "{spaces}");
        for with_secret in ["https://alice:s3cret@ci.example.com/", "https://s3cret@ci/"] {
            let e = check_server_url(with_secret).unwrap_err();
            assert!(e.contains("`user`") && e.contains("token_file"), "{e}");
            assert!(
                !e.contains("s3cret") && !e.contains("alice"),
                "the secret is not echoed: {e}"
            );
        }
        let spaced = check_server_url("https://alice:s3cret@ci example/").unwrap_err();
        assert!(!spaced.contains("s3cret"), "{spaced}");
        let port = check_server_url("http://ci:99999/").unwrap_err();
        assert!(port.contains("not a valid address"), "{port}");
    }

    #[test]
    fn only_web_pages_are_web_urls() {
        assert!(is_web_url("https://ci/job/a/1/"));
        assert!(is_web_url("http://ci/job/a/1/"));
        assert!(!is_web_url("file:///etc/passwd"));
        assert!(!is_web_url("--help"));
        assert!(!is_web_url("javascript:alert(1)"));
    }

    #[test]
    fn links_count_only_on_their_own_server() {
        let base = "https://ci.example.com/jenkins/";
        assert!(is_within("https://ci.example.com/jenkins/job/a%20b/", base));
        assert!(is_within("https://ci.example.com:443/jenkins/job/a/", base));
        assert!(!is_within("http://ci.example.com/jenkins/job/a/", base));
        assert!(!is_within(
            "https://ci.example.com.evil/jenkins/job/a/",
            base
        ));
        assert!(!is_within("https://ci.example.com/other/job/a/", base));
        assert!(!is_within("http://wrong-host:8080/job/a%20b/", base));
    }
}
