//! URL and `tree=` query building: path segments encoded the way Jenkins expects, and the nested query
//! that lists every job of a server in one request.

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Characters Jenkins' `Util.rawEncode` escapes in a path segment (non-ASCII is always escaped).
/// `%` is in the set, so a multibranch name that arrives as `feature%2Flogin` becomes `feature%252Flogin`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b'~')
    .add(b'/')
    .add(b';')
    .add(b':')
    .add(b'?');

/// Characters escaped in the query string value (`tree=`): brackets and braces for picky proxies.
pub(super) const QUERY: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'[')
    .add(b']')
    .add(b'{')
    .add(b'}')
    .add(b'#')
    .add(b'&')
    .add(b'+')
    .add(b'%');

/// Encodes one path segment exactly once.
pub fn encode_segment(segment: &str) -> String {
    utf8_percent_encode(segment, SEGMENT).to_string()
}

/// `base` (ending in `/`) + `job/a/job/b/` for a job or folder path.
pub fn job_url(base: &str, path: &[String]) -> String {
    nested_url(base, "job", path)
}

/// `base` + `view/a/view/b/` for a (possibly nested) view path.
pub fn view_url(base: &str, path: &[String]) -> String {
    nested_url(base, "view", path)
}

/// `base` + `kind/a/kind/b/`, each segment encoded once (straight into the URL: no string per segment).
fn nested_url(base: &str, kind: &str, path: &[String]) -> String {
    let mut url = String::with_capacity(
        base.len() + path.iter().map(|s| kind.len() + s.len() + 2).sum::<usize>(),
    );
    url.push_str(base);
    for seg in path {
        url.push_str(kind);
        url.push('/');
        url.extend(utf8_percent_encode(seg, SEGMENT));
        url.push('/');
    }
    url
}

/// Makes sure a base URL ends with `/`, so relative paths never drop its context path (`/jenkins`).
pub fn normalize_base(url: &str) -> String {
    let trimmed = url.trim();
    if trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    }
}

/// The fields asked for every item: enough to know its state, its last build (with its start and
/// Jenkins' estimate of its length, for a running build's progress) and whether it contains jobs.
const BUILD: &str = "lastBuild[number,result,building,timestamp,estimatedDuration]";

/// No `url`: Jenkins builds it as the base plus `job/NAME/` per level (a matrix configuration as its
/// project's plus `NAME/`), which is how the parser links a job that has none; a job's own `url` names
/// the server by its configured root URL, so it was kept only when it lay under ours anyway. Leaving it
/// out takes a fifth off a large answer (the parser still uses one a server sends).
fn item_fields() -> String {
    format!(
        "name,fullName,displayName,color,{BUILD},activeConfigurations[name,displayName,color,{BUILD}]"
    )
}

/// How many folder levels one request spells out. Deeper folders come back as `{"_class": …}` stubs and
/// get one follow-up request each.
pub const LEVELS: usize = 6;

/// The nested `tree=` value: `jobs[F,jobs[F,…,jobs]]` with a bare `jobs` innermost, so that folders
/// deeper than the query show up as stubs instead of silently disappearing.
pub fn tree_spec(levels: usize) -> String {
    let fields = item_fields();
    let mut spec = String::from("jobs");
    for _ in 0..levels {
        spec = format!("jobs[{fields},{spec}]");
    }
    spec
}

/// `url` + `api/json?tree=…` (the url must end in `/`).
pub fn api_url(url: &str, levels: usize) -> String {
    format!(
        "{url}api/json?tree={}",
        utf8_percent_encode(&tree_spec(levels), QUERY)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibranch_names_are_encoded_once_more() {
        let path = vec![
            "org".to_owned(),
            "repo".to_owned(),
            "feature%2Flogin".to_owned(),
        ];
        assert_eq!(
            job_url("https://ci/jenkins/", &path),
            "https://ci/jenkins/job/org/job/repo/job/feature%252Flogin/"
        );
    }

    #[test]
    fn spaces_and_unicode_are_percent_encoded_never_plus() {
        assert_eq!(encode_segment("nightly release"), "nightly%20release");
        assert_eq!(encode_segment("Dokumentation Ü"), "Dokumentation%20%C3%9C");
        assert_eq!(encode_segment("jdk=17,label=linux"), "jdk=17,label=linux");
    }

    #[test]
    fn base_urls_keep_their_context_path() {
        assert_eq!(normalize_base("https://ci/jenkins"), "https://ci/jenkins/");
        assert_eq!(
            view_url(
                &normalize_base("https://ci/jenkins"),
                &["Release Jobs".to_owned()]
            ),
            "https://ci/jenkins/view/Release%20Jobs/"
        );
    }

    #[test]
    fn tree_spec_nests_and_ends_with_a_bare_jobs() {
        let spec = tree_spec(2);
        assert!(
            !spec.contains("url"),
            "links are built from the path: {spec}"
        );
        assert!(spec.starts_with("jobs[name,fullName,"));
        assert!(spec.ends_with(",jobs]]"));
        assert_eq!(spec.matches("jobs[").count(), 2);
        assert!(!api_url("http://x/", 2).contains('['));
        assert!(!spec.contains("depth"));
    }
}
