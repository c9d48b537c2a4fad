//! The lag compensation scenario: duels between a **strafer**, a target that flies up and down a lane at
//! full speed and turns at random every 0.3 to 1 s, and a **marksman** that aims at it as a skilled
//! browser player would: at the strafer where the web client would draw it (the same interpolation
//! rule as `web/src/interpolation.ts`, ported here as [`RenderBuffer`]), leading by the projectile's
//! flight time on what it sees, firing on cooldown, and telling the server what it was drawing
//! (`view_tick`). The marksman's hit rate over a link of a given latency, with the server's lag
//! compensation on or off, is what `arena-lagcomp` reports.

use std::collections::VecDeque;
use std::time::Duration;

use arena_protocol::{Buttons, ClientMsg, GameEvent, Input, ServerMsg, ShipState, Snapshot, TuningInfo};
use arena_server::conditioner::LinkConditioner;
use glam::Vec2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::bot::{InputBatcher, ShotTally};
use crate::brain::lead;
use crate::client::{Client, ClientError};

/// How long a remote ship is extrapolated past the newest snapshot (as the web client).
pub const MAX_EXTRAPOLATION_MS: f64 = 100.0;
/// Snapshots over which the clock offset is the minimum (as the web client).
pub const OFFSET_WINDOW: usize = 60;
/// Snapshots kept: the interpolation needs the last few only.
const HISTORY: usize = 32;

/// Snapshot interpolation exactly as the web client does it (`web/src/interpolation.ts`): remote ships
/// are drawn a render delay in the past, between the two snapshots around that moment; the delay is two
/// snapshot intervals plus twice the smoothed arrival jitter.
#[derive(Debug, Clone)]
pub struct RenderBuffer {
    history: VecDeque<Snapshot>,
    candidates: VecDeque<f64>,
    /// Estimated local time of server tick 0, ms.
    offset: f64,
    /// Smoothed arrival jitter, ms.
    pub jitter: f64,
    /// Current render delay, ms.
    pub delay: f64,
    tick_ms: f64,
    snapshot_ms: f64,
}

/// A remote ship as drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drawn {
    /// Where it is drawn.
    pub pos: Vec2,
    /// The velocity it is drawn with (the later snapshot's, as the web client).
    pub vel: Vec2,
}

impl RenderBuffer {
    /// A buffer for a server of these tick and snapshot intervals.
    pub fn new(tick_ms: f64, snapshot_ms: f64) -> Self {
        Self {
            history: VecDeque::with_capacity(HISTORY + 1),
            candidates: VecDeque::with_capacity(OFFSET_WINDOW + 1),
            offset: f64::NAN,
            jitter: 0.0,
            delay: 2.0 * snapshot_ms,
            tick_ms,
            snapshot_ms,
        }
    }

    /// A snapshot arrived at local time `at` (ms).
    pub fn push(&mut self, snap: &Snapshot, at: f64) {
        if self.history.back().is_some_and(|last| snap.tick <= last.tick) {
            return;
        }
        self.history.push_back(snap.clone());
        if self.history.len() > HISTORY {
            self.history.pop_front();
        }
        let candidate = at - snap.tick as f64 * self.tick_ms;
        self.candidates.push_back(candidate);
        if self.candidates.len() > OFFSET_WINDOW {
            self.candidates.pop_front();
        }
        self.offset = self.candidates.iter().copied().fold(f64::INFINITY, f64::min);
        let lateness = candidate - self.offset;
        self.jitter += (lateness - self.jitter) * 0.1;
        let target = 2.0 * self.snapshot_ms + 2.0 * self.jitter;
        self.delay += (target - self.delay) * 0.05;
    }

    /// The server tick (fractional) drawn at local time `now` (ms).
    pub fn render_tick(&self, now: f64) -> f64 {
        (now - self.offset - self.delay) / self.tick_ms
    }

