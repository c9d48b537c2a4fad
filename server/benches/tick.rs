//! Micro-benchmarks of the tick path: building and encoding one snapshot as a keyframe and as a delta
//! (16, 64 and 256 ships with projectiles), and one room tick with 16 players moving, aiming and firing,
//! with and without recording the match (what recording adds on the tick: the simulation's journal,
//! and the room's chunk of records: the tick's calls, and every other tick the snapshot's bytes,
//! handed to the writer every 5 s; compressing and writing happen on the writer's thread).
//!
//! Run with `cargo bench -p arena-server --bench tick`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use arena_protocol::replay::{ChunkBuilder, RecordRef};
use arena_protocol::{Buttons, Input, ProjectileState, ServerMsg, ShipState, Snapshot, SnapshotFrame};
use arena_server::GameData;
use arena_server::sim::Simulation;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn game() -> Arc<GameData> {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    Arc::new(GameData::load(&assets, "crossroads").expect("assets"))
}

fn snapshot(ships: u32, tick: u64) -> Snapshot {
    // Two snapshots `tick`s apart differ as fighting ships do: moved along their velocity, turned, one
    // more input acknowledged, a new projectile or two.
    let t = (tick - 123_456) as i32;
    Snapshot {
        tick,
        ships: (0..ships)
            .map(|i| ShipState {
                id: 1000 + i,
                x: 4000 + 37 * i as i32 + t * (-2560 + 11 * i as i32) / 60,
                y: 3000 + 53 * i as i32 + t * 20,
                vx: -2560 + 11 * i as i32,
                vy: 1200,
                aim: (i * 997) as u16 + 40 * t as u16,
                health: 75,
                respawn_ticks: 0,
                ack: 40_000 + i + t as u32,
            })
            .collect(),
        projectiles: (t as u32..ships * 2 + t as u32)
            .map(|i| ProjectileState {
                id: i,
                owner: 1000 + i / 2,
                seq: 39_000 + i,
                tick,
                x: 5000 + 7 * i as i32 + t * 120,
                y: 2000 - t * 5,
                vx: 7200,
                vy: -300,
                end_tick: tick + 40,
            })
            .collect(),
        pickups: 0b1011,
        scores: Vec::new(),
        ..Default::default()
    }
}

fn encode_snapshot(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_snapshot");
    for ships in [16u32, 64, 256] {
        let (base, next) = (snapshot(ships, 123_456), snapshot(ships, 123_458));
        let mut frame = SnapshotFrame::default();
        let mut msg = ServerMsg::Left;
        let mut buf = Vec::with_capacity(64 * 1024);
        group.bench_with_input(BenchmarkId::new("keyframe", ships), &next, |b, next| {
            b.iter(|| {
                frame.keyframe(black_box(next));
                encode(&mut frame, &mut msg, &mut buf)
            })
        });
        group.bench_with_input(BenchmarkId::new("delta", ships), &next, |b, next| {
            b.iter(|| {
                assert!(frame.delta(black_box(&base), black_box(next), 60));
                encode(&mut frame, &mut msg, &mut buf)
            })
        });
    }
    group.finish();
}

/// Encodes `frame` as the room does (moved into a message and back, no copy) and returns the length.
fn encode(frame: &mut SnapshotFrame, msg: &mut ServerMsg, buf: &mut Vec<u8>) -> usize {
    *msg = ServerMsg::Snapshot(std::mem::take(frame));
    buf.clear();
    arena_protocol::encode_into(msg, buf).expect("encode");
    if let ServerMsg::Snapshot(f) = std::mem::replace(msg, ServerMsg::Left) {
        *frame = f;
    }
    black_box(buf.len())
}

/// One tick's inputs of 16 fighting players: moving, turning, firing, drawn 12 ticks (200 ms) behind as
/// a browser over a 100 ms link, so every shot is rewound.
fn push_fighting_inputs(sim: &mut Simulation, ships: &[bevy_ecs::entity::Entity], seq: u32) {
    let view_tick = Some(sim.tick() as f64 - 12.0);
    for (i, &ship) in ships.iter().enumerate() {
        let angle = seq as f32 / 30.0 + i as f32;
        sim.push_input(
            ship,
            Input {
                seq,
                movement: [angle.cos(), angle.sin()],
                aim: angle * 3.0,
                buttons: Buttons::FIRE,
                view_tick,
            },
        );
    }
}

fn room_tick(c: &mut Criterion) {
    let mut sim = Simulation::new(game(), 60, 1);
    let ships: Vec<_> = (1..=16).map(|p| sim.add_player(p)).collect();
    let mut seq = 0u32;
    let mut snap = Snapshot::default();
    c.bench_function("room_tick_16_fighting", |b| {
        b.iter(|| {
            seq += 1;
            push_fighting_inputs(&mut sim, &ships, seq);
            sim.step();
            sim.write_snapshot(&mut snap);
            black_box(snap.ships.len())
        })
    });
}

/// The same tick in a room recording its match, with the recording's share of the room's work: the
/// journal taken, the tick record and (at 30 Hz snapshots, every other tick) the snapshot record
/// pushed to the chunk, and a new chunk every 5 s (300 snapshots), as the room's recorder does.
fn room_tick_recorded(c: &mut Criterion) {
    let mut sim = Simulation::new(game(), 60, 1);
    let ships: Vec<_> = (1..=16).map(|p| sim.add_player(p)).collect();
    sim.keep_journal();
    let mut seq = 0u32;
    let mut snap = Snapshot::default();
    let mut journal = Vec::new();
    let mut chunk = ChunkBuilder::default();
    // A fighting room's snapshot as it is encoded for the players (the room encodes it anyway; the
    // recording copies its bytes).
    let mut frame = SnapshotFrame::default();
    frame.keyframe(&snapshot(16, 123_456));
    let bytes = arena_protocol::encode(&ServerMsg::Snapshot(frame)).expect("encode");
    let mut snapshots = 0u32;
    c.bench_function("room_tick_16_fighting_recorded", |b| {
        b.iter(|| {
            seq += 1;
            push_fighting_inputs(&mut sim, &ships, seq);
            sim.step();
            sim.write_snapshot(&mut snap);
            journal.clear();
            sim.take_journal(&mut journal);
            let tick = sim.tick();
            chunk.push(RecordRef::Tick { tick, ops: &journal }).expect("tick record");
            if tick.is_multiple_of(2) {
                if snapshots == 300 {
                    black_box(chunk.take());
                    snapshots = 0;
                }
                chunk
                    .push(RecordRef::Snapshot { tick, keyframe: snapshots == 0, bytes: &bytes })
                    .expect("record");
                snapshots += 1;
            }
            black_box(snap.ships.len())
        })
    });
}

criterion_group!(benches, encode_snapshot, room_tick, room_tick_recorded);
criterion_main!(benches);
