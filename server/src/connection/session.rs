//! What a client may do, and when: the conversation of the protocol (hello first, then rooms, inputs,
//! pings and leaving), and what happens to the player's seat when the connection ends.
//!
//! The session talks to the lobby for seats and to its room only through the join request and the
//! player's input channel; what it has to say to the client goes through the outbox.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use arena_protocol::{
    CHAT_BURST, CHAT_REFUSALS_BEFORE_FLOODING, CHAT_WINDOW_SECS, ClientMsg, ErrorCode, Input, MAX_CHAT_CHARS,
    MAX_NAME_CHARS, PROTOCOL_VERSION, ServerMsg, Welcome,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::info;

use crate::cluster::{Cluster, Placement};
use crate::context::ServerContext;
use crate::ids::{PlayerId, ReconnectToken, RoomCode};
use crate::lobby::{HeldSeat, Lobby, LobbyError, Seat};
use crate::outbox::Outbox;
use crate::room::{ChatRequest, Departure, INPUT_QUEUE, JoinRequest, ROOM_COMMAND_QUEUE, RoomCommand};

/// What the connection knows about its player, once they said hello.
#[derive(Debug)]
struct Player {
    id: PlayerId,
    name: String,
    token: ReconnectToken,
}

/// The room the player is in.
#[derive(Debug)]
struct InRoom {
    code: RoomCode,
    inputs: mpsc::Sender<Input>,
    /// The room's queue, for what the player says.
    commands: mpsc::Sender<RoomCommand>,
    departure: Arc<Departure>,
    /// Watching, not playing: no ship, no seat (the lobby counts a spectator instead).
    spectating: bool,
}

/// How fast the player chats: the times of their last [`CHAT_BURST`] messages, and how many were
/// refused since the last one that went through. Chat is rate-limited here, on the connection, so a
/// flood never reaches the room's queue.
#[derive(Debug, Default)]
struct ChatRate {
    sent: VecDeque<Instant>,
    refused: usize,
}

/// A seat on its way to a room: a new one (given back if the room cannot take the request), or a held
/// one taken back, with its place in the room's queue already secured (so a `welcome` that says
/// `resumed` is never followed by a failed join).
enum Reserved {
    Fresh(Seat),
    Reclaimed(RoomCode, mpsc::OwnedPermit<RoomCommand>),
    /// A spectator's place: no seat, no ship.
    Watching(Seat),
}

/// One client's conversation.
#[derive(Debug)]
pub(crate) struct Session {
    ctx: Arc<ServerContext>,
    lobby: Arc<Lobby>,
    /// The node's cluster, with `--redis`: rooms may then be on other nodes.
    cluster: Option<Arc<Cluster>>,
    outbox: Arc<Outbox>,
    player: Option<Player>,
    room: Option<InRoom>,
    chat: ChatRate,
}

impl Session {
    /// A session that has heard nothing yet.
    pub(crate) fn new(
        ctx: Arc<ServerContext>,
        lobby: Arc<Lobby>,
        cluster: Option<Arc<Cluster>>,
        outbox: Arc<Outbox>,
    ) -> Self {
        Self { ctx, lobby, cluster, outbox, player: None, room: None, chat: ChatRate::default() }
    }

    /// Whether `msg` asks for a room while the node is in a cluster: then [`Session::place`] handles
    /// it, which may ask another node (an await of at most a couple of seconds).
    pub(crate) fn needs_cluster(&self, msg: &ClientMsg) -> bool {
        self.cluster.is_some()
            && self.player.is_some()
            && matches!(
                msg,
                ClientMsg::QuickPlay
                    | ClientMsg::CreateRoom
                    | ClientMsg::JoinRoom { .. }
                    | ClientMsg::Watch { .. }
            )
    }

    /// Finds the player a room anywhere in the cluster: a seat here, or a hand-off to the node that
    /// holds one.
    pub(crate) async fn place(&mut self, msg: ClientMsg) {
        let Some(cluster) = self.cluster.clone() else { return self.handle(msg) };
        if self.refuse_if_in_room() {
            return;
        }
        let placed = match msg {
            ClientMsg::QuickPlay => cluster.quick_play().await,
            ClientMsg::CreateRoom => cluster.create(false).await,
            ClientMsg::JoinRoom { code } => cluster.join_code(&code, false).await,
            ClientMsg::Watch { code } => cluster.join_code(&code, true).await,
            other => return self.handle(other),
        };
        match placed {
            Ok(placement) => self.go(placement),
            Err(err) => self.error(err.code, err.message),
        }
    }

