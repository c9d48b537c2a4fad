//! The lobby: which rooms exist, who may take a seat in them, and the seats held for players who lost
//! their connection.
//!
//! The lobby is the single authority on seats: a seat is reserved here, under one short lock, before
//! the join request is handed to the room, so two players can never both take the last seat; and a held
//! seat (with its deadline) exists only here, so a reconnect and the grace running out cannot both win.
//! Rooms run on their own tasks and ask the lobby only what [`RoomDirectory`] offers: whether they may
//! close, and whose held seats ran out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use arena_protocol::ErrorCode;
use futures_util::FutureExt;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::info;

use crate::context::ServerContext;
use crate::ids::{PlayerId, ReconnectToken, RoomCode};
use crate::room::{self, ROOM_COMMAND_QUEUE, RoomCommand, RoomDirectory};
use crate::status::RoomStatus;

/// How many random codes a new room tries before giving up. 23^5 = 6.4 million codes: at the room limit
/// a random one is free with overwhelming odds, and the loop is bounded anyway.
const CODE_ATTEMPTS: usize = 64;

/// The most characters of a client's would-be room code quoted back in an error.
const QUOTED_CODE_CHARS: usize = 16;

/// Why a seat could not be had.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum LobbyError {
    /// The room has no free seat.
    #[error("room {code} is full ({capacity} of {capacity} players)")]
    RoomFull {
        /// The room.
        code: RoomCode,
        /// Its capacity.
        capacity: u16,
    },
    /// The node is draining (shutting down in a cluster): it opens no new rooms.
    #[error("this node is shutting down and opens no new rooms; try again in a moment")]
    Draining,
    /// No room has that code (or it could not be a code at all).
    #[error("no room has the code {0:?}")]
    NotFound(String),
    /// The server is at its room limit.
    #[error("the server is at its limit of {0} rooms; try again later")]
    ServerFull(usize),
    /// The room has as many spectators as it takes.
    #[error("room {code} has {max} spectators already, as many as it takes")]
    TooManySpectators {
        /// The room.
        code: RoomCode,
        /// `--max-spectators`.
        max: u16,
    },
}

impl LobbyError {
    /// The protocol error code for this error.
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            Self::RoomFull { .. } | Self::TooManySpectators { .. } => ErrorCode::RoomFull,
            Self::NotFound(_) => ErrorCode::RoomNotFound,
            Self::ServerFull(_) | Self::Draining => ErrorCode::ServerFull,
        }
    }
}

/// A reserved seat: the room to send the join request to. Give it back with [`Lobby::release`] when the
/// player leaves (or the join request could not be delivered).
#[derive(Debug, Clone)]
pub(crate) struct Seat {
    /// The room's code.
    pub(crate) code: RoomCode,
    /// The room's command channel.
    pub(crate) room: mpsc::Sender<RoomCommand>,
}

/// A public room as listed by `GET /api/rooms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RoomListing {
    /// The room's code.
    pub(crate) code: RoomCode,
    /// Seats taken (held ones included).
    pub(crate) players: u16,
    /// Seats in all.
    pub(crate) capacity: u16,
    /// The node it is on, in a cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) node: Option<String>,
}

/// A room as the status page lists it: a private room's code is left out (it would let anyone in).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct StatusRoom {
    /// The code, for a public room.
    pub(crate) code: Option<String>,
    /// Whether it is public.
    pub(crate) public: bool,
    /// Seats taken (held ones included).
    pub(crate) players: u16,
    /// Seats in all.
    pub(crate) capacity: u16,
    /// Spectators watching.
    pub(crate) spectators: u16,
    /// The match's phase.
    pub(crate) phase: arena_protocol::Phase,
    /// Seconds left of the phase (0 in warm-up, which has no end).
    pub(crate) seconds_left: f64,
}

