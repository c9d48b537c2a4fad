//! The lobby: which rooms exist, who may take a seat in them, and the ids that must be unique across the
//! server (players, room memberships, room seeds).
//!
//! The lobby is the single authority on seat counts: a seat is reserved here, under one short lock,
//! before the join request is handed to the room, so two players can never both take the last seat.
//! Rooms run on their own tasks and only come back here to close themselves once empty.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arena_protocol::{ErrorCode, ROOM_CODE_ALPHABET, ROOM_CODE_LEN, TuningInfo};
use futures_util::FutureExt;
use rand::Rng;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::assets::GameData;
use crate::config::Config;
use crate::game_loop::GameLoops;
use crate::metrics::Metrics;
use crate::room::{self, ROOM_COMMAND_QUEUE, RoomCommand};

/// Why a seat could not be had.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LobbyError {
    /// The room has no free seat.
    #[error("room {code} is full ({capacity} of {capacity} players)")]
    RoomFull {
        /// The room.
        code: String,
        /// Its capacity.
        capacity: u16,
    },
    /// No room has that code.
    #[error("no room has the code {0:?}")]
    NotFound(String),
    /// The server is at its room limit.
    #[error("the server is at its limit of {0} rooms; try again later")]
    ServerFull(usize),
}

impl LobbyError {
    /// The protocol error code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::RoomFull { .. } => ErrorCode::RoomFull,
            Self::NotFound(_) => ErrorCode::RoomNotFound,
            Self::ServerFull(_) => ErrorCode::ServerFull,
        }
    }
}

/// A reserved seat: the room to send the join request to. Give it back with [`Lobby::release`] when the
/// player leaves (or the join request could not be delivered).
#[derive(Debug, Clone)]
pub struct Seat {
    /// The room's code.
    pub code: String,
    /// The room's command channel.
    pub room: mpsc::Sender<RoomCommand>,
}

/// A public room as listed by `GET /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoomListing {
    /// The room's code.
    pub code: String,
    /// Seats taken.
    pub players: u16,
    /// Seats in all.
    pub capacity: u16,
}

/// A seat kept for a player who lost the connection, keyed by their reconnect token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldSeat {
    /// The player's id.
    pub player: u32,
    /// The player's name.
    pub name: String,
    /// The room the seat is in.
    pub code: String,
}

#[derive(Debug, Default)]
struct LobbyState {
    rooms: HashMap<String, RoomEntry>,
    /// Held seats by reconnect token. Each still counts in its room's `players`.
    held: HashMap<String, HeldSeat>,
}

#[derive(Debug)]
struct RoomEntry {
    public: bool,
    players: u16,
    capacity: u16,
    /// Creation order, to prefer older rooms in quick play.
    serial: u64,
    commands: mpsc::Sender<RoomCommand>,
}

/// The server's rooms and ids.
#[derive(Debug)]
pub struct Lobby {
    config: Arc<Config>,
    game: Arc<GameData>,
    state: Mutex<LobbyState>,
    tuning: TuningInfo,
    rooms_created: AtomicU64,
    next_player: AtomicU32,
    next_membership: AtomicU64,
    started: Instant,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    /// Where rooms run.
    game_loops: Arc<GameLoops>,
}

impl Lobby {
    /// A lobby with no rooms. Room tasks run on `game_loops`, are tracked by `tasks` and stop when
    /// `shutdown` is cancelled.
    pub fn new(
        config: Arc<Config>,
        game: Arc<GameData>,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
        game_loops: Arc<GameLoops>,
    ) -> Self {
        Self {
            tuning: game.tuning_info(config.tick_rate),
            config,
            game,
            state: Mutex::new(LobbyState::default()),
            rooms_created: AtomicU64::new(0),
            next_player: AtomicU32::new(1),
            next_membership: AtomicU64::new(1),
            started: Instant::now(),
            metrics,
            shutdown,
            tasks,
            game_loops,
        }
    }

