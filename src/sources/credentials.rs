//! The one place a token is found: the environment variable (`token_env`), the token file (`token_file`)
//! or the OS keyring entry (`token_keyring`) a server entry names; and the keyring's store and delete for
//! the settings editor. Tokens are held in [`Secret`], whose `Debug` prints nothing, so neither a log line
//! nor a `{:?}` can show one.
//!
//! A keyring entry is keyed by the service [`KEYRING_SERVICE`] (`"ledtogo"`) and the account
//! [`keyring_account`]: `user@url`, the URL with a trailing slash (`alice@https://ci.example.com/jenkins/`),
//! so two server entries for the same Jenkins and user (a view with its own LED) share one token. The
//! keyring is the Secret Service on Linux and the BSDs (GNOME Keyring, KWallet, KeePassXC; through
//! libdbus, synchronously), the login keychain on macOS and the Credential Manager on Windows.

use std::sync::Arc;

use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use thiserror::Error;

use crate::config::{ExportAuth, ServerConfig, TokenSource};
use crate::sources::jenkins::tree::normalize_base;

/// A token, password or auth header: `Debug` shows `[REDACTED]`, and reading it takes
/// `expose_secret()`.
#[derive(Clone, Default)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(SecretString::from(text.into()))
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl ExposeSecret<str> for Secret {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret() == other.expose_secret()
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<hidden>)")
    }
}

/// User name and API token, sent pre-emptively on every request.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub token: Secret,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("token", &"<hidden>")
            .finish()
    }
}

impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        self.user == other.user && self.token.expose_secret() == other.token.expose_secret()
    }
}

impl Eq for Credentials {}

impl Credentials {
    /// A user and a token as typed or read: surrounding white space (a file's newline) is dropped.
    pub fn new(user: &str, token: &str) -> Self {
        Self {
            user: user.trim().to_owned(),
            token: Secret::new(token.trim()),
        }
    }

    /// The auth header (name and value) in `style`.
    pub fn header(&self, style: super::http::AuthStyle) -> (&'static str, Secret) {
        use super::http::AuthStyle;
        let token = self.token.expose_secret().trim();
        match style {
            AuthStyle::Basic => ("Authorization", self.basic_header()),
            AuthStyle::Bearer => ("Authorization", Secret::new(format!("Bearer {token}"))),
            AuthStyle::PrivateToken => ("PRIVATE-TOKEN", Secret::new(token)),
        }
    }

    /// The `Authorization` header value for Basic auth.
    pub fn basic_header(&self) -> Secret {
        let raw = format!("{}:{}", self.user, self.token.expose_secret());
        Secret::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

/// Why a token cannot be found. The message names whose token it is (a server, or the relay's
/// `[export]`) and where it looked.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CredentialError {
    #[error("{whose}: a token is configured but no `user`")]
    NoUser { whose: String },
    #[error("{whose}: environment variable {var} (token_env) is not set")]
    EnvNotSet { whose: String, var: String },
    #[error("{whose}: cannot read token_file {path}: {reason}")]
    File {
        whose: String,
        path: String,
        reason: String,
    },
    #[error("{whose}: {place} is empty")]
    Empty { whose: String, place: String },
    #[error("{whose}: token_keyring: {reason}; type the token again in the window's Servers tab")]
    Keyring { whose: String, reason: KeyringError },
}

/// The keyring's service name for every ledtogo token.
pub const KEYRING_SERVICE: &str = "ledtogo";

/// The keyring account of a server's token: `user@url`, the URL with a trailing slash.
pub fn keyring_account(url: &str, user: &str) -> String {
    format!("{}@{}", user.trim(), normalize_base(url))
}

/// Why the OS keyring cannot store, find or delete a token.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum KeyringError {
    /// No keyring service answers: no session bus or no Secret Service on it (a headless machine, a
    /// bare session), or an OS without a supported keyring.
    #[error("no keyring service answers ({0})")]
    Unavailable(String),
    #[error("the keyring has no entry for {account} (service \"{KEYRING_SERVICE}\")")]
    NoEntry { account: String },
    #[error("the keyring entry for {account} (service \"{KEYRING_SERVICE}\"): {reason}")]
    Failed { account: String, reason: String },
}