    /// Takes a placement: enters a room here, or tells the client where its seat is.
    fn go(&mut self, placement: Placement) {
        match placement {
            Placement::Here(seat) => self.enter(Reserved::Fresh(seat)),
            Placement::Watching(seat) => self.enter(Reserved::Watching(seat)),
            Placement::There(handoff) => {
                info!(room = %handoff.room, node = %handoff.node, "handed a player off to another node");
                let _ = self.outbox.send(&ServerMsg::Handoff {
                    url: handoff.url,
                    ticket: handoff.ticket,
                    room: handoff.room,
                    node: handoff.node,
                });
            }
        }
    }

    /// Whether the client still owes its hello.
    pub(crate) fn hello_due(&self) -> bool {
        self.player.is_none()
    }

    /// Acts on one message.
    pub(crate) fn handle(&mut self, msg: ClientMsg) {
        if self.player.is_none() {
            return match msg {
                ClientMsg::Hello { version, name, reconnect_token, ticket } => {
                    self.hello(version, &name, reconnect_token.as_deref(), ticket.as_deref())
                }
                _ => self.outbox.close(ErrorCode::HelloRequired, "the first message must be hello".into()),
            };
        }
        match msg {
            ClientMsg::Hello { .. } => {
                self.outbox.close(ErrorCode::HelloRequired, "hello was already received".into())
            }
            ClientMsg::QuickPlay => self.join_with(|lobby| lobby.quick_play().map(Reserved::Fresh)),
            ClientMsg::CreateRoom => self.join_with(|lobby| lobby.create_private().map(Reserved::Fresh)),
            ClientMsg::JoinRoom { code } => self.join_with(|lobby| lobby.join(&code).map(Reserved::Fresh)),
            // Watching: the room's snapshots and events all the same, with no ship and no seat.
            ClientMsg::Watch { code } => self.join_with(|lobby| lobby.watch(&code).map(Reserved::Watching)),
            ClientMsg::Input(input) => self.input(input),
            ClientMsg::Chat { text, to } => self.say(&text, to),
            ClientMsg::Inputs(batch) => {
                for &input in batch.inputs.as_slice() {
                    self.input(input);
                }
            }
            ClientMsg::Ping { client_time } => {
                let _ = self
                    .outbox
                    .send(&ServerMsg::Pong { client_time, server_time: self.ctx.server_time_ms() });
            }
            ClientMsg::Leave => {
                if self.room.is_some() {
                    self.leave_room();
                    let _ = self.outbox.send(&ServerMsg::Left);
                } else {
                    self.error(ErrorCode::NotInRoom, "not in a room".into());
                }
            }
        }
    }

