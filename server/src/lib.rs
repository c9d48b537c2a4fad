//! Arena's authoritative game server.
pub mod assets;
pub mod sim;