/// Stores `token` (trimmed) in the OS keyring for `user` on the server at `url`, replacing an older one.
pub fn keyring_store(url: &str, user: &str, token: &str) -> Result<(), KeyringError> {
    let account = keyring_account(url, user);
    entry(&account)?
        .set_password(token.trim())
        .map_err(|e| failed(&account, &e))
}

/// Deletes the keyring entry of `user` on `url`. `Ok(false)`: there was none.
pub fn keyring_delete(url: &str, user: &str) -> Result<bool, KeyringError> {
    let account = keyring_account(url, user);
    match entry(&account)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring_core::Error::NoEntry) => Ok(false),
        Err(e) => Err(failed(&account, &e)),
    }
}

/// The token of `user` on `url` in the OS keyring.
pub fn keyring_read(url: &str, user: &str) -> Result<Secret, KeyringError> {
    let account = keyring_account(url, user);
    match entry(&account)?.get_password() {
        Ok(token) => Ok(Secret::new(token)),
        Err(keyring_core::Error::NoEntry) => Err(KeyringError::NoEntry { account }),
        Err(e) => Err(failed(&account, &e)),
    }
}

fn failed(account: &str, e: &keyring_core::Error) -> KeyringError {
    KeyringError::Failed {
        account: account.to_owned(),
        reason: e.to_string(),
    }
}

/// The keyring entry for `account`, in a store opened now (a keyring service started or stopped since the
/// last call counts).
fn entry(account: &str) -> Result<keyring_core::Entry, KeyringError> {
    let store = open_store().map_err(|e| KeyringError::Unavailable(e.to_string()))?;
    keyring_core::Entry::new_in_store(&store, KEYRING_SERVICE, account)
        .map_err(|e| failed(account, &e))
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn open_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    let store: Arc<keyring_core::CredentialStore> =
        dbus_secret_service_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "macos")]
fn open_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    let store: Arc<keyring_core::CredentialStore> =
        apple_native_keyring_store::keychain::Store::new()?;
    Ok(store)
}

#[cfg(target_os = "windows")]
fn open_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    let store: Arc<keyring_core::CredentialStore> = windows_native_keyring_store::Store::new()?;
    Ok(store)
}

#[cfg(not(any(
    all(
        unix,
        not(any(target_os = "macos", target_os = "ios", target_os = "android"))
    ),
    target_os = "macos",
    target_os = "windows"
)))]
fn open_store() -> keyring_core::Result<Arc<keyring_core::CredentialStore>> {
    Err(keyring_core::Error::NotSupportedByStore(
        "ledtogo has no keyring for this OS".into(),
    ))
}

/// The credentials of a server entry, looked up now (so a rotated token applies to the next lookup);
/// `None` for an anonymous server.
pub fn lookup(server: &ServerConfig) -> Result<Option<Credentials>, CredentialError> {
    let whose = format!("server {:?}", server.name);
    // GitHub and GitLab tokens stand alone; Basic auth (Jenkins, cctray) needs the user.
    if server.user.is_none() && server.token != TokenSource::None && !token_only(&server.kind) {
        return Err(CredentialError::NoUser { whose });
    }
    find(
        &whose,
        server.user.as_deref().unwrap_or_default(),
        &server.token,
        &server.url,
    )
}

/// The user and token the relay's readers must send (`[export]`), looked up now, by the same rules as a
/// server's token.
pub fn export_lookup(auth: &ExportAuth) -> Result<Credentials, CredentialError> {
    let whose = "[export]".to_owned();
    match find(&whose, &auth.user, &auth.token, "")? {
        Some(credentials) => Ok(credentials),
        None => Err(CredentialError::Empty {
            whose,
            place: "the token setting".to_owned(),
        }),
    }
}

