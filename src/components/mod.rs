pub mod brand;
pub mod footer;
pub mod helpdesk_link;
pub mod layout;
pub mod username_field;