/// A seat kept for a player who lost the connection, until a deadline. It still counts in its room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeldSeat {
    /// The player's id.
    pub(crate) player: PlayerId,
    /// The player's name.
    pub(crate) name: String,
    /// The room the seat is in.
    pub(crate) code: RoomCode,
    /// When the seat is given up.
    pub(crate) until: Instant,
}

#[derive(Debug, Default)]
struct LobbyState {
    rooms: HashMap<RoomCode, RoomEntry>,
    /// Held seats by reconnect token.
    held: HashMap<ReconnectToken, HeldSeat>,
}

#[derive(Debug)]
struct RoomEntry {
    public: bool,
    /// Seats taken, reserved or held.
    players: u16,
    capacity: u16,
    /// Creation order, to prefer older rooms in quick play.
    serial: u64,
    commands: mpsc::Sender<RoomCommand>,
    /// Spectators watching (not players: they take no seat).
    spectators: u16,
    /// The room's match, as it publishes it (for the status page).
    status: Arc<RoomStatus>,
}

/// A room as the cluster's directory publishes it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RoomSummary {
    /// The code.
    pub(crate) code: RoomCode,
    /// Listed and quick-played.
    pub(crate) public: bool,
    /// Seats taken, reserved or held.
    pub(crate) players: u16,
    /// Seats in all.
    pub(crate) capacity: u16,
    /// The match's phase.
    pub(crate) phase: arena_protocol::Phase,
}

/// What the lobby asks of the directory it is part of (the cluster's, with `--redis`); a single server
/// has none.
pub(crate) trait LobbyHooks: Send + Sync + std::fmt::Debug {
    /// A room code no other node uses, if one is ready (else the lobby picks a random one).
    fn claimed_code(&self) -> Option<RoomCode>;
    /// A room opened or closed: the directory should hear of it soon.
    fn rooms_changed(&self);
}

/// The server's rooms and seats.
#[derive(Debug)]
pub(crate) struct Lobby {
    ctx: Arc<ServerContext>,
    state: Mutex<LobbyState>,
    /// Set once, when the node joins a cluster. Weak: the cluster holds the lobby.
    hooks: OnceLock<Weak<dyn LobbyHooks>>,
    /// Shutting down in a cluster: no new rooms.
    draining: AtomicBool,
}

impl Lobby {
    /// A lobby with no rooms.
    pub(crate) fn new(ctx: Arc<ServerContext>) -> Self {
        Self {
            ctx,
            state: Mutex::new(LobbyState::default()),
            hooks: OnceLock::new(),
            draining: AtomicBool::new(false),
        }
    }

    /// Connects the lobby to its cluster's directory.
    pub(crate) fn set_hooks(&self, hooks: Weak<dyn LobbyHooks>) {
        let _ = self.hooks.set(hooks);
    }

    fn hooks(&self) -> Option<Arc<dyn LobbyHooks>> {
        self.hooks.get().and_then(Weak::upgrade)
    }

    fn rooms_changed(&self) {
        if let Some(hooks) = self.hooks() {
            hooks.rooms_changed();
        }
    }

    /// From now on, opens no new rooms (a draining node).
    pub(crate) fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Whether the node is draining.
    pub(crate) fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Every room, as the cluster's directory publishes it.
    pub(crate) fn summaries(&self) -> Vec<RoomSummary> {
        let state = self.lock();
        state.rooms.iter().map(|(code, r)| self.summarize(*code, r)).collect()
    }

    /// One room, as the cluster's directory publishes it.
    pub(crate) fn summary(&self, code: RoomCode) -> Option<RoomSummary> {
        self.lock().rooms.get(&code).map(|r| self.summarize(code, r))
    }

    fn summarize(&self, code: RoomCode, r: &RoomEntry) -> RoomSummary {
        RoomSummary {
            code,
            public: r.public,
            players: r.players,
            capacity: r.capacity,
            phase: r.status.read(self.ctx.config.tick_rate).0,
        }
    }