    /// Ship `id` as drawn at `tick`, or `None` when it is not drawn (unknown, or dead).
    pub fn ship(&self, id: u32, tick: f64) -> Option<Drawn> {
        let h = &self.history;
        let i = h.iter().rposition(|s| s.tick as f64 <= tick).unwrap_or(0);
        let before = h.get(i)?;
        let after = h.get(i + 1);
        let a = before.ship(id)?;
        if !a.alive() {
            return None;
        }
        let (a_pos, a_vel) = (Vec2::from_array(a.pos()), Vec2::from_array(a.vel()));
        match after.map(|next| (next, next.ship(id))) {
            Some((next, Some(b))) if b.alive() => {
                let span = (next.tick - before.tick) as f64;
                let t = ((tick - before.tick as f64) / span).clamp(0.0, 1.0) as f32;
                Some(Drawn { pos: a_pos.lerp(Vec2::from_array(b.pos()), t), vel: Vec2::from_array(b.vel()) })
            }
            Some(_) => Some(Drawn { pos: a_pos, vel: a_vel }),
            None => {
                let ms = ((tick - before.tick as f64) * self.tick_ms).clamp(0.0, MAX_EXTRAPOLATION_MS);
                Some(Drawn { pos: a_pos + a_vel * (ms / 1000.0) as f32, vel: a_vel })
            }
        }
    }
}

/// The lane's ends: the strafer turns back before the arena's edge.
const LANE_TOP: f32 = 150.0;
/// See [`LANE_TOP`].
const LANE_BOTTOM: f32 = 850.0;
/// How near its lane (or post) a ship must be to count as in place.
const IN_PLACE: f32 = 40.0;
/// How near its post the marksman stops moving.
const HOLD: f32 = 10.0;

/// The target: up and down the lane `x = lane`, at full speed, turning at random.
#[derive(Debug)]
pub struct Strafer {
    lane: f32,
    down: bool,
    turn_at: f64,
    rng: ChaCha8Rng,
}

