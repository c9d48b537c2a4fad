//! A match room: one task that owns a [`Simulation`], advances it on a fixed tick, and broadcasts one
//! encoded snapshot (and one encoded event message, when something happened) to all its players.
//!
//! The room never waits on a socket. Connections hand it inputs through per-player bounded channels that
//! it drains with `try_recv`; it hands them snapshots through their [`Outbox`](crate::outbox::Outbox)
//! slot and events through their control lane, neither of which blocks. Rooms run on the game loop
//! threads ([`crate::game_loop`]), apart from the connections.
//!
//! # Layout
//! - [`clock`]: when each tick is due, and what to do after a stall.
//! - [`seats`]: who is in the room (seated or away), and handing them what the room sends.
//! - [`broadcast`]: encoding the events and the snapshot once for everybody.
//!
//! The room asks its owner (the lobby) only what [`RoomDirectory`] offers; the game's rules are the
//! simulation's.

mod broadcast;
pub(crate) mod clock;
mod seats;

use std::sync::Arc;
use std::time::Duration;

use arena_protocol::replay::{EndReason, Header, Op};
use arena_protocol::{ErrorCode, Input, Joined, MapInfo, Phase, ServerMsg};
use bevy_ecs::entity::Entity;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::context::ServerContext;
use crate::ids::{PlayerId, RoomCode};
use crate::replays::recorder::{self, KEYFRAME_SECONDS, Recorder};
use crate::sim::{InputOutcome, Simulation};
pub(crate) use broadcast::Broadcast;
use clock::TickClock;
use seats::{Away, Gone, InputSink, Seats};
pub(crate) use seats::{Departure, JoinRequest, SLOW_CLIENT_GRACE};

/// Depth of a room's command channel (join requests). Joins are rare; a full channel means the room is
/// stuck, and the join fails with `room_closed` rather than waiting.
pub(crate) const ROOM_COMMAND_QUEUE: usize = 64;

/// Depth of each player's input channel. One input per tick is normal; this absorbs a few ticks of
/// network bunching. Inputs beyond it are dropped at the connection.
pub(crate) const INPUT_QUEUE: usize = 32;

/// How long after asking about a held seat that had not run out (it was being taken back) a room asks
/// again: the join is on its way, or the seat is held anew and its time is running.
const HOLD_RECHECK: Duration = Duration::from_secs(1);

/// What a room needs from whoever keeps the directory of rooms (the lobby), and nothing more.
pub(crate) trait RoomDirectory: Send + Sync + std::fmt::Debug {
    /// Removes the room if no seat in it is taken, reserved or held; whether it did (if not, a player
    /// is on the way in and the room stays open).
    fn close_if_empty(&self, code: RoomCode) -> bool;

    /// Appends to `expired` the players of this room whose held seats ran out by `now`, and frees those
    /// seats. A seat taken back before is never among them.
    fn take_expired_holds(&self, code: RoomCode, now: Instant, expired: &mut Vec<PlayerId>);
}

/// Chat lines a room passes on per second, whoever says them; more are refused with `slow_down`. Each
/// line lands in every listener's control lane (128 deep): this keeps a burst well below that.
pub(crate) const CHAT_LINES_PER_SECOND: f64 = 10.0;
/// The most chat lines a room passes on at once.
pub(crate) const CHAT_LINES_BURST: f64 = 20.0;

/// A request to a room.
#[derive(Debug)]
pub(crate) enum RoomCommand {
    /// Seat a player (its seat is already reserved in the lobby).
    Join(JoinRequest),
    /// Pass on what a seated player or a spectator said (already cleaned and rate-limited by their
    /// connection).
    Chat(ChatRequest),
    /// Let a spectator watch (nothing is reserved in the lobby's seats; it counts its spectators).
    Watch(JoinRequest),
    /// Pass an operators' notice to everyone in the room (`POST /api/announce`).
    Notice(Arc<str>),
}