    fn input(&mut self, input: Input) {
        // Input outside a room (e.g. in flight while leaving) is dropped, not an error. A full channel
        // means the client sends faster than the room ticks: the excess is dropped.
        let Some(room) = self.room.as_ref().filter(|room| !room.spectating) else {
            self.ctx.metrics.inputs_discarded.increment(1);
            return;
        };
        match room.inputs.try_send(input) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => self.ctx.metrics.inputs_discarded.increment(1),
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // The room is gone (it stopped on an internal error): say so and free the seat.
                let message = format!("room {} closed unexpectedly; join another", room.code);
                self.leave_room();
                self.error(ErrorCode::RoomClosed, message);
            }
        }
    }

    /// Passes a chat message on to the room, cleaned, within the rate limit.
    fn say(&mut self, text: &str, to: Option<u32>) {
        let (Some(player), Some(room)) = (&self.player, &self.room) else {
            return self
                .error(ErrorCode::NotInRoom, "chat is for the players of a room; join one first".into());
        };
        let now = Instant::now();
        let window = Duration::from_secs(CHAT_WINDOW_SECS);
        while self.chat.sent.front().is_some_and(|&at| now.duration_since(at) >= window) {
            self.chat.sent.pop_front();
        }
        if self.chat.sent.len() >= CHAT_BURST {
            if self.chat.refused >= CHAT_REFUSALS_BEFORE_FLOODING {
                let message = format!("chat flood: {} messages refused in a row", self.chat.refused + 1);
                return self.outbox.close(ErrorCode::Flooding, message);
            }
            self.chat.refused += 1;
            let message =
                format!("at most {CHAT_BURST} chat messages in {CHAT_WINDOW_SECS} s: wait a moment");
            return self.error(ErrorCode::SlowDown, message);
        }
        let text = match clean_chat(text) {
            Ok(text) => text,
            Err(problem) => return self.error(ErrorCode::BadChat, problem),
        };
        // Chat may take no more than half the room's queue: the rest stays free for joins and
        // reconnects.
        if room.commands.capacity() <= ROOM_COMMAND_QUEUE / 2 {
            return self.error(ErrorCode::SlowDown, "the room is busy; say it again in a moment".into());
        }
        let chat = ChatRequest { player: player.id, text, to };
        match room.commands.try_send(RoomCommand::Chat(chat)) {
            Ok(()) => {
                self.chat.sent.push_back(now);
                self.chat.refused = 0;
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.error(ErrorCode::SlowDown, "the room is busy; say it again in a moment".into());
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // The room stopped (an internal error): say so and free the seat, as for an input.
                let message = format!("room {} closed unexpectedly; join another", room.code);
                self.leave_room();
                self.error(ErrorCode::RoomClosed, message);
            }
        }
    }

    fn hello(&mut self, version: u16, name: &str, reconnect_token: Option<&str>, ticket: Option<&str>) {
        if version != PROTOCOL_VERSION {
            return self.outbox.close(
                ErrorCode::VersionMismatch,
                format!("protocol version {version} is not supported; this server speaks version {PROTOCOL_VERSION}"),
            );
        }
        let name = match validate_name(name) {
            Ok(name) => name,
            Err(problem) => return self.outbox.close(ErrorCode::BadName, problem),
        };
        // A valid token takes back its held seat: same id, same name, same room, score kept. The room
        // must be able to take the join now; if its queue is full, the seat goes back to being held
        // (its time running on) and the player starts afresh.
        let reclaimed = reconnect_token.and_then(ReconnectToken::parse).and_then(|token| {
            let (held, room) = self.lobby.reclaim(token)?;
            match room.try_reserve_owned() {
                Ok(permit) => Some((token, held, permit)),
                Err(_) => {
                    self.lobby.hold(token, held);
                    None
                }
            }
        });
        let (id, name, token) = match &reclaimed {
            Some((token, held, _)) => (held.player, held.name.clone(), *token),
            None => (self.ctx.next_player_id(), name, ReconnectToken::random()),
        };
        let config = &self.ctx.config;
        let welcome = Welcome {
            player_id: id.get(),
            version: PROTOCOL_VERSION,
            tick_rate: config.tick_rate,
            snapshot_rate: config.snapshot_rate,
            server_time: self.ctx.server_time_ms(),
            reconnect_token: token.to_string(),
            resumed: reclaimed.is_some(),
            tuning: self.ctx.tuning,
            input_batch: config.input_batch,
        };
        info!(player = %id, name = %name, resumed = reclaimed.is_some(), "player connected");
        self.player = Some(Player { id, name, token });
        let _ = self.outbox.send(&ServerMsg::Welcome(welcome));
        if let Some((_, held, permit)) = reclaimed {
            return self.enter(Reserved::Reclaimed(held.code, permit));
        }
        // A seat another node reserved here for this player.
        if let Some(ticket) = ticket {
            match self.cluster.as_ref().and_then(|cluster| cluster.take_ticket(ticket)) {
                Some(placement) => self.go(placement),
                None => self.error(
                    ErrorCode::BadTicket,
                    "the hand-off ticket is unknown, used or expired (its seat was given up): quick play again"
                        .into(),
                ),
            }
        }
    }

    /// Forgets a room whose task has ended (it closed, and said so): the player is in no room then.
    fn forget_closed_room(&mut self) {
        if self.room.as_ref().is_some_and(|room| room.inputs.is_closed()) {
            self.leave_room();
        }
    }

    /// Whether the player is still in a room (one whose task ended is forgotten first); if so, says so.
    fn refuse_if_in_room(&mut self) -> bool {
        self.forget_closed_room();
        let Some(room) = &self.room else { return false };
        let message = format!("already in room {}; leave it first", room.code);
        self.error(ErrorCode::AlreadyInRoom, message);
        true
    }

    fn join_with(&mut self, reserve: impl FnOnce(&Arc<Lobby>) -> Result<Reserved, LobbyError>) {
        if self.refuse_if_in_room() {
            return;
        }
        match reserve(&self.lobby) {
            Ok(reserved) => self.enter(reserved),
            Err(err) => self.error(err.code(), err.to_string()),
        }
    }

    /// Hands the room a join request for a reserved seat (or a spectator's place).
    fn enter(&mut self, reserved: Reserved) {
        let Some(player) = &self.player else { return };
        let (code, spectating) = match &reserved {
            Reserved::Fresh(seat) => (seat.code, false),
            Reserved::Reclaimed(code, _) => (*code, false),
            Reserved::Watching(seat) => (seat.code, true),
        };
        let membership = self.ctx.next_membership();
        self.outbox.set_membership(membership);
        // A spectator sends no inputs: its channel only tells the room when the spectator is gone.
        let (tx, rx) = mpsc::channel(if spectating { 1 } else { INPUT_QUEUE });
        let departure = Departure::staying();
        let request = JoinRequest {
            player: player.id,
            name: player.name.clone(),
            membership,
            inputs: rx,
            outbox: Arc::clone(&self.outbox),
            departure: Arc::clone(&departure),
        };
        let delivered = match reserved {
            Reserved::Fresh(seat) => {
                seat.room.try_send(RoomCommand::Join(request)).is_ok().then_some(seat.room)
            }
            Reserved::Reclaimed(_, permit) => Some(permit.send(RoomCommand::Join(request))),
            Reserved::Watching(seat) => {
                seat.room.try_send(RoomCommand::Watch(request)).is_ok().then_some(seat.room)
            }
        };
        let Some(commands) = delivered else {
            if spectating {
                self.lobby.release_spectator(code);
            } else {
                self.lobby.release(code);
            }
            self.outbox.clear_membership();
            let message = format!("room {code} is not accepting players right now");
            return self.error(ErrorCode::RoomClosed, message);
        };
        self.room = Some(InRoom { code, inputs: tx, commands, departure, spectating });
    }

    /// The connection is ending: a player still in a room keeps their seat for the reconnect grace
    /// period (if there is one).
    pub(crate) fn finish(&mut self) {
        let grace = self.ctx.config.reconnect_grace;
        if let (false, Some(player)) = (grace.is_zero(), &self.player)
            && let Some(room) = self.room.take_if(|room| !room.spectating)
        {
            self.outbox.clear_membership();
            let until = Instant::now() + grace;
            let seat = HeldSeat { player: player.id, name: player.name.clone(), code: room.code, until };
            self.lobby.hold(player.token, seat);
            // Recorded before `room.inputs` drops, so the room keeps the player's place rather than
            // freeing it.
            room.departure.dropped();
        }
        self.leave_room();
    }

    /// Leaves the current room, if any: the room sees the input channel close and frees the ship.
    fn leave_room(&mut self) {
        if let Some(room) = self.room.take() {
            room.departure.left();
            self.outbox.clear_membership();
            if room.spectating {
                self.lobby.release_spectator(room.code);
            } else {
                self.lobby.release(room.code);
            }
        }
    }

    fn error(&self, code: ErrorCode, message: String) {
        let _ = self.outbox.send(&ServerMsg::Error { code, message });
    }
}