impl Strafer {
    /// A strafer on the lane `x = lane`.
    pub fn new(lane: f32, seed: u64) -> Self {
        Self { lane, down: true, turn_at: 0.0, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// The input at local time `now` (ms), given its own ship's latest state.
    pub fn decide(&mut self, seq: u32, now: f64, me: Option<&ShipState>) -> Input {
        let idle = Input { seq, movement: [0.0, 0.0], aim: 0.0, buttons: 0, view_tick: None };
        let Some(me) = me.filter(|s| s.alive()) else { return idle };
        let pos = Vec2::from_array(me.pos());
        if now >= self.turn_at {
            self.down = !self.down;
            self.turn_at = now + self.rng.random_range(300.0..1000.0);
        }
        if pos.y < LANE_TOP {
            self.down = true;
        } else if pos.y > LANE_BOTTOM {
            self.down = false;
        }
        // Gently back to the lane (after a respawn, or a drift): the sideways part grows with the
        // distance, slowly enough that a strafer whose own state arrives late does not swing about it;
        // on the lane, all of the speed goes up or down.
        let across = ((self.lane - pos.x) / 200.0).clamp(-1.0, 1.0);
        let along = (1.0 - across * across).sqrt() * if self.down { 1.0 } else { -1.0 };
        Input { movement: [across, along], ..idle }
    }
}

/// The shooter: holds its post, aims at the target as drawn, leads, fires on cooldown.
#[derive(Debug)]
pub struct Marksman {
    post: Vec2,
    lane: f32,
    last_fire_seq: Option<u32>,
}

impl Marksman {
    /// A marksman at `post`, shooting at a target on the lane `x = lane`.
    pub fn new(post: Vec2, lane: f32) -> Self {
        Self { post, lane, last_fire_seq: None }
    }

    /// The input: `me` is its own ship's latest state, `target` the target as drawn at `view_tick`.
    pub fn decide(
        &mut self,
        seq: u32,
        me: Option<&ShipState>,
        target: Option<Drawn>,
        view_tick: f64,
        tuning: &TuningInfo,
    ) -> Input {
        let view_tick = view_tick.is_finite().then_some(view_tick);
        let idle = Input { seq, movement: [0.0, 0.0], aim: 0.0, buttons: 0, view_tick };
        let Some(me) = me.filter(|s| s.alive()) else { return idle };
        let pos = Vec2::from_array(me.pos());
        let to_post = self.post - pos;
        // Back to the post slowly and then hold still: its own state arrives a round trip late, and a
        // quick pull would swing it about the post (a browser predicts its own ship; a marksman that
        // sits still needs no prediction).
        let movement = if to_post.length() < HOLD {
            [0.0, 0.0]
        } else {
            (to_post / 300.0).clamp_length_max(1.0).to_array()
        };
        let Some(target) = target else { return Input { movement, ..idle } };
        let aim_at = lead(pos, target.pos, target.vel, tuning.projectile_speed);
        let ready = self.last_fire_seq.is_none_or(|last| seq >= last + u32::from(tuning.fire_cooldown_ticks));
        let in_place = to_post.length() < IN_PLACE && (target.pos.x - self.lane).abs() < IN_PLACE;
        let fire = ready && in_place;
        if fire {
            self.last_fire_seq = Some(seq);
        }
        Input {
            movement,
            aim: (aim_at - pos).to_angle(),
            buttons: if fire { Buttons::FIRE } else { 0 },
            ..idle
        }
    }
}

/// One duel.
#[derive(Debug, Clone)]
pub struct DuelConfig {
    /// The game WebSocket URL of a server playing the `duel` map.
    pub url: String,
    /// The distance from the marksman's post to the strafer's lane.
    pub range: f32,
    /// Latency and jitter on both players' links, each way.
    pub link: LinkConditioner,
    /// How long both play.
    pub duration: Duration,
    /// Shots before this much time has passed are not counted (the players take their places).
    pub settle: Duration,
    /// Seed of the strafer's turns.
    pub seed: u64,
}

/// What one duel's marksman did.
#[derive(Debug, Clone, Default)]
pub struct DuelReport {
    /// The range.
    pub range: f32,
    /// Shots counted (fired after the settle time, early enough to land before the end).
    pub shots: u64,
    /// Of those, hits.
    pub hits: u64,
    /// The marksman's round-trip times, ms.
    pub rtt_ms: Vec<f64>,
    /// The marksman's render delay, sampled once a second, ms.
    pub render_delay_ms: Vec<f64>,
    /// The first error either player met.
    pub error: Option<String>,
}

/// The marksman's post: left of centre, halfway down.
pub const POST: Vec2 = Vec2::new(200.0, 500.0);

/// Plays one duel to its end and reports the marksman's shots and hits.
pub async fn duel(config: DuelConfig) -> DuelReport {
    let mut report = DuelReport { range: config.range, ..DuelReport::default() };
    let lane = POST.x + config.range;
    let joined = Client::join_with(&config.url, "marksman", &ClientMsg::CreateRoom, config.link).await;
    let (mut shooter, welcome, room) = match joined {
        Ok(joined) => joined,
        Err(err) => {
            report.error = Some(format!("marksman join: {err}"));
            return report;
        }
    };
    let join = ClientMsg::JoinRoom { code: room.room.clone() };
    let (mut target, target_welcome, _) =
        match Client::join_with(&config.url, "strafer", &join, config.link).await {
            Ok(joined) => joined,
            Err(err) => {
                report.error = Some(format!("strafer join: {err}"));
                return report;
            }
        };
    let start = Instant::now();
    let deadline = start + config.duration;
    let strafer = Strafer::new(lane, config.seed);
    let marksman = Marksman::new(POST, lane);
    let mut ignored = DuelReport::default();
    let (a, b) = tokio::join!(
        play(&mut shooter, &welcome, Role::Marksman(marksman), start, deadline, &config, &mut report),
        play(
            &mut target,
            &target_welcome,
            Role::Strafer(Box::new(strafer)),
            start,
            deadline,
            &config,
            &mut ignored
        ),
    );
    if let Some(err) = a.err().or(b.err()) {
        report.error.get_or_insert(err.to_string());
    }
    for client in [shooter, target] {
        let mut client = client;
        let _ = client.send(&ClientMsg::Leave).await;
        client.close().await;
    }
    report
}

/// Who a player of a duel is.
#[derive(Debug)]
enum Role {
    Marksman(Marksman),
    Strafer(Box<Strafer>),
}

async fn play(
    client: &mut Client,
    welcome: &arena_protocol::Welcome,
    mut role: Role,
    start: Instant,
    deadline: Instant,
    config: &DuelConfig,
    report: &mut DuelReport,
) -> Result<(), ClientError> {
    let me = welcome.player_id;
    let tick_ms = 1000.0 / f64::from(welcome.tick_rate.max(1));
    let mut buffer = RenderBuffer::new(tick_ms, 1000.0 / f64::from(welcome.snapshot_rate.max(1)));
    let mut inputs = interval(Duration::from_secs_f64(tick_ms / 1000.0));
    inputs.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut each_second = interval(Duration::from_secs(1));
    each_second.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut batch = InputBatcher::new(welcome.input_batch);
    let mut seq = 0u32;
    // Shots count from the settle time until a flight's length before the end, so that every counted
    // shot has landed or fizzled by then.
    let flight =
        Duration::from_secs_f64(f64::from(welcome.tuning.projectile_lifetime_ticks) * tick_ms / 1000.0);
    let (count_from, count_until) = (start + config.settle, deadline - flight.min(config.duration / 2));
    let mut tally = ShotTally::default();
    let ms = |at: Instant| (at - start).as_secs_f64() * 1000.0;
    loop {
        tokio::select! {
            () = sleep_until(deadline) => return Ok(()),
            _ = inputs.tick() => {
                seq += 1;
                let now = ms(Instant::now());
                let own = client.snapshot().and_then(|s| s.ship(me));
                let input = match &mut role {
                    Role::Strafer(strafer) => strafer.decide(seq, now, own),
                    Role::Marksman(marksman) => {
                        let view = buffer.render_tick(now);
                        let other = client
                            .snapshot()
                            .and_then(|s| s.ships.iter().find(|s| s.id != me))
                            .map(|s| s.id);
                        let target = other.and_then(|id| buffer.ship(id, view));
                        marksman.decide(seq, own, target, view, &welcome.tuning)
                    }
                };
                if let Some(msg) = batch.push(input) {
                    client.send(&msg).await?;
                }
            }
            _ = each_second.tick() => {
                if matches!(role, Role::Marksman(_)) {
                    report.render_delay_ms.push(buffer.delay);
                    client.send(&ClientMsg::Ping { client_time: ms(Instant::now()) }).await?;
                }
            }
            msg = client.recv() => {
                let now = Instant::now();
                let counting = now >= count_from && now < count_until;
                match msg? {
                    Some(ServerMsg::Snapshot(_)) => {
                        let Some(snap) = client.snapshot() else { continue };
                        buffer.push(snap, ms(now));
                        for p in snap.projectiles.iter().filter(|p| p.owner == me) {
                            report.shots += u64::from(tally.shot(p.id, counting));
                        }
                    }
                    Some(ServerMsg::Events { events, .. }) => {
                        for event in events {
                            let GameEvent::Hit { shooter, shot, .. } = event else { continue };
                            if shooter != me {
                                continue;
                            }
                            report.shots += u64::from(tally.shot(shot, counting));
                            report.hits += u64::from(tally.hit_counts(shot));
                        }
                    }
                    Some(ServerMsg::Pong { client_time, .. }) => report.rtt_ms.push(ms(now) - client_time),
                    Some(ServerMsg::Error { code, message }) => return Err(ClientError::Server { code, message }),
                    Some(_) => {}
                    None => return Err(ClientError::Closed(client.close_reason.clone())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arena_protocol::{examples, quantize};

    fn snap(tick: u64, ships: &[(u32, f32, f32, f32)]) -> Snapshot {
        let mut s = Snapshot { tick, ..Snapshot::default() };
        for &(id, x, vy, health) in ships {
            s.ships.push(ShipState {
                id,
                x: quantize(x),
                y: quantize(500.0),
                vy: quantize(vy),
                health: health as u16,
                respawn_ticks: u16::from(health == 0.0),
                ..ShipState::default()
            });
        }
        s
    }

    #[test]
    fn the_render_buffer_draws_as_the_web_client_does() {
        // 60 Hz ticks, 30 Hz snapshots, arriving on time: the delay starts at two snapshot intervals.
        let tick_ms = 1000.0 / 60.0;
        let mut buffer = RenderBuffer::new(tick_ms, 2.0 * tick_ms);
        buffer.push(&snap(10, &[(2, 100.0, 0.0, 100.0)]), 10.0 * tick_ms);
        buffer.push(&snap(12, &[(2, 120.0, 60.0, 100.0)]), 12.0 * tick_ms);
        assert!((buffer.delay - 4.0 * tick_ms).abs() < 1e-9);
        assert!((buffer.render_tick(15.0 * tick_ms) - 11.0).abs() < 1e-9);
        let mid = buffer.ship(2, 11.0).expect("drawn");
        assert_eq!(mid.pos.x, 110.0, "halfway between the snapshots");
        assert_eq!(mid.vel.y, 60.0, "with the later snapshot's velocity");
        // Past the newest snapshot: extrapolated along its velocity for at most 100 ms.
        assert_eq!(buffer.ship(2, 12.0 + 3.0).expect("drawn").pos.y, 500.0 + 60.0 * 0.05);
        assert_eq!(buffer.ship(2, 12.0 + 60.0).expect("drawn").pos.y, 500.0 + 60.0 * 0.1);
        // A dead ship is not drawn; an unknown one neither.
        buffer.push(&snap(14, &[(2, 120.0, 0.0, 0.0)]), 14.0 * tick_ms);
        assert_eq!(buffer.ship(2, 14.5), None);
        assert_eq!(buffer.ship(9, 11.0), None);
    }

    #[test]
    fn the_marksman_leads_fires_on_cooldown_and_says_what_it_drew() {
        let tuning = examples::tuning();
        let mut marksman = Marksman::new(POST, POST.x + 300.0);
        let me = ShipState {
            id: 1,
            x: quantize(POST.x),
            y: quantize(POST.y),
            health: 100,
            ..ShipState::default()
        };
        let target = Drawn { pos: Vec2::new(POST.x + 300.0, POST.y), vel: Vec2::new(0.0, 320.0) };
        let input = marksman.decide(1, Some(&me), Some(target), 41.5, &tuning);
        assert_eq!((input.buttons, input.view_tick, input.movement), (Buttons::FIRE, Some(41.5), [0.0, 0.0]));
        assert!(input.aim > 0.05, "leads downwards: {}", input.aim);
        assert_eq!(marksman.decide(2, Some(&me), Some(target), 42.0, &tuning).buttons, 0, "cooling down");
        let ready = 1 + u32::from(tuning.fire_cooldown_ticks);
        assert_eq!(marksman.decide(ready, Some(&me), Some(target), 50.0, &tuning).buttons, Buttons::FIRE);
        // A target off its lane is not shot at.
        let away = Drawn { pos: Vec2::new(POST.x + 500.0, POST.y), ..target };
        assert_eq!(marksman.decide(ready * 2, Some(&me), Some(away), 60.0, &tuning).buttons, 0);
    }

    #[test]
    fn the_strafer_flies_its_lane_at_full_speed_and_turns_at_its_ends() {
        let mut strafer = Strafer::new(500.0, 1);
        let at = |y: f32| ShipState {
            id: 2,
            x: quantize(500.0),
            y: quantize(y),
            health: 100,
            ..ShipState::default()
        };
        let input = strafer.decide(1, 0.0, Some(&at(500.0)));
        assert_eq!(input.movement[0], 0.0);
        assert_eq!(input.movement[1].abs(), 1.0, "all of the speed along the lane");
        assert_eq!(
            strafer.decide(2, 1.0, Some(&at(LANE_TOP - 1.0))).movement[1],
            1.0,
            "turns down at the top"
        );
        assert_eq!(
            strafer.decide(3, 2.0, Some(&at(LANE_BOTTOM + 1.0))).movement[1],
            -1.0,
            "and up at the bottom"
        );
        let off_lane = ShipState { x: quantize(300.0), ..at(500.0) };
        assert!(strafer.decide(4, 3.0, Some(&off_lane)).movement[0] > 0.9, "back to the lane");
    }
}