/// A chat message for a room, from one of its players.
#[derive(Debug)]
pub(crate) struct ChatRequest {
    /// Who said it; dropped unless they are seated here or watching.
    pub(crate) player: PlayerId,
    /// What they said, cleaned.
    pub(crate) text: String,
    /// The player it is whispered to, if it is.
    pub(crate) to: Option<u32>,
}

/// What a room is, fixed at creation.
#[derive(Debug, Clone)]
pub(crate) struct RoomSpec {
    /// The room's code.
    pub(crate) code: RoomCode,
    /// Listed publicly and filled by quick play.
    pub(crate) public: bool,
    /// The simulation seed.
    pub(crate) seed: u64,
    /// Where the room publishes its match for the status page.
    pub(crate) status: Arc<crate::status::RoomStatus>,
}

/// A room and everything its task owns.
#[derive(Debug)]
pub(crate) struct Room {
    spec: RoomSpec,
    ctx: Arc<ServerContext>,
    directory: Arc<dyn RoomDirectory>,
    commands: mpsc::Receiver<RoomCommand>,
    sim: Simulation,
    map: MapInfo,
    seats: Seats,
    broadcast: Broadcast,
    metrics: RoomMetrics,
    /// Reused every tick: seats whose connection went, and held seats that ran out.
    gone: Vec<Gone>,
    expired: Vec<PlayerId>,
    /// The match being recorded, when replays are on and a match is on.
    recording: Option<Recorder>,
    /// The match being recorded has ended: the recording ends with the next snapshot, so that it
    /// holds the last tick's events and the final scores.
    recording_ends: bool,
    /// Chat lines the room may still pass on now (a token bucket: [`CHAT_LINES_PER_SECOND`], at most
    /// [`CHAT_LINES_BURST`]), so that many players and spectators chatting at once cannot fill their
    /// listeners' control lanes.
    chat_budget: f64,
    chat_refilled: Instant,
    /// Reused every tick: the calls journaled for the recording.
    journal: Vec<Op>,
}

/// The metric handles a room updates (cheap clones of the server's).
#[derive(Debug)]
struct RoomMetrics {
    tick_duration: metrics::Histogram,
    tick_histogram: metrics::Histogram,
    live: Arc<crate::status::LiveCounters>,
    ticks: metrics::Counter,
    ticks_late: metrics::Counter,
    ticks_skipped: metrics::Counter,
    snapshots_dropped: metrics::Counter,
    inputs_applied: metrics::Counter,
    inputs_discarded: metrics::Counter,
    shots: metrics::Counter,
    shots_rewound: metrics::Counter,
    shots_capped: metrics::Counter,
    hits: metrics::Counter,
}

/// Queues inputs into the simulation (what [`Seats::drain_inputs`] feeds).
struct SimInputs<'a>(&'a mut Simulation);

impl InputSink for SimInputs<'_> {
    fn push(&mut self, entity: Entity, input: Input) -> bool {
        self.0.push_input(entity, input) == InputOutcome::Queued
    }
}

impl Room {
    /// A room that takes its settings from the server's configuration and asks `directory` when it may
    /// close.
    pub(crate) fn new(
        spec: RoomSpec,
        ctx: Arc<ServerContext>,
        directory: Arc<dyn RoomDirectory>,
        commands: mpsc::Receiver<RoomCommand>,
    ) -> Self {
        let m = &ctx.metrics;
        let metrics = RoomMetrics {
            tick_duration: m.tick_duration.clone(),
            tick_histogram: m.tick_histogram.clone(),
            live: Arc::clone(&m.live),
            ticks: m.ticks.clone(),
            ticks_late: m.ticks_late.clone(),
            ticks_skipped: m.ticks_skipped.clone(),
            snapshots_dropped: m.snapshots_dropped.clone(),
            inputs_applied: m.inputs_applied.clone(),
            inputs_discarded: m.inputs_discarded.clone(),
            shots: m.shots.clone(),
            shots_rewound: m.shots_rewound.clone(),
            shots_capped: m.shots_capped.clone(),
            hits: m.hits.clone(),
        };
        Self {
            map: ctx.game.map_info(),
            sim: Simulation::with_max_rewind(
                Arc::clone(&ctx.game),
                ctx.config.tick_rate,
                spec.seed,
                ctx.config.max_rewind,
            ),
            seats: Seats::new(m.players.clone()),
            metrics,
            spec,
            ctx,
            directory,
            commands,
            broadcast: Broadcast::default(),
            gone: Vec::new(),
            expired: Vec::new(),
            recording: None,
            recording_ends: false,
            chat_budget: CHAT_LINES_BURST,
            chat_refilled: Instant::now(),
            journal: Vec::new(),
        }
    }

