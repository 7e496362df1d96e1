//! A password or bindkey on its way from a person to the keyring.

use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// A secret as typed into a form and carried over IPC to the engine, which moves it into the
/// keyring at once. `Debug` prints `<redacted>` and its bytes are zeroed when it is dropped.
///
/// Unlike the engine's `Secret` it serializes: the UI has to send it. It only ever travels in a
/// request (UI → engine), never in an answer, and the engine turns it into a `Secret` before
/// doing anything else with it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretInput(Zeroizing<String>);

impl SecretInput {
    /// What was typed, or None when nothing (blank) was: a blank field means "keep".
    pub fn typed(text: String) -> Option<Self> {
        let text = Zeroizing::new(text);
        (!text.trim().is_empty()).then_some(SecretInput(text))
    }

    /// Whether nothing but white space was typed.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// The text, for the one place that moves it into a `Secret`.
    pub fn into_text(self) -> Zeroizing<String> {
        self.0
    }
}

impl From<&str> for SecretInput {
    fn from(text: &str) -> Self {
        SecretInput(Zeroizing::new(text.to_owned()))
    }
}

impl fmt::Debug for SecretInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_text() {
        let s = SecretInput::from("hunter2");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn blank_is_nothing_typed() {
        assert!(SecretInput::typed("  ".into()).is_none());
        assert_eq!(
            *SecretInput::typed("k".into()).unwrap().into_text(),
            "k".to_owned()
        );
    }

    #[test]
    fn it_crosses_ipc_as_a_plain_string() {
        let s: SecretInput = serde_json::from_str("\"p\\u00e4ss\"").unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"päss\"");
    }
}
