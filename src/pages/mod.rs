pub mod change_password;
pub mod home;
pub mod insights;
pub mod not_found;
pub mod reset;
pub mod security_info;
pub mod signin;
pub mod theme_preview;