/// The token `source` names, for `user` (`url` keys a keyring entry); `None` for no token.
fn find(
    whose: &str,
    user: &str,
    source: &TokenSource,
    url: &str,
) -> Result<Option<Credentials>, CredentialError> {
    let whose = || whose.to_owned();
    let (token, place) = match source {
        TokenSource::None => return Ok(None),
        TokenSource::Env(var) => {
            let token = std::env::var(var).map_err(|_| CredentialError::EnvNotSet {
                whose: whose(),
                var: var.clone(),
            })?;
            (token, format!("environment variable {var}"))
        }
        TokenSource::File(path) => {
            let token = std::fs::read_to_string(path).map_err(|e| CredentialError::File {
                whose: whose(),
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            (token, format!("token_file {}", path.display()))
        }
        TokenSource::Keyring => {
            let token = keyring_read(url, user).map_err(|reason| CredentialError::Keyring {
                whose: whose(),
                reason,
            })?;
            let place = format!("the keyring entry {}", keyring_account(url, user));
            (token.expose_secret().to_owned(), place)
        }
    };
    if token.trim().is_empty() {
        return Err(CredentialError::Empty {
            whose: whose(),
            place,
        });
    }
    Ok(Some(Credentials::new(user, &token)))
}

/// Kinds whose token is sent alone (no user name).
fn token_only(kind: &crate::config::ServerKind) -> bool {
    matches!(
        kind,
        crate::config::ServerKind::GitHub { .. } | crate::config::ServerKind::GitLab { .. }
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::Config;

    fn servers(text: &str, dir: &std::path::Path) -> Vec<ServerConfig> {
        Config::parse(text, Some(&dir.join("config.toml")))
            .unwrap()
            .servers
    }

    #[test]
    fn tokens_come_from_the_environment_or_a_file_and_missing_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
        let text = "[[servers]]\nname = \"a\"\nurl = \"https://a.example/\"\nuser = \"alice\"\ntoken_file = \"token\"\n\
                    [[servers]]\nname = \"b\"\nurl = \"https://b.example/\"\nuser = \"bob\"\ntoken_env = \"LEDTOGO_TEST_SURELY_UNSET\"\n\
                    [[servers]]\nname = \"c\"\nurl = \"https://c.example/\"\n";
        let s = servers(text, dir.path());
        let a = lookup(&s[0]).unwrap().unwrap();
        assert_eq!(a, Credentials::new("alice", "s3cret"));
        let e = lookup(&s[1]).unwrap_err().to_string();
        assert!(e.contains("LEDTOGO_TEST_SURELY_UNSET"), "{e}");
        assert_eq!(lookup(&s[2]).unwrap(), None, "anonymous");
    }

    #[test]
    fn an_unreadable_or_empty_token_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let text = "[[servers]]\nname = \"a\"\nurl = \"https://a.example/\"\nuser = \"alice\"\ntoken_file = \"absent\"\n\
                    [[servers]]\nname = \"b\"\nurl = \"https://b.example/\"\nuser = \"bob\"\ntoken_file = \"empty\"\n";
        let s = servers(text, dir.path());
        let absent = lookup(&s[0]).unwrap_err().to_string();
        assert!(
            absent.contains("absent") && absent.contains("\"a\""),
            "{absent}"
        );
        let empty = lookup(&s[1]).unwrap_err().to_string();
        assert!(
            empty.contains("empty") && empty.contains("\"b\""),
            "{empty}"
        );
    }

    #[test]
    fn the_relays_reader_token_follows_the_same_rules_and_names_export() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("relay.token"), "r3lay\n").unwrap();
        let text =
            "[export]\nlisten = \"127.0.0.1:0\"\nuser = \"office\"\ntoken_file = \"relay.token\"\n";
        let config = Config::parse(text, Some(&dir.path().join("config.toml"))).unwrap();
        let auth = config.export.unwrap().auth.unwrap();
        assert_eq!(
            export_lookup(&auth).unwrap(),
            Credentials::new("office", "r3lay")
        );
        let unset = ExportAuth {
            user: "office".into(),
            token: TokenSource::Env("LEDTOGO_TEST_SURELY_UNSET".into()),
        };
        let e = export_lookup(&unset).unwrap_err().to_string();
        assert_eq!(
            e,
            "[export]: environment variable LEDTOGO_TEST_SURELY_UNSET (token_env) is not set"
        );
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let c = Credentials::new("alice", " s3cret \n");
        let shown = format!("{c:?} {:?}", c.basic_header());
        assert!(shown.contains("alice"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("YWxpY2U6czNjcmV0"), "{shown}");
        assert_eq!(
            c.basic_header().expose_secret(),
            "Basic YWxpY2U6czNjcmV0",
            "the token is trimmed"
        );
    }
}
