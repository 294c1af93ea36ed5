//! The kinds of CI server a `[[servers]]` entry can be (`kind = "jenkins" | "cctray" | "github" |
//! "gitlab" | "ledtogo"`), their own keys (`repos`, `projects`, `upstream`), and how each kind's job
//! names are written in slots.
//!
//! Every kind's jobs are paths of levels, like Jenkins folders: a level that contains `/` (a branch
//! `feature/x`, a cctray name `acme/api`) keeps it percent-encoded (`feature%2Fx`), as Jenkins does for
//! multibranch jobs, so `path.join("/")` is always a faithful full name. A slot's `job = "…"` may be
//! written that way or in the kind's own form:
//!
//! | kind    | form in a slot                    | levels                                  |
//! |---------|-----------------------------------|-----------------------------------------|
//! | jenkins | `team/api/main`                   | split at `/`                            |
//! | cctray  | `pipeline :: stage :: job`        | split at ` :: `                         |
//! | github  | `OWNER/REPO/WORKFLOW/BRANCH`      | owner, repo, workflow, the rest         |
//! | gitlab  | `GROUP/SUB/PROJECT/REF`           | the project's own path, then the rest   |
//! | ledtogo | `team-a/web`, `office/team-a/web` | split at `/` (the relay's server first  |
//! |         |                                   | when it relays several)                 |

use crate::model::split_full_name;

/// The separator of levels in cctray names (GoCD: `pipeline :: stage :: job`).
pub const CCTRAY_LEVELS: &str = " :: ";

/// What a server entry is, with the keys only that kind has.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ServerKind {
    /// Jenkins' JSON API (the default).
    #[default]
    Jenkins,
    /// A cctray XML feed: GoCD, Concourse, TeamCity, CircleCI, Buildkite, Jenkins' cctray plugin…
    Cctray,
    /// GitHub Actions: the latest run of each workflow on each branch of these repositories.
    GitHub { repos: Vec<String> },
    /// GitLab: the latest pipeline of each ref of these projects (full paths, `group/sub/project`).
    GitLab { projects: Vec<String> },
    /// Another ledtogo's relay feed (`GET /api/json` of its `[export]`): every server it polls, or only
    /// the one named `upstream`.
    Ledtogo { upstream: Option<String> },
}

impl ServerKind {
    /// The name written in `kind = "…"`.
    pub fn name(&self) -> &'static str {
        match self {
            ServerKind::Jenkins => "jenkins",
            ServerKind::Cctray => "cctray",
            ServerKind::GitHub { .. } => "github",
            ServerKind::GitLab { .. } => "gitlab",
            ServerKind::Ledtogo { .. } => "ledtogo",
        }
    }

    /// What people call it.
    pub fn label(&self) -> &'static str {
        match self {
            ServerKind::Jenkins => "Jenkins",
            ServerKind::Cctray => "cctray feed",
            ServerKind::GitHub { .. } => "GitHub Actions",
            ServerKind::GitLab { .. } => "GitLab",
            ServerKind::Ledtogo { .. } => "ledtogo relay",
        }
    }

    /// The URL used when the entry gives none (`None`: the entry must give one).
    pub fn default_url(&self) -> Option<&'static str> {
        match self {
            ServerKind::GitHub { .. } => Some("https://api.github.com/"),
            ServerKind::GitLab { .. } => Some("https://gitlab.com/"),
            ServerKind::Jenkins | ServerKind::Cctray | ServerKind::Ledtogo { .. } => None,
        }
    }

    /// The levels of a job (or folder) named `text` in a slot of a server of this kind.
    pub fn split_name(&self, text: &str) -> Vec<String> {
        let text = text.trim();
        match self {
            ServerKind::Jenkins | ServerKind::Ledtogo { .. } => split_full_name(text),
            ServerKind::Cctray => text
                .split(CCTRAY_LEVELS)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(encode_level)
                .collect(),
            ServerKind::GitHub { .. } => {
                let mut parts = text.splitn(4, '/').filter(|s| !s.is_empty());
                let mut path: Vec<String> = parts.by_ref().take(3).map(str::to_owned).collect();
                path.extend(parts.map(encode_level));
                path
            }
            ServerKind::GitLab { projects } => {
                // The longest configured project that the name starts with; the rest is the ref.
                let project = projects
                    .iter()
                    .filter(|p| {
                        text.strip_prefix(p.as_str())
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                    })
                    .max_by_key(|p| p.len());
                match project {
                    Some(p) => {
                        let mut path = split_full_name(p);
                        let rest = text[p.len()..].trim_start_matches('/');
                        if !rest.is_empty() {
                            path.push(encode_level(rest));
                        }
                        path
                    }
                    None => split_full_name(text),
                }
            }
        }
    }
}

impl ServerKind {
    /// How the window writes a job (or folder) path in a slot: the kind's own form, which
    /// [`ServerKind::split_name`] reads back to the same levels.
    pub fn name_text(&self, path: &[String]) -> String {
        match self {
            ServerKind::Cctray => path
                .iter()
                .map(|level| decode_level(level))
                .collect::<Vec<_>>()
                .join(CCTRAY_LEVELS),
            _ => path.join("/"),
        }
    }
}