    /// Passes an operators' notice to every room, for its players and spectators. A room whose queue
    /// is full misses it (a notice is not worth a join's place).
    pub(crate) fn announce(&self, text: &Arc<str>) -> usize {
        let state = self.lock();
        state
            .rooms
            .values()
            .filter(|r| r.commands.try_send(RoomCommand::Notice(Arc::clone(text))).is_ok())
            .count()
    }

    fn lock(&self) -> MutexGuard<'_, LobbyState> {
        // A panic while holding this lock cannot leave the state half-updated (every update is one
        // statement), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a disconnected player's seat for them, under their reconnect token, until `seat.until`.
    /// Their room keeps their score until [`RoomDirectory::take_expired_holds`] says the time is up.
    pub(crate) fn hold(&self, token: ReconnectToken, seat: HeldSeat) {
        let mut state = self.lock();
        // A room that stopped on its own (a panic) has gone with its seats: nothing to hold.
        if !state.rooms.contains_key(&seat.code) {
            return;
        }
        let (player, code) = (seat.player, seat.code);
        if let Some(previous) = state.held.insert(token, seat) {
            // One token, one held seat: a second would leave the first uncollectable. No path does
            // this; if one ever does, the first seat is freed rather than leaked.
            tracing::error!(%player, room = %code, old_room = %previous.code, "a token held two seats");
            if let Some(room) = state.rooms.get_mut(&previous.code) {
                room.players = room.players.saturating_sub(1);
            }
        }
    }

    /// Takes back a held seat whose time is not up. The seat stays reserved: send the room a join
    /// request, and if that fails, [`Lobby::hold`] it again.
    pub(crate) fn reclaim(&self, token: ReconnectToken) -> Option<(HeldSeat, mpsc::Sender<RoomCommand>)> {
        let mut state = self.lock();
        // One whose time is up stays for its room to collect (and free) with its other expired holds.
        if state.held.get(&token).is_none_or(|seat| seat.until <= Instant::now()) {
            return None;
        }
        let seat = state.held.remove(&token)?;
        let room = state.rooms.get(&seat.code)?.commands.clone();
        Some((seat, room))
    }

    /// Seats the player in the fullest public room with a free seat (the oldest among equals), or in a
    /// new public room.
    pub(crate) fn quick_play(self: &Arc<Self>) -> Result<Seat, LobbyError> {
        let mut state = self.lock();
        let best = state
            .rooms
            .iter_mut()
            .filter(|(_, r)| r.public && r.players < r.capacity && !r.commands.is_closed())
            .max_by_key(|(_, r)| (r.players, std::cmp::Reverse(r.serial)));
        if let Some((code, entry)) = best {
            entry.players += 1;
            return Ok(Seat { code: *code, room: entry.commands.clone() });
        }
        self.create_locked(&mut state.rooms, true)
    }

    /// Creates a public room and seats the player in it.
    pub(crate) fn create_public(self: &Arc<Self>) -> Result<Seat, LobbyError> {
        let mut state = self.lock();
        self.create_locked(&mut state.rooms, true)
    }

    /// Creates a private room and seats the player in it.
    pub(crate) fn create_private(self: &Arc<Self>) -> Result<Seat, LobbyError> {
        let mut state = self.lock();
        self.create_locked(&mut state.rooms, false)
    }

    /// Seats the player in the room with this code (as a client typed it: any case, spaces around).
    pub(crate) fn join(&self, code: &str) -> Result<Seat, LobbyError> {
        let not_found = || LobbyError::NotFound(code.trim().chars().take(QUOTED_CODE_CHARS).collect());
        let code = RoomCode::parse(code).ok_or_else(not_found)?;
        let mut state = self.lock();
        let entry = state.rooms.get_mut(&code).ok_or_else(not_found)?;
        if entry.players >= entry.capacity {
            return Err(LobbyError::RoomFull { code, capacity: entry.capacity });
        }
        entry.players += 1;
        Ok(Seat { code, room: entry.commands.clone() })
    }