    /// Runs the room until it closes (empty past its grace period) or `shutdown` is cancelled.
    pub(crate) async fn run(mut self, shutdown: CancellationToken) {
        let config = &self.ctx.config;
        let grace = config.empty_room_grace;
        let mut clock = TickClock::new(Instant::now(), config.tick_interval());
        let late_after = config.tick_interval() / 2;
        let mut empty_since: Option<Instant> = None;
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = sleep_until(clock.next_deadline()) => {}
            }
            let now = Instant::now();
            let plan = clock.plan(now);
            if plan.skipped > 0 {
                warn!(
                    room = %self.spec.code,
                    behind_ms = plan.behind.as_millis() as u64,
                    skipped = plan.skipped,
                    "room fell behind; skipped ticks"
                );
            }
            self.metrics.ticks.increment(plan.run);
            self.metrics.ticks_skipped.increment(plan.skipped);
            if plan.behind > late_after {
                self.metrics.ticks_late.increment(plan.run);
            }
            let mut snapshot_due = false;
            for i in 0..plan.run {
                let started = std::time::Instant::now();
                snapshot_due |= self.tick(now);
                if snapshot_due && i + 1 == plan.run {
                    self.broadcast();
                }
                let took = started.elapsed();
                self.metrics.tick_duration.record(took.as_secs_f64());
                self.metrics.tick_histogram.record(took.as_secs_f64());
                self.metrics.live.tick(took);
            }