/// The inverse of [`encode_level`] (only `%2F` and `%25`; other escapes are the name's own).
pub fn decode_level(level: &str) -> String {
    level
        .replace("%2F", "/")
        .replace("%2f", "/")
        .replace("%25", "%")
}

/// One level of a job path: `%` and `/` percent-encoded, so the level survives `join("/")`.
pub fn encode_level(level: &str) -> String {
    let mut out = String::with_capacity(level.len());
    for c in level.chars() {
        match c {
            '%' if !looks_encoded(level) => out.push_str("%25"),
            '/' => out.push_str("%2F"),
            c => out.push(c),
        }
    }
    out
}

/// A level that already holds `%2F` or `%25` (read back from a file the window wrote) is kept as is.
fn looks_encoded(level: &str) -> bool {
    let upper = level.to_ascii_uppercase();
    upper.contains("%2F") || upper.contains("%25")
}

/// Checks the `upstream` of a ledtogo relay entry: a server name as the relay's config writes it.
pub fn check_upstream(upstream: &str) -> Result<(), String> {
    if upstream.trim().is_empty() {
        Err(
            "`upstream` is empty: name one of the relay's servers, or leave it out for all"
                .to_owned(),
        )
    } else {
        Ok(())
    }
}

/// Checks a GitHub repository name: `OWNER/REPO`, each of letters, digits, `-`, `_` and `.`.
pub fn check_repo(repo: &str) -> Result<(), String> {
    let ok_part = |p: &str| {
        !p.is_empty()
            && p != "."
            && p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repo.split_once('/') {
        Some((owner, name)) if ok_part(owner) && ok_part(name) => Ok(()),
        _ => Err(format!(
            "{repo:?} is not a GitHub repository: write OWNER/REPO, e.g. \"acme/api\""
        )),
    }
}

/// Checks a GitLab project path: `group/project` or deeper, without empty levels.
pub fn check_project(project: &str) -> Result<(), String> {
    let parts: Vec<&str> = project.split('/').collect();
    let ok_part = |p: &&str| {
        !p.is_empty()
            && *p != "."
            && *p != ".."
            && p.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if parts.len() >= 2 && parts.iter().all(ok_part) {
        Ok(())
    } else {
        Err(format!(
            "{project:?} is not a GitLab project path: write GROUP/PROJECT (or GROUP/SUBGROUP/PROJECT)"
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn cctray_names_split_at_the_gocd_separator_and_keep_slashes_in_a_level() {
        let kind = ServerKind::Cctray;
        assert_eq!(
            kind.split_name("build-linux :: test :: unit"),
            ["build-linux", "test", "unit"]
        );
        assert_eq!(
            kind.split_name("acme/api (main) :: deploy"),
            ["acme%2Fapi (main)", "deploy"]
        );
        assert_eq!(kind.split_name("acme/web"), ["acme%2Fweb"], "one level");
        // What the window writes reads back to the same levels.
        for name in ["acme/api (main) :: deploy", "acme/web", "100% :: a"] {
            let levels = kind.split_name(name);
            assert_eq!(kind.name_text(&levels), name);
            assert_eq!(kind.split_name(&kind.name_text(&levels)), levels);
        }
    }

    #[test]
    fn a_github_branch_is_everything_after_the_workflow() {
        let kind = ServerKind::GitHub {
            repos: vec!["acme/api".into()],
        };
        assert_eq!(
            kind.split_name("acme/api/CI/main"),
            ["acme", "api", "CI", "main"]
        );
        let levels = kind.split_name("acme/api/Build and test/feature/login");
        assert_eq!(levels, ["acme", "api", "Build and test", "feature%2Flogin"]);
        assert_eq!(
            kind.split_name(&kind.name_text(&levels)),
            levels,
            "round trip"
        );
        assert_eq!(
            kind.split_name("acme/api"),
            ["acme", "api"],
            "a repo as a folder"
        );
    }

    #[test]
    fn a_gitlab_ref_follows_the_longest_configured_project() {
        let kind = ServerKind::GitLab {
            projects: vec!["group/sub".into(), "group/sub/project".into()],
        };
        assert_eq!(
            kind.split_name("group/sub/project/release/1.2"),
            ["group", "sub", "project", "release%2F1.2"]
        );
        assert_eq!(kind.split_name("group/sub/main"), ["group", "sub", "main"]);
        let levels = kind.split_name("group/sub/project/release/1.2");
        assert_eq!(kind.split_name(&levels.join("/")), levels, "round trip");
    }

    #[test]
    fn repos_and_projects_are_checked_with_an_example() {
        assert!(check_repo("acme/api").is_ok());
        assert!(check_repo("acme/my.repo_2").is_ok());
        for bad in ["acme", "acme/api/x", "/api", "acme/", "acme/a b", "../x"] {
            let e = check_repo(bad).unwrap_err();
            assert!(e.contains("OWNER/REPO"), "{bad}: {e}");
        }
        assert!(check_project("group/sub/project").is_ok());
        for bad in ["project", "group//p", "group/p/", "a/../b"] {
            assert!(check_project(bad).is_err(), "{bad}");
        }
    }
}