    /// A spectator's place in a room by its code (case-insensitive), within `--max-spectators`. Give
    /// it back with [`Lobby::release_spectator`].
    pub(crate) fn watch(&self, code: &str) -> Result<Seat, LobbyError> {
        let not_found = || LobbyError::NotFound(code.trim().chars().take(QUOTED_CODE_CHARS).collect());
        let code = RoomCode::parse(code).ok_or_else(not_found)?;
        let max = self.ctx.config.max_spectators;
        let mut state = self.lock();
        let entry = state.rooms.get_mut(&code).ok_or_else(not_found)?;
        if entry.spectators >= max {
            return Err(LobbyError::TooManySpectators { code, max });
        }
        entry.spectators += 1;
        Ok(Seat { code, room: entry.commands.clone() })
    }

    /// Gives a spectator's place back.
    pub(crate) fn release_spectator(&self, code: RoomCode) {
        if let Some(entry) = self.lock().rooms.get_mut(&code) {
            entry.spectators = entry.spectators.saturating_sub(1);
        }
    }

    /// Gives a seat back.
    pub(crate) fn release(&self, code: RoomCode) {
        if let Some(entry) = self.lock().rooms.get_mut(&code) {
            entry.players = entry.players.saturating_sub(1);
        }
    }

    /// Removes a room that stopped on its own (an internal error), with any seats held in it.
    pub(crate) fn remove(&self, code: RoomCode) {
        let mut state = self.lock();
        if state.rooms.remove(&code).is_some() {
            self.ctx.metrics.rooms.decrement(1.0);
        }
        state.held.retain(|_, h| h.code != code);
        drop(state);
        self.rooms_changed();
    }

    /// The public rooms, fullest first.
    pub(crate) fn public_rooms(&self) -> Vec<RoomListing> {
        let state = self.lock();
        let mut list: Vec<(u64, RoomListing)> = state
            .rooms
            .iter()
            .filter(|(_, r)| r.public)
            .map(|(code, r)| {
                (r.serial, RoomListing { code: *code, players: r.players, capacity: r.capacity, node: None })
            })
            .collect();
        drop(state);
        list.sort_by_key(|(serial, r)| (std::cmp::Reverse(r.players), *serial));
        list.into_iter().map(|(_, r)| r).collect()
    }

    /// How many rooms are open, and the players in them (seats taken, reserved or held).
    pub(crate) fn counts(&self) -> (u32, u32) {
        let state = self.lock();
        let players = state.rooms.values().map(|r| u32::from(r.players)).sum();
        (u32::try_from(state.rooms.len()).unwrap_or(u32::MAX), players)
    }

    /// Every room as the status page shows it (public first, then by age), and the players in all.
    pub(crate) fn status_rooms(&self) -> (Vec<StatusRoom>, u32) {
        let state = self.lock();
        let mut list: Vec<(u64, StatusRoom)> = state
            .rooms
            .iter()
            .map(|(code, r)| {
                let (phase, seconds_left) = r.status.read(self.ctx.config.tick_rate);
                let room = StatusRoom {
                    code: r.public.then(|| code.to_string()),
                    public: r.public,
                    players: r.players,
                    capacity: r.capacity,
                    spectators: r.spectators,
                    phase,
                    seconds_left,
                };
                (r.serial, room)
            })
            .collect();
        drop(state);
        list.sort_by_key(|(serial, r)| (!r.public, *serial));
        let players = list.iter().map(|(_, r)| u32::from(r.players)).sum();
        (list.into_iter().map(|(_, r)| r).collect(), players)
    }

    #[cfg(test)]
    /// The number of open rooms.
    pub(crate) fn room_count(&self) -> usize {
        self.lock().rooms.len()
    }

