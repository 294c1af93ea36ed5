//! Text typed into a password field: egui edits it like a `String`, but `Debug` shows nothing and the
//! memory is wiped when it is dropped, so a token typed in the window never reaches a log.

use std::ops::Range;

use egui::text::CharIndex;
use secrecy::zeroize::Zeroize as _;

/// The contents of a password field.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretText(String);

impl SecretText {
    /// The typed text, for the one place that needs it (saving, testing the connection).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Nothing typed but white space.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl From<&str> for SecretText {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

impl std::fmt::Debug for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretText(<hidden>)")
    }
}

impl Drop for SecretText {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl egui::TextBuffer for SecretText {
    fn is_mutable(&self) -> bool {
        true
    }

    fn as_str(&self) -> &str {
        &self.0
    }

    fn insert_text(&mut self, text: &str, char_index: CharIndex) -> usize {
        self.0.insert_text(text, char_index)
    }

    fn delete_char_range(&mut self, char_range: Range<CharIndex>) {
        self.0.delete_char_range(char_range);
    }

    fn type_id(&self) -> std::any::TypeId {
        std::any::TypeId::of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_typed_token() {
        let typed = SecretText::from("s3cret");
        assert_eq!(format!("{typed:?}"), "SecretText(<hidden>)");
        assert_eq!(typed.expose(), "s3cret");
        assert!(!typed.is_blank() && SecretText::from("  ").is_blank());
    }
}
