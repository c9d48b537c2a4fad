//! Keyframes and deltas: whatever two snapshots the server has, a client that decoded the first gets
//! the second back from the delta exactly; one that missed it is refused rather than misled; and bytes
//! from anywhere never make the decoder panic.

use arena_protocol::codec::decode_with_limit;
use arena_protocol::snapshot::sort_by_id;
use arena_protocol::{
    DeltaError, GameEvent, MatchState, Phase, ProjectileState, ServerMsg, ShipState, Snapshot,
    SnapshotDecoder, SnapshotFrame, encode, examples,
};
use proptest::prelude::*;

fn frame_of(bytes: &[u8]) -> SnapshotFrame {
    match decode_with_limit(bytes, usize::MAX).expect("decode") {
        ServerMsg::Snapshot(frame) => frame,
        other => panic!("not a snapshot: {other:?}"),
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/server_{name}.msgpack", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// What a client should see of a server snapshot: scores as last sent, projectiles as ids and end ticks
/// (a decoder keeps each at the position it was announced with).
fn comparable(s: &Snapshot) -> (u64, Vec<ShipState>, Vec<(u32, u64)>, u64, MatchState) {
    let mut ships = s.ships.clone();
    ships.sort_by_key(|s| s.id);
    let mut shots: Vec<_> = s.projectiles.iter().map(|p| (p.id, p.end_tick)).collect();
    shots.sort_unstable();
    (s.tick, ships, shots, s.pickups, s.match_state)
}

/// The first example snapshot as a keyframe, and a decoder that has applied it.
fn decoder_at_first_example() -> (SnapshotFrame, SnapshotDecoder) {
    let (first, _) = examples::snapshots();
    let mut key = SnapshotFrame::default();
    key.keyframe(&first);
    let mut decoder = SnapshotDecoder::new(examples::TICK_RATE);
    decoder.apply(&key).expect("keyframe");
    (key, decoder)
}

#[test]
fn the_fixtures_decode_to_the_example_snapshots() {
    let (first, second) = examples::snapshots();
    let mut decoder = SnapshotDecoder::new(examples::TICK_RATE);
    let got = decoder.apply(&frame_of(&fixture("snapshot"))).expect("keyframe").clone();
    assert_eq!(got, first);
    let got = decoder.apply(&frame_of(&fixture("snapshot_delta"))).expect("delta").clone();
    assert_eq!(comparable(&got), comparable(&second));
    assert_eq!(got.scores, first.scores, "empty scores keep the last list");
    // Projectile 12 keeps the position it was announced at, and is where the server has it now.
    let shot12 = got.projectiles.iter().find(|p| p.id == 12).expect("projectile 12 flies on");
    assert_eq!(shot12.tick, 1234);
    assert_eq!(
        shot12.pos_at(1236, examples::TICK_RATE),
        second.projectiles[0].pos_at(1236, examples::TICK_RATE)
    );
}

#[test]
fn a_room_in_steady_motion_costs_three_bytes_a_ship() {
    let ship = |id: u32| ShipState {
        id,
        x: 800 * id as i32,
        y: 4000,
        vx: 2560,
        vy: -1811,
        aim: 250 * id as u16,
        health: 100,
        respawn_ticks: 0,
        ack: 5000 + id,
    };
    let first = Snapshot { tick: 600, ships: (1..=16).map(ship).collect(), ..Snapshot::default() };
    // The server moves a ship by its velocity rounded to the grid each tick: 2560 / 60 = 42.7 -> 43.
    let moved = |s: &ShipState| ShipState { x: s.x + 2 * 43, y: s.y - 2 * 30, ack: s.ack + 2, ..*s };
    let second = Snapshot { tick: 602, ships: first.ships.iter().map(moved).collect(), ..first.clone() };
    let (mut key, mut delta) = (SnapshotFrame::default(), SnapshotFrame::default());
    key.keyframe(&second);
    assert!(delta.delta(&first, &second, 60));
    let key_ships = encode(&key.ships).expect("encode").len();
    let delta_ships = encode(&delta.ships).expect("encode").len();
    // [id, 0]: three bytes a ship (and three for the array's header).
    assert_eq!(delta_ships, 3 + 16 * 3, "keyframe ships take {key_ships} bytes");
}

#[test]
fn a_delta_needs_its_base() {
    let (first, second) = examples::snapshots();
    let mut frame = SnapshotFrame::default();
    assert!(frame.delta(&first, &second, examples::TICK_RATE));
    let mut fresh = SnapshotDecoder::new(examples::TICK_RATE);
    assert_eq!(fresh.apply(&frame), Err(DeltaError::WrongBase { tick: 1236, base_tick: 1234, have: None }));
    let mut key = SnapshotFrame::default();
    key.keyframe(&second);
    fresh.apply(&key).expect("a keyframe needs nothing");
    assert!(matches!(fresh.apply(&frame), Err(DeltaError::WrongBase { have: Some(1236), .. })));
    assert!(!frame.delta(&second, &first, examples::TICK_RATE), "no delta backwards in time");
}

#[test]
fn a_frame_that_does_not_fit_leaves_the_decoder_as_it_was() {
    let (key, mut decoder) = decoder_at_first_example();
    let good = decoder.latest().expect("state").clone();
    // A keyframe whose health is below 0.
    let mut bad = key.clone();
    bad.tick += 2;
    bad.ships[0] = arena_protocol::ShipDelta { id: 3, mask: 1 << 6, values: [0, 0, 0, 0, 0, 0, -1, 0] };
    assert_eq!(decoder.apply(&bad), Err(DeltaError::OutOfRange(3)));
    assert_eq!(decoder.latest(), Some(&good));
    // A delta that takes 200 health from a ship with 75.
    bad.base = 2;
    bad.ships[0].values[6] = -200;
    assert_eq!(decoder.apply(&bad), Err(DeltaError::OutOfRange(3)));
    assert_eq!(decoder.latest(), Some(&good));
}

#[test]
fn hits_end_projectiles_and_phase_changes_clear_them() {
    let (_, mut decoder) = decoder_at_first_example();
    // A hit during tick 1235 (between snapshots) ends the projectile there, not at the events' tick.
    decoder.apply_events(1236, &[GameEvent::Hit { shooter: 3, target: 7, damage: 25, shot: 12, tick: 1235 }]);
    assert_eq!(decoder.latest().expect("state").projectiles[0].end_tick, 1235);
    decoder.apply_events(1236, &[GameEvent::Phase { phase: Phase::Results, ends_tick: 2000 }]);
    assert!(decoder.latest().expect("state").projectiles.is_empty());
}

fn ship(id: u32) -> impl Strategy<Value = ShipState> {
    (
        any::<i32>(),
        any::<i32>(),
        -4000i32..4000,
        -4000i32..4000,
        0u16..4096,
        0u16..200,
        0u16..300,
        any::<u32>(),
    )
        .prop_map(move |(x, y, vx, vy, aim, health, respawn_ticks, ack)| ShipState {
            id,
            x,
            y,
            vx,
            vy,
            aim,
            health,
            respawn_ticks,
            ack,
        })
}

fn ships() -> impl Strategy<Value = Vec<ShipState>> {
    proptest::sample::subsequence((0u32..24).collect::<Vec<_>>(), 0..24)
        .prop_flat_map(|ids| ids.into_iter().map(ship).collect::<Vec<_>>())
}

/// A snapshot at `tick` whose ships, where they move little, move like real ones.
fn snapshot(tick: u64) -> impl Strategy<Value = Snapshot> {
    (
        ships(),
        proptest::sample::subsequence((0u32..40).collect::<Vec<_>>(), 0..40),
        any::<u64>(),
        0u64..3,
        proptest::collection::vec(any::<[u32; 3]>(), 0..4),
    )
        .prop_map(move |(ships, shot_ids, pickups, phase, scores)| Snapshot {
            tick,
            ships,
            projectiles: shot_ids
                .into_iter()
                .map(|id| ProjectileState {
                    id,
                    owner: id % 7,
                    seq: id * 3,
                    tick,
                    x: id as i32 * 100,
                    y: -(id as i32),
                    vx: 7200,
                    vy: -50,
                    end_tick: tick + 1 + u64::from(id),
                })
                .collect(),
            pickups,
            match_state: MatchState {
                phase: [Phase::Warmup, Phase::Playing, Phase::Results][phase as usize],
                ends_tick: phase * 1000,
            },
            scores,
        })
}

proptest! {
    #[test]
    fn a_delta_rebuilds_the_next_snapshot_exactly(
        (first, second, tick_rate) in (1u64..5000, 1u64..300, 1u16..=240).prop_flat_map(|(t0, gap, rate)| {
            (snapshot(t0), snapshot(t0 + gap), Just(rate))
        })
    ) {
        let mut base = first.clone();
        sort_by_id(&mut base);
        let mut decoder = SnapshotDecoder::new(tick_rate);
        let mut key = SnapshotFrame::default();
        key.keyframe(&first);
        let bytes = encode(&ServerMsg::Snapshot(key)).expect("encode");
        decoder.apply(&frame_of(&bytes)).expect("keyframe");

        let mut delta = SnapshotFrame::default();
        prop_assert!(delta.delta(&base, &second, tick_rate));
        let bytes = encode(&ServerMsg::Snapshot(delta)).expect("encode");
        let got = decoder.apply(&frame_of(&bytes)).expect("delta").clone();

        let (tick, ships, _, pickups, match_state) = comparable(&second);
        let (got_tick, got_ships, got_shots, got_pickups, got_match) = comparable(&got);
        prop_assert_eq!((got_tick, got_ships, got_pickups, got_match), (tick, ships, pickups, match_state));
        // The decoder has every projectile of the second snapshot the first did not have, and keeps the
        // first's until their end: ids the server no longer lists were ended by events it also sends.
        let mut expected: Vec<(u32, u64)> = second
            .projectiles
            .iter()
            .filter(|p| !first.projectiles.iter().any(|q| q.id == p.id))
            .chain(first.projectiles.iter().filter(|p| p.in_flight(second.tick)))
            .map(|p| (p.id, p.end_tick))
            .collect();
        expected.sort_unstable();
        expected.dedup_by_key(|p| p.0);
        prop_assert_eq!(got_shots, expected);
        let scores = if second.scores.is_empty() { &first.scores } else { &second.scores };
        prop_assert_eq!(&got.scores, scores);
    }

    #[test]
    fn arbitrary_frames_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let (_, mut decoder) = decoder_at_first_example();
        if let Ok(ServerMsg::Snapshot(frame)) = decode_with_limit::<ServerMsg>(&bytes, usize::MAX) {
            let _ = decoder.apply(&frame);
        }
    }

    #[test]
    fn arbitrary_ship_values_never_panic(
        id in any::<u32>(), mask in any::<u8>(), values in any::<[i64; 8]>(), base in 1u16..=u16::MAX
    ) {
        let (key, mut decoder) = decoder_at_first_example();
        let frame = SnapshotFrame {
            tick: key.tick + u64::from(base),
            base,
            ships: vec![arena_protocol::ShipDelta { id, mask, values }],
            ..SnapshotFrame::default()
        };
        let _ = decoder.apply(&frame);
    }
}