    fn create_locked(
        self: &Arc<Self>,
        rooms: &mut HashMap<RoomCode, RoomEntry>,
        public: bool,
    ) -> Result<Seat, LobbyError> {
        let config = &self.ctx.config;
        if self.is_draining() {
            return Err(LobbyError::Draining);
        }
        if rooms.len() >= config.max_rooms {
            return Err(LobbyError::ServerFull(config.max_rooms));
        }
        let mut rng = rand::rng();
        // In a cluster, a code this node has claimed in the directory; else (a single server, or the
        // directory out of reach) a random one, unique here.
        let claimed = self.hooks().and_then(|hooks| hooks.claimed_code()).filter(|c| !rooms.contains_key(c));
        let code = claimed
            .into_iter()
            .chain((0..CODE_ATTEMPTS).map(|_| RoomCode::random(&mut rng)))
            .find(|code| !rooms.contains_key(code))
            .ok_or(LobbyError::ServerFull(config.max_rooms))?;
        let serial = self.ctx.next_room_serial();
        // Each room its own stream of randomness, all following from the one `--seed`.
        let seed = config.seed ^ serial.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let (tx, rx) = mpsc::channel(ROOM_COMMAND_QUEUE);
        let capacity = config.room_capacity;
        let status = Arc::new(RoomStatus::default());
        let entry = RoomEntry {
            public,
            players: 1,
            capacity,
            serial,
            commands: tx.clone(),
            spectators: 0,
            status: Arc::clone(&status),
        };
        rooms.insert(code, entry);
        self.ctx.metrics.rooms.increment(1.0);
        info!(room = %code, public, seed, rooms = rooms.len(), "opened room");
        self.spawn_room(room::RoomSpec { code, public, seed, status }, rx);
        self.rooms_changed();
        Ok(Seat { code, room: tx })
    }

    fn spawn_room(self: &Arc<Self>, spec: room::RoomSpec, commands: mpsc::Receiver<RoomCommand>) {
        let code = spec.code;
        let directory: Arc<dyn RoomDirectory> = Arc::clone(self) as _;
        let task = room::Room::new(spec, Arc::clone(&self.ctx), directory, commands);
        let shutdown = self.ctx.shutdown.clone();
        let lobby = Arc::clone(self);
        self.ctx.tasks.spawn_on(
            async move {
                // A panicking room must not take the others down: it is logged and removed, and its
                // players learn from their closed input channels that it is gone.
                if let Err(panic) = std::panic::AssertUnwindSafe(task.run(shutdown)).catch_unwind().await {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    tracing::error!(room = %code, panic = %what, "room task panicked; room closed");
                    lobby.remove(code);
                }
            },
            self.ctx.game_loops.next(),
        );
    }
}

impl RoomDirectory for Lobby {
    fn close_if_empty(&self, code: RoomCode) -> bool {
        let mut state = self.lock();
        if state.rooms.get(&code).is_some_and(|r| r.players == 0) {
            state.rooms.remove(&code);
            self.ctx.metrics.rooms.decrement(1.0);
            info!(room = %code, rooms = state.rooms.len(), "closed empty room");
            drop(state);
            self.rooms_changed();
            true
        } else {
            false
        }
    }