    /// The server configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Milliseconds since the server started: the clock in `welcome` and `pong`.
    pub fn server_time_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// A new, server-unique player id.
    pub fn next_player_id(&self) -> u32 {
        self.next_player.fetch_add(1, Ordering::Relaxed)
    }

    /// A new, server-unique room membership id (never 0).
    pub fn next_membership(&self) -> u64 {
        self.next_membership.fetch_add(1, Ordering::Relaxed)
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The movement and weapon rules sent in `welcome`.
    pub fn tuning(&self) -> TuningInfo {
        self.tuning
    }

    fn lock(&self) -> MutexGuard<'_, LobbyState> {
        // A panic while holding this lock cannot leave the state half-updated (every update is one
        // statement), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a disconnected player's seat for them, under their reconnect token. The room keeps their
    /// score until [`Lobby::expire_hold`] says the time is up.
    pub fn hold(&self, token: String, seat: HeldSeat) {
        self.lock().held.insert(token, seat);
    }

    /// Takes back a held seat. The seat stays reserved: send the room a join request, or release it.
    pub fn reclaim(&self, token: &str) -> Option<(HeldSeat, mpsc::Sender<RoomCommand>)> {
        let mut state = self.lock();
        let seat = state.held.remove(token)?;
        state.rooms.get(&seat.code).map(|room| (seat, room.commands.clone()))
    }

    /// Ends a hold whose grace period ran out and frees its seat; `false` if it was reclaimed meanwhile.
    pub fn expire_hold(&self, code: &str, player: u32) -> bool {
        let mut state = self.lock();
        let token =
            state.held.iter().find(|(_, h)| h.player == player && h.code == code).map(|(t, _)| t.clone());
        let Some(token) = token else { return false };
        state.held.remove(&token);
        if let Some(room) = state.rooms.get_mut(code) {
            room.players = room.players.saturating_sub(1);
        }
        true
    }

    /// Seats the player in the fullest public room with a free seat (the oldest among equals), or in a
    /// new public room.
    pub fn quick_play(self: &Arc<Self>) -> Result<Seat, LobbyError> {
        let mut state = self.lock();
        let best = state
            .rooms
            .iter_mut()
            .filter(|(_, r)| r.public && r.players < r.capacity && !r.commands.is_closed())
            .max_by_key(|(_, r)| (r.players, std::cmp::Reverse(r.serial)));
        if let Some((code, entry)) = best {
            entry.players += 1;
            return Ok(Seat { code: code.clone(), room: entry.commands.clone() });
        }
        self.create_locked(&mut state.rooms, true)
    }

    /// Creates a private room and seats the player in it.
    pub fn create_private(self: &Arc<Self>) -> Result<Seat, LobbyError> {
        let mut state = self.lock();
        self.create_locked(&mut state.rooms, false)
    }

    /// Seats the player in the room with this code (case-insensitive).
    pub fn join(&self, code: &str) -> Result<Seat, LobbyError> {
        let code = normalize_code(code).ok_or_else(|| LobbyError::NotFound(shorten(code)))?;
        let mut state = self.lock();
        let entry = state.rooms.get_mut(&code).ok_or_else(|| LobbyError::NotFound(code.clone()))?;
        if entry.players >= entry.capacity {
            return Err(LobbyError::RoomFull { code, capacity: entry.capacity });
        }
        entry.players += 1;
        Ok(Seat { code, room: entry.commands.clone() })
    }

    /// Gives a seat back.
    pub fn release(&self, code: &str) {
        if let Some(entry) = self.lock().rooms.get_mut(code) {
            entry.players = entry.players.saturating_sub(1);
        }
    }

    /// Removes a room if no seat in it is taken or reserved. Called by the room itself after its grace
    /// period; returns whether it was removed (if not, a player is on the way in).
    pub fn close_if_empty(&self, code: &str) -> bool {
        let mut state = self.lock();
        if state.rooms.get(code).is_some_and(|r| r.players == 0) {
            state.rooms.remove(code);
            self.metrics.rooms.decrement(1.0);
            info!(room = code, rooms = state.rooms.len(), "closed empty room");
            true
        } else {
            false
        }
    }

    /// Removes a room that stopped on its own (an internal error), with any seats held in it.
    pub fn remove(&self, code: &str) {
        let mut state = self.lock();
        if state.rooms.remove(code).is_some() {
            self.metrics.rooms.decrement(1.0);
        }
        state.held.retain(|_, h| h.code != code);
    }

    /// The public rooms, fullest first.
    pub fn public_rooms(&self) -> Vec<RoomListing> {
        let state = self.lock();
        let mut list: Vec<(u64, RoomListing)> = state
            .rooms
            .iter()
            .filter(|(_, r)| r.public)
            .map(|(code, r)| {
                (r.serial, RoomListing { code: code.clone(), players: r.players, capacity: r.capacity })
            })
            .collect();
        drop(state);
        list.sort_by_key(|(serial, r)| (std::cmp::Reverse(r.players), *serial));
        list.into_iter().map(|(_, r)| r).collect()
    }

    /// The number of open rooms.
    pub fn room_count(&self) -> usize {
        self.lock().rooms.len()
    }

    fn create_locked(
        self: &Arc<Self>,
        rooms: &mut HashMap<String, RoomEntry>,
        public: bool,
    ) -> Result<Seat, LobbyError> {
        if rooms.len() >= self.config.max_rooms {
            return Err(LobbyError::ServerFull(self.config.max_rooms));
        }
        let mut rng = rand::rng();
        // 23^5 = 6.4 million codes; at the room limit a random one is free with overwhelming odds, and
        // the loop is bounded anyway.
        let code = (0..64)
            .map(|_| {
                (0..ROOM_CODE_LEN)
                    .map(|_| char::from(ROOM_CODE_ALPHABET[rng.random_range(0..ROOM_CODE_ALPHABET.len())]))
                    .collect::<String>()
            })
            .find(|code| !rooms.contains_key(code))
            .ok_or(LobbyError::ServerFull(self.config.max_rooms))?;
        let serial = self.rooms_created.fetch_add(1, Ordering::Relaxed);
        let seed = self.config.seed ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let (tx, rx) = mpsc::channel(ROOM_COMMAND_QUEUE);
        rooms.insert(
            code.clone(),
            RoomEntry {
                public,
                players: 1,
                capacity: self.config.room_capacity,
                serial,
                commands: tx.clone(),
            },
        );
        self.metrics.rooms.increment(1.0);
        let spec = room::RoomSpec { code: code.clone(), public, seed };
        let task = room::Room::new(spec, Arc::clone(&self.game), Arc::clone(self), rx);
        let lobby = Arc::clone(self);
        let room_code = code.clone();
        let shutdown = self.shutdown.clone();
        let game_loop = self.game_loops.next();
        self.tasks.spawn_on(
            async move {
                // A panicking room must not take the others down: it is logged and removed, and its players
                // learn from their closed input channels that it is gone.
                if let Err(panic) = std::panic::AssertUnwindSafe(task.run(shutdown)).catch_unwind().await {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    tracing::error!(room = %room_code, panic = %what, "room task panicked; room closed");
                    lobby.remove(&room_code);
                }
            },
            game_loop,
        );
        info!(room = %code, public, seed, rooms = rooms.len(), "opened room");
        Ok(Seat { code, room: tx })
    }
}

/// A room code in canonical form (upper case), or `None` if it cannot be one.
pub fn normalize_code(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    let valid = code.len() == ROOM_CODE_LEN && code.bytes().all(|b| ROOM_CODE_ALPHABET.contains(&b));
    valid.then_some(code)
}

/// A client-supplied string cut to a length fit for an error message.
fn shorten(s: &str) -> String {
    s.chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lobby(capacity: u16, max_rooms: usize) -> Arc<Lobby> {
        let mut config = Config::for_tests();
        config.room_capacity = capacity;
        config.max_rooms = max_rooms;
        let game = GameData::load(&config.assets, &config.map).expect("assets");
        let metrics = Arc::new(Metrics::new());
        Arc::new(Lobby::new(
            Arc::new(config),
            Arc::new(game),
            metrics,
            CancellationToken::new(),
            TaskTracker::new(),
            Arc::new(GameLoops::start(1).expect("game loop thread")),
        ))
    }

    #[tokio::test]
    async fn quick_play_fills_a_room_before_opening_another() {
        let lobby = lobby(2, 10);
        let a = lobby.quick_play().expect("seat");
        let b = lobby.quick_play().expect("seat");
        let c = lobby.quick_play().expect("seat");
        assert_eq!(a.code, b.code);
        assert_ne!(a.code, c.code);
        assert_eq!(lobby.room_count(), 2);
    }

    #[tokio::test]
    async fn private_rooms_are_not_listed_or_quick_played() {
        let lobby = lobby(4, 10);
        let private = lobby.create_private().expect("seat");
        let public = lobby.quick_play().expect("seat");
        assert_ne!(private.code, public.code);
        let listed: Vec<String> = lobby.public_rooms().into_iter().map(|r| r.code).collect();
        assert_eq!(listed, vec![public.code]);
        // Join by code works for both, in any case.
        lobby.join(&private.code.to_lowercase()).expect("join private by code");
    }

    #[tokio::test]
    async fn full_and_unknown_rooms_are_errors() {
        let lobby = lobby(1, 10);
        let seat = lobby.create_private().expect("seat");
        assert_eq!(
            lobby.join(&seat.code).map(|_| ()),
            Err(LobbyError::RoomFull { code: seat.code.clone(), capacity: 1 })
        );
        lobby.release(&seat.code);
        lobby.join(&seat.code).expect("a released seat is free again");
        assert!(matches!(lobby.join("ZZZZZ"), Err(LobbyError::NotFound(_))));
        assert!(
            matches!(lobby.join("not a code at all, far too long"), Err(LobbyError::NotFound(c)) if c.len() <= 16)
        );
    }

    #[tokio::test]
    async fn the_room_limit_holds() {
        let lobby = lobby(1, 2);
        lobby.quick_play().expect("seat");
        lobby.quick_play().expect("seat");
        assert_eq!(lobby.quick_play().map(|_| ()), Err(LobbyError::ServerFull(2)));
    }

    #[tokio::test]
    async fn held_seats_count_until_reclaimed_or_expired() {
        let lobby = lobby(1, 10);
        let seat = lobby.create_private().expect("seat");
        let held = HeldSeat { player: 1, name: "a".into(), code: seat.code.clone() };
        lobby.hold("token".into(), held.clone());
        assert!(matches!(lobby.join(&seat.code), Err(LobbyError::RoomFull { .. })), "a held seat is taken");
        assert!(lobby.reclaim("wrong").is_none());
        let (back, _) = lobby.reclaim("token").expect("reclaimed");
        assert_eq!(back, held);
        assert!(!lobby.expire_hold(&seat.code, 1), "reclaimed: nothing to expire");
        lobby.hold("token".into(), held);
        assert!(lobby.expire_hold(&seat.code, 1));
        lobby.join(&seat.code).expect("the expired seat is free");
    }

    #[tokio::test]
    async fn only_empty_rooms_close() {
        let lobby = lobby(4, 10);
        let seat = lobby.create_private().expect("seat");
        assert!(!lobby.close_if_empty(&seat.code));
        lobby.release(&seat.code);
        assert!(lobby.close_if_empty(&seat.code));
        assert!(matches!(lobby.join(&seat.code), Err(LobbyError::NotFound(_))));
    }

    #[test]
    fn codes_are_normalized() {
        assert_eq!(normalize_code(" kqztr "), Some("KQZTR".into()));
        assert_eq!(normalize_code("KQZT0"), None, "0 is not in the alphabet");
        assert_eq!(normalize_code("KQZTRR"), None);
    }
}
