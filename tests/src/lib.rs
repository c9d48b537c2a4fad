//! Arena's headless client and the tools built on it: the bots that load-test a server, and the helpers
//! the end-to-end tests use to start the real server binary and talk to it.
//!
//! # Layout
//! - [`client`]: a WebSocket client that speaks the protocol ([`client::Client`]).
//! - [`bench`]: the benchmark's measurements (`/proc`, `/metrics`, bots) and its table and plot.
//! - [`bot`]: one bot: connect, join, send an input every tick, ping, count what arrives.
//! - [`cluster`]: a real `redis-server` and `arena-server` nodes joined to it, for the cluster's tests
//!   and benchmark.
//! - [`brain`]: what a bot does each tick (`wander` or `fight`).
//! - [`duel`]: the lag compensation scenario's players (a strafing target, a marksman that aims at it as
//!   the web client draws it).
//! - [`machine`]: the CPU model, the cores, and pinning the server and the bots to disjoint cores.
//! - [`report`]: turning many bots' counts into the summary `arena-bots` prints.
//! - [`server`]: a server to test against on an ephemeral port: in this process ([`server::TestServer`])
//!   or the real binary as a child ([`server::ServerProcess`]).
//! - [`http`]: a minimal HTTP GET for the tests' look at `/api/rooms` and friends.
//! - [`raw`]: a WebSocket peer that answers nothing, to hear exactly what the server says to a silent
//!   client.

pub mod bench;
pub mod bot;
pub mod brain;
pub mod client;
pub mod cluster;
pub mod duel;
pub mod http;
pub mod machine;
pub mod raw;
pub mod report;
pub mod server;