    fn take_expired_holds(&self, code: RoomCode, now: Instant, expired: &mut Vec<PlayerId>) {
        let state = &mut *self.lock();
        let before = expired.len();
        state.held.retain(|_, seat| {
            let over = seat.code == code && seat.until <= now;
            if over {
                expired.push(seat.player);
            }
            !over
        });
        if let Some(room) = state.rooms.get_mut(&code) {
            let freed = u16::try_from(expired.len() - before).unwrap_or(u16::MAX);
            room.players = room.players.saturating_sub(freed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::Config;

    fn lobby(capacity: u16, max_rooms: usize) -> Arc<Lobby> {
        let mut config = Config::for_tests();
        config.room_capacity = capacity;
        config.max_rooms = max_rooms;
        Arc::new(Lobby::new(ServerContext::for_tests(config)))
    }

    fn held(player: u32, code: RoomCode, until: Instant) -> HeldSeat {
        HeldSeat { player: PlayerId::new(player).expect("id"), name: "a".into(), code, until }
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
        let listed: Vec<RoomCode> = lobby.public_rooms().into_iter().map(|r| r.code).collect();
        assert_eq!(listed, vec![public.code]);
        // Join by code works for both, in any case.
        lobby.join(&private.code.as_str().to_lowercase()).expect("join private by code");
    }

    #[tokio::test]
    async fn full_and_unknown_rooms_are_errors() {
        let lobby = lobby(1, 10);
        let seat = lobby.create_private().expect("seat");
        assert_eq!(
            lobby.join(seat.code.as_str()).map(|_| ()),
            Err(LobbyError::RoomFull { code: seat.code, capacity: 1 })
        );
        lobby.release(seat.code);
        lobby.join(seat.code.as_str()).expect("a released seat is free again");
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
    async fn a_held_seat_counts_until_reclaimed_or_expired_and_never_both() {
        let lobby = lobby(1, 10);
        let seat = lobby.create_private().expect("seat");
        let now = Instant::now();
        let token = ReconnectToken::random();
        lobby.hold(token, held(1, seat.code, now + Duration::from_secs(30)));
        assert!(
            matches!(lobby.join(seat.code.as_str()), Err(LobbyError::RoomFull { .. })),
            "a held seat is taken"
        );
        assert!(lobby.reclaim(ReconnectToken::random()).is_none(), "another token takes nothing");
        let (back, _) = lobby.reclaim(token).expect("reclaimed");
        assert_eq!(back.player.get(), 1);
        let mut expired = Vec::new();
        lobby.take_expired_holds(seat.code, now + Duration::from_secs(60), &mut expired);
        assert!(expired.is_empty(), "a reclaimed seat cannot also expire");
        assert!(lobby.reclaim(token).is_none(), "a token takes its seat back once");

        // Held again (the join could not be delivered, say), and this time the grace runs out.
        lobby.hold(token, back);
        lobby.take_expired_holds(seat.code, now + Duration::from_secs(10), &mut expired);
        assert!(expired.is_empty(), "not yet");
        lobby.take_expired_holds(seat.code, now + Duration::from_secs(30), &mut expired);
        assert_eq!(expired, [PlayerId::new(1).expect("id")]);
        assert!(lobby.reclaim(token).is_none(), "an expired seat cannot be reclaimed");
        lobby.join(seat.code.as_str()).expect("the expired seat is free");
    }

    #[tokio::test]
    async fn a_hold_past_its_time_is_left_for_its_room_to_collect() {
        let lobby = lobby(2, 10);
        let seat = lobby.create_private().expect("seat");
        let token = ReconnectToken::random();
        lobby.hold(token, held(1, seat.code, Instant::now()));
        assert!(lobby.reclaim(token).is_none(), "too late");
        let mut expired = Vec::new();
        lobby.take_expired_holds(seat.code, Instant::now(), &mut expired);
        assert_eq!(expired.len(), 1, "the room still learns it is gone");
    }

    #[tokio::test]
    async fn a_seat_in_a_room_that_is_gone_is_not_held() {
        let lobby = lobby(2, 10);
        let seat = lobby.create_private().expect("seat");
        lobby.remove(seat.code);
        let token = ReconnectToken::random();
        lobby.hold(token, held(1, seat.code, Instant::now() + Duration::from_secs(30)));
        assert!(lobby.reclaim(token).is_none());
        assert!(lobby.lock().held.is_empty(), "nothing would ever collect it");
    }

    #[tokio::test]
    async fn only_empty_rooms_close() {
        let lobby = lobby(4, 10);
        let seat = lobby.create_private().expect("seat");
        assert!(!lobby.close_if_empty(seat.code));
        lobby.release(seat.code);
        assert!(lobby.close_if_empty(seat.code));
        assert!(matches!(lobby.join(seat.code.as_str()), Err(LobbyError::NotFound(_))));
    }
}
