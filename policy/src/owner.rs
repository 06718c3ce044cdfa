//! Who the password is for: their names must not appear in it, and zxcvbn
//! treats them as guessable.

use sspr_proto::config::PasswordContext;

/// The owner of a password, by their names and address.
#[derive(Debug, Clone, Copy)]
pub struct Owner<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
}

impl Owner<'_> {
    /// User name, each part of the display name, and the email's local part.
    pub fn names(&self) -> Vec<&str> {
        let mut names = vec![self.username];
        names.extend(self.display_name.split_whitespace());
        names.extend(self.email.and_then(|e| e.split('@').next()));
        names
    }
}

/// The owner named in a wire type (the context the server sends the worker).
pub trait OwnerOf {
    fn owner(&self) -> Owner<'_>;
}

impl OwnerOf for PasswordContext {
    fn owner(&self) -> Owner<'_> {
        Owner {
            username: &self.username,
            display_name: &self.display_name,
            email: self.email.as_deref(),
        }
    }
}
