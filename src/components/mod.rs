pub mod brand;
pub mod error_box;
pub mod footer;
pub mod helpdesk_link;
pub mod layout;
pub mod new_password_field;
pub mod qr;
pub mod username_field;