/// A chat message as it is passed on: control characters (line breaks included) removed, white space
/// around it trimmed, 1 to [`MAX_CHAT_CHARS`] characters; or why it cannot be.
pub(crate) fn clean_chat(text: &str) -> Result<String, String> {
    clean_text(text, MAX_CHAT_CHARS, "the chat message")
}

/// A text shown to players (a chat line, an operators' notice) with control characters (line breaks
/// included) removed and white space around it trimmed, 1 to `max` characters; or why it cannot be.
pub(crate) fn clean_text(text: &str, max: usize, what: &str) -> Result<String, String> {
    let cleaned: String = text.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim();
    check_length(cleaned, max, what)?;
    Ok(cleaned.to_owned())
}

/// Whether a trimmed text a player chose (a name, a chat line) has 1 to `max` characters; else why not.
fn check_length(text: &str, max: usize, what: &str) -> Result<(), String> {
    let chars = text.chars().count();
    if chars == 0 {
        return Err(format!("{what} is empty"));
    }
    if chars > max {
        return Err(format!("{what} has {chars} characters; at most {max} are allowed"));
    }
    Ok(())
}

/// A trimmed, checked display name, or why it is not acceptable.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    check_length(name, MAX_NAME_CHARS, "the name")?;
    if name.chars().any(char::is_control) {
        return Err("the name contains control characters".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_is_cleaned_and_checked() {
        assert_eq!(clean_chat("  gg \u{7}wp\n "), Ok("gg wp".into()));
        assert_eq!(clean_chat("<img src=x onerror=alert(1)>"), Ok("<img src=x onerror=alert(1)>".into()));
        assert!(clean_chat(" \u{0}\t\r\n ").is_err());
        assert_eq!(clean_chat(&"é".repeat(MAX_CHAT_CHARS)).map(|t| t.chars().count()), Ok(MAX_CHAT_CHARS));
        assert!(clean_chat(&"x".repeat(MAX_CHAT_CHARS + 1)).is_err());
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(validate_name("  Ada  "), Ok("Ada".into()));
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert_eq!(validate_name(&"é".repeat(MAX_NAME_CHARS)).map(|n| n.chars().count()), Ok(MAX_NAME_CHARS));
        assert!(validate_name("bad\u{7}name").is_err());
    }
}