            if self.seats.is_empty() {
                let since = *empty_since.get_or_insert(now);
                if now - since >= grace {
                    if self.directory.close_if_empty(self.spec.code) {
                        // Its spectators are let go first (so their sessions see the room gone),
                        // then told.
                        let closed = ServerMsg::Error {
                            code: ErrorCode::RoomClosed,
                            message: format!("room {} closed: nobody plays in it any more", self.spec.code),
                        };
                        self.seats.dismiss_watchers(&closed);
                        break;
                    }
                    empty_since = None;
                }
            } else {
                empty_since = None;
            }
        }
        self.stop_recording(Some(EndReason::Closed));
        debug!(room = %self.spec.code, "room task ended");
    }

    /// Runs one tick; returns whether a snapshot is due after it.
    fn tick(&mut self, now: Instant) -> bool {
        // Departures first: a player who left and came straight back must lose the old seat before
        // taking the new one.
        self.collect_inputs();
        self.handle_commands();
        // The lobby decides when a held seat runs out; the room asks once its own count of the grace
        // (from when it saw the drop, so never earlier than the lobby's) is up.
        if self.seats.away.iter().any(|a| a.ask_at <= now) {
            self.expire_holds(now);
        }
        let phase_before = self.sim.phase();
        self.sim.step();
        if self.ctx.replays.is_some() {
            self.record_tick(phase_before);
        }
        self.metrics.inputs_applied.increment(self.sim.take_inputs_applied());
        let shots = self.sim.take_shot_counts();
        if shots != Default::default() {
            self.metrics.shots.increment(shots.fired);
            self.metrics.shots_rewound.increment(shots.rewound);
            self.metrics.shots_capped.increment(shots.capped);
            self.metrics.hits.increment(shots.hits);
        }
        // A snapshot after every tick where floor(tick * snapshot_rate / tick_rate) steps up: exactly
        // `snapshot_rate` per second, evenly spread, whether or not the rates divide.
        let (tick, tick_rate, snapshot_rate) =
            (self.sim.tick(), u64::from(self.ctx.config.tick_rate), u64::from(self.ctx.config.snapshot_rate));
        (tick * snapshot_rate) / tick_rate != ((tick - 1) * snapshot_rate) / tick_rate
    }

    /// Seats the players who arrived and passes on what was said, in the order they came (a player's
    /// join comes before anything they say).
    fn handle_commands(&mut self) {
        while let Ok(command) = self.commands.try_recv() {
            match command {
                RoomCommand::Join(req) => self.admit(req),
                RoomCommand::Chat(chat) => self.chat(chat),
                RoomCommand::Watch(req) => self.admit_spectator(req),
                RoomCommand::Notice(text) => {
                    let notice =
                        ServerMsg::Notice { text: text.to_string(), server_time: self.ctx.server_time_ms() };
                    self.seats.listeners().for_each(|seat| Seats::send_to(seat, &notice));
                }
            }
        }
    }

    /// Takes a spectator in and tells them what a player joining is told.
    fn admit_spectator(&mut self, req: JoinRequest) {
        info!(room = %self.spec.code, player = %req.player, spectators = self.seats.watching.len() + 1, "spectator watching");
        self.seats.watch(req);
        let Some(seat) = self.seats.watching.last() else { return };
        Seats::send_to(seat, &self.joined(true));
    }

    /// What a player (or a spectator) who just came in is told about the room.
    fn joined(&self, spectating: bool) -> ServerMsg {
        ServerMsg::Joined(Joined {
            room: self.spec.code.to_string(),
            public: self.spec.public,
            capacity: self.ctx.config.room_capacity,
            map: self.map.clone(),
            players: self.seats.roster(),
            spectating,
        })
    }

    /// Says `chat` to the room (players and spectators), or whispers it to its target (the sender gets
    /// a copy either way).
    fn chat(&mut self, chat: ChatRequest) {
        let now = Instant::now();
        let refill = now.duration_since(self.chat_refilled).as_secs_f64() * CHAT_LINES_PER_SECOND;
        self.chat_budget = (self.chat_budget + refill).min(CHAT_LINES_BURST);
        self.chat_refilled = now;
        let seats = &self.seats;
        let Some(sender) = seats.listeners().find(|s| s.player == chat.player) else { return };
        if self.chat_budget < 1.0 {
            let message = "the room's chat is busy; say it again in a moment".to_owned();
            return Seats::send_to(sender, &ServerMsg::Error { code: ErrorCode::SlowDown, message });
        }
        self.chat_budget -= 1.0;
        let said = ServerMsg::Chat {
            from: chat.player.get(),
            name: sender.name.clone(),
            text: chat.text,
            to: chat.to,
            server_time: self.ctx.server_time_ms(),
        };
        match chat.to {
            None => seats.listeners().for_each(|seat| Seats::send_to(seat, &said)),
            Some(to) => match seats.listeners().find(|s| s.player.get() == to) {
                Some(target) => {
                    Seats::send_to(sender, &said);
                    if target.player != sender.player {
                        Seats::send_to(target, &said);
                    }
                }
                None => {
                    let message = format!("nobody with player id {to} is in this room to whisper to");
                    Seats::send_to(sender, &ServerMsg::Error { code: ErrorCode::BadChat, message });
                }
            },
        }
    }

    fn admit(&mut self, req: JoinRequest) {
        fault_hook(&req.name);
        // Defensive: a seat of the same player still here is stale; retire it without a word.
        if let Some(stale) = self.seats.take_seated(req.player) {
            self.sim.despawn_ship(stale.entity);
        }
        let resumed = self.seats.take_away(req.player);
        let entity = self.sim.join(req.player.get(), &req.name, resumed.as_ref().map(|a| a.last_seq));
        let player = req.player;
        self.seats.seat(req, entity);
        info!(
            room = %self.spec.code,
            %player,
            resumed = resumed.is_some(),
            players = self.seats.seated.len(),
            "player joined"
        );
        let Some(seat) = self.seats.seated.last() else { return };
        Seats::send_to(seat, &self.joined(false));
    }

    fn collect_inputs(&mut self) {
        let stopped_watching = self.seats.drop_gone_watchers();
        if stopped_watching > 0 {
            debug!(room = %self.spec.code, stopped_watching, "spectators gone");
        }
        let discarded = self.seats.drain_inputs(&mut SimInputs(&mut self.sim), &mut self.gone);
        self.metrics.inputs_discarded.increment(discarded);
        for gone in self.gone.drain(..) {
            match gone {
                Gone::Dropped(seat) => {
                    info!(room = %self.spec.code, player = %seat.player, "player disconnected; seat held");
                    let last_seq = self.sim.despawn_ship(seat.entity);
                    let ask_at = Instant::now() + self.ctx.config.reconnect_grace;
                    self.seats.away.push(Away { player: seat.player, name: seat.name, last_seq, ask_at });
                }
                Gone::Left(seat) => {
                    info!(room = %self.spec.code, player = %seat.player, "player left");
                    self.sim.despawn_ship(seat.entity);
                    self.sim.leave(seat.player.get());
                }
            }
        }
    }

    /// Says goodbye to players away whose held seats ran out.
    fn expire_holds(&mut self, now: Instant) {
        self.expired.clear();
        self.directory.take_expired_holds(self.spec.code, now, &mut self.expired);
        for player in self.expired.drain(..) {
            if let Some(away) = self.seats.take_away(player) {
                info!(room = %self.spec.code, player = %away.player, name = %away.name, "reconnect grace ran out");
                self.sim.leave(away.player.get());
            }
        }
        for away in &mut self.seats.away {
            if away.ask_at <= now {
                away.ask_at = now + HOLD_RECHECK;
            }
        }
    }

    /// Records the tick just stepped, and starts and ends recordings with the matches: a match is
    /// recorded from the tick it starts to its final scores (the first snapshot of its results, so
    /// the replay is saved while the players still look at them), or until it is abandoned.
    fn record_tick(&mut self, before: Phase) {
        let tick = self.sim.tick();
        if let Some(recording) = &mut self.recording {
            self.journal.clear();
            self.sim.take_journal(&mut self.journal);
            recording.tick(tick, &self.journal);
        }
        match (before, self.sim.phase()) {
            (Phase::Playing, Phase::Warmup) => self.stop_recording(Some(EndReason::Abandoned)),
            (Phase::Playing, Phase::Results) => self.recording_ends = self.recording.is_some(),
            // A recording ends with the first results snapshot; should results end before one was
            // sent (results shorter than a snapshot interval), it ends here.
            (Phase::Results, Phase::Warmup) => self.stop_recording(Some(EndReason::Finished)),
            (Phase::Results, Phase::Playing) => {
                self.stop_recording(Some(EndReason::Finished));
                self.start_recording();
            }
            (Phase::Warmup, Phase::Playing) => self.start_recording(),
            _ => {}
        }
    }

    /// Starts recording the match that starts now. The room continues from a simulation rebuilt
    /// from its own capture (see [`crate::sim::capture`] for why), the capture goes in the header, and
    /// every call from now on is journaled.
    fn start_recording(&mut self) {
        debug_assert!(
            self.recording.is_none() && !self.recording_ends,
            "the last match's recording was ended"
        );
        let Some(store) = &self.ctx.replays else { return };
        let config = &self.ctx.config;
        let state = self.sim.capture();
        let encoded = match arena_protocol::encode(&state) {
            Ok(bytes) => bytes,
            Err(err) => {
                warn!(room = %self.spec.code, %err, "could not capture the room; this match is not recorded");
                return;
            }
        };
        let (sim, ships) =
            Simulation::restore(Arc::clone(&self.ctx.game), config.tick_rate, config.max_rewind, &state);
        self.sim = sim;
        for seat in &mut self.seats.seated {
            if let Ok(i) = ships.binary_search_by_key(&seat.player.get(), |(player, _)| *player) {
                seat.entity = ships[i].1;
            }
        }
        self.sim.keep_journal();
        let started = std::time::SystemTime::now();
        let header = Header {
            format: arena_protocol::replay::FORMAT_VERSION,
            protocol: arena_protocol::PROTOCOL_VERSION,
            server_version: env!("CARGO_PKG_VERSION").to_owned(),
            id: recorder::new_id(started),
            room: self.spec.code.to_string(),
            public: self.spec.public,
            started_at_ms: started
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            tick_rate: config.tick_rate,
            snapshot_rate: config.snapshot_rate,
            max_rewind_us: u64::try_from(config.max_rewind.as_micros()).unwrap_or(u64::MAX),
            seed: self.spec.seed,
            start_tick: state.tick,
            keyframe_every: KEYFRAME_SECONDS.saturating_mul(config.snapshot_rate),
            map: self.map.clone(),
            tuning: self.ctx.tuning,
            game_data: self.ctx.game.sources.clone(),
            players: self.seats.roster(),
            state: encoded,
        };
        let recording = Recorder::start(store, header, &self.ctx.tasks);
        debug!(room = %self.spec.code, id = recording.id(), "recording the match");
        self.recording = Some(recording);
    }

    /// Ends the recording, if there is one, after the tick just stepped: whole (`Some(reason)`), or
    /// given up (`None`: its writer fell behind).
    fn stop_recording(&mut self, reason: Option<EndReason>) {
        self.recording_ends = false;
        let Some(recording) = self.recording.take() else { return };
        self.sim.stop_journal();
        let id = recording.id().to_owned();
        let finished = reason.is_some_and(|reason| recording.finish(self.sim.tick(), reason).is_ok());
        if !finished {
            warn!(room = %self.spec.code, id, "the replay writer fell behind; this match is not recorded");
            self.ctx.metrics.replays_dropped.increment(1);
        } else if reason == Some(EndReason::Finished) {
            // The players get the link with their final scores.
            let saved = ServerMsg::Replay { id };
            for seat in &self.seats.seated {
                Seats::send_to(seat, &saved);
            }
        }
    }

    /// Sends every player the events since the last snapshot (reliable, first) and the snapshot
    /// (latest wins), and records them.
    fn broadcast(&mut self) {
        let code = self.spec.code;
        self.spec.status.publish(self.sim.phase(), self.sim.tick(), self.sim.match_ends_tick());
        if self.seats.seated.is_empty() && self.seats.watching.is_empty() && self.recording.is_none() {
            // Nobody to tell: the events go unencoded (as the snapshot does).
            self.broadcast.discard_events(&mut self.sim);
            return;
        }
        let events = self.broadcast.events(code, &mut self.sim);
        let tick_rate = self.ctx.config.tick_rate;
        let snapshot = self.broadcast.snapshot(code, &mut self.sim, tick_rate);
        let snapshot_rate = f64::from(self.ctx.config.snapshot_rate);
        let slow_limit = (SLOW_CLIENT_GRACE.as_secs_f64() * snapshot_rate).ceil() as u32;
        let tick = self.sim.tick();
        let replaced = self.seats.deliver(code, tick, events.as_ref(), snapshot.as_ref(), slow_limit);
        self.metrics.snapshots_dropped.increment(replaced);
        if let (Some(recording), Some(snapshot)) = (&mut self.recording, &snapshot) {
            let events = events.as_deref().map(|bytes| (self.broadcast.last_events(), bytes));
            if recording.broadcast(tick, events, snapshot).is_err() {
                self.stop_recording(None);
            } else if self.recording_ends {
                self.stop_recording(Some(EndReason::Finished));
            }
        }
    }
}

/// A test-only fault hook: in debug builds, a player named as `ARENA_TEST_PANIC_ON_JOIN` says makes
/// the room panic, to test that one room's failure stays in that room. Release builds compile it out,
/// and without the variable it does nothing.
#[cfg(debug_assertions)]
fn fault_hook(name: &str) {
    if std::env::var("ARENA_TEST_PANIC_ON_JOIN").is_ok_and(|trigger| trigger == name) {
        panic!("fault hook: {name} joined");
    }
}

#[cfg(not(debug_assertions))]
fn fault_hook(_: &str) {}
