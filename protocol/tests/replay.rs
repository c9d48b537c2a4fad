//! The replay file format: the golden fixture `fixtures/replay.arena-replay` is the example replay's
//! bytes (and `replay.json` the same, decoded, for the JS tests); readers refuse what is not a whole
//! replay of a format they know, with an error that says which. Inputs come back bit for bit from the
//! input blocks, each chunk reads on its own, a damaged input block is refused with what is wrong, and
//! a format 1 file still reads.
//!
//! Regenerate with `ARENA_UPDATE_FIXTURES=1 cargo test -p arena-protocol --test replay` after a
//! [`FORMAT_VERSION`] bump.

use std::path::{Path, PathBuf};

use arena_protocol::replay::{
    End, EndReason, FORMAT_VERSION, MAGIC, Op, Record, Replay, ReplayError, ReplayReader, encode_header,
};
use arena_protocol::{Input, examples};
use proptest::prelude::*;
use serde_bytes::Bytes;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// The example as JSON: header and records, message bytes as arrays of numbers.
fn as_json(replay: &Replay) -> serde_json::Value {
    let records: Vec<serde_json::Value> = replay
        .records
        .iter()
        .map(|r| match r {
            Record::Tick { tick, ops } => serde_json::json!({
                "kind": "tick",
                "tick": tick,
                "ops": ops.len(),
            }),
            Record::Snapshot { tick, keyframe, bytes } => {
                serde_json::json!({ "kind": "snapshot", "tick": tick, "keyframe": keyframe, "bytes": bytes })
            }
            Record::Events { tick, bytes } => {
                serde_json::json!({ "kind": "events", "tick": tick, "bytes": bytes })
            }
            Record::End(end) => serde_json::json!({ "kind": "end", "end": end }),
        })
        .collect();
    let mut header = serde_json::to_value(&replay.header).expect("json");
    header["state"] = serde_json::json!(replay.header.state);
    serde_json::json!({ "header": header, "records": records })
}

#[test]
fn the_fixture_is_the_example_replay() {
    let example = examples::replay();
    let bytes = example.to_bytes().expect("encode");
    let json = serde_json::to_string_pretty(&as_json(&example)).expect("json") + "\n";
    if std::env::var_os("ARENA_UPDATE_FIXTURES").is_some() {
        std::fs::write(fixture("replay.arena-replay"), &bytes).expect("write fixture");
        std::fs::write(fixture("replay.json"), &json).expect("write fixture");
    }
    let stored = std::fs::read(fixture("replay.arena-replay"))
        .expect("fixture (regenerate with ARENA_UPDATE_FIXTURES=1)");
    assert_eq!(
        stored, bytes,
        "the replay format changed: bump FORMAT_VERSION and regenerate with ARENA_UPDATE_FIXTURES=1"
    );
    assert_eq!(std::fs::read_to_string(fixture("replay.json")).expect("fixture"), json);
    assert_eq!(u16::from_le_bytes([stored[8], stored[9]]), FORMAT_VERSION);
    let decoded = Replay::read(&stored[..]).expect("decode");
    assert_eq!(decoded, example);
    // Each keyframe starts a chunk: header, [inputs, tick × 3], [inputs, keyframe, tick, events, delta],
    // [end]. The chunks with tick records start with their input block.
    let chunks = chunks(&stored);
    assert_eq!(chunks.len(), 4);
    for chunk in &chunks[1..3] {
        assert_eq!(chunk[..2], [0x98, 5], "an input block, an array of 8 of kind 5");
    }
    let first_chunk = example.records.iter().take_while(|r| !matches!(r, Record::Snapshot { .. }));
    let inputs_of_3 = first_chunk
        .flat_map(|r| match r {
            Record::Tick { ops, .. } => &ops[..],
            _ => &[],
        })
        .filter(|op| matches!(op, Op::Input { player: 3, .. }))
        .count();
    assert!(inputs_of_3 >= 2, "the example has inputs coded against the one before");
    let (header, end) = ReplayReader::summary(std::io::Cursor::new(&stored)).expect("summary");
    assert_eq!(header, example.header);
    assert_eq!(end.as_ref(), example.end());
}

#[test]
fn what_is_not_a_whole_replay_is_refused_with_a_reason() {
    let bytes = examples::replay().to_bytes().expect("encode");
    let read = |b: &[u8]| Replay::read(b).expect_err("accepted");

    assert!(matches!(read(b"{\"not\": \"a replay\"}"), ReplayError::NotAReplay));
    assert!(matches!(read(&bytes[..5]), ReplayError::NotAReplay));

    let mut newer = bytes.clone();
    newer[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = read(&newer);
    assert!(matches!(err, ReplayError::NewerFormat { found, .. } if found == FORMAT_VERSION + 1), "{err}");
    assert!(err.to_string().contains("update Arena"), "{err}");

    // Cut anywhere inside a chunk: truncated, naming the chunk; the summary says so too.
    for cut in [12, bytes.len() / 2, bytes.len() - 1] {
        let err = read(&bytes[..cut]);
        assert!(matches!(err, ReplayError::Truncated { .. }), "cut at {cut}: {err}");
        assert!(err.to_string().contains("truncated"), "{err}");
        let summary = ReplayReader::summary(std::io::Cursor::new(&bytes[..cut]));
        assert!(summary.is_err(), "cut at {cut}");
    }

    // A chunk claiming 4 GiB is refused before anything is allocated for it.
    let mut huge = bytes[..10].to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(read(&huge), ReplayError::ChunkTooLarge { chunk: 0, .. }));

    // A damaged chunk: its bytes are not zstd.
    let mut damaged = bytes.clone();
    for b in &mut damaged[14..30] {
        *b ^= 0x5a;
    }
    assert!(matches!(read(&damaged), ReplayError::Corrupt { chunk: 0, .. }));
    assert_eq!(&bytes[..8], &MAGIC);
}

/// The decompressed chunks of a file (header first).
fn chunks(file: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 10;
    while at < file.len() {
        let len = u32::from_le_bytes(file[at..at + 4].try_into().expect("4 bytes")) as usize;
        out.push(zstd::decode_all(&file[at + 4..at + 4 + len]).expect("a zstd frame"));
        at += 4 + len;
    }
    out
}

/// A file of `version` with the example's header and these chunk contents after it.
fn file_with(version: u16, chunks: &[Vec<u8>]) -> Vec<u8> {
    let mut header = examples::replay().header;
    header.format = version;
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&version.to_le_bytes());
    for contents in std::iter::once(encode_header(&header).expect("header")).chain(chunks.iter().cloned()) {
        let frame = zstd::bulk::compress(&contents, 3).expect("compress");
        file.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        file.extend_from_slice(&frame);
    }
    file
}

fn msgpack(value: &impl serde::Serialize) -> Vec<u8> {
    rmp_serde::to_vec(value).expect("encode")
}

/// An input's fields as bits: equal when they are the same bit for bit (NaN payloads, -0.0).
fn bits(op: &Op) -> String {
    match op {
        Op::Input { player, input } => format!(
            "input {player}: seq {} move {:#x} {:#x} aim {:#x} buttons {} view {:?}",
            input.seq,
            input.movement[0].to_bits(),
            input.movement[1].to_bits(),
            input.aim.to_bits(),
            input.buttons,
            input.view_tick.map(f64::to_bits)
        ),
        other => format!("{other:?}"),
    }
}

fn all_bits(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| match r {
            Record::Tick { tick, ops } => {
                format!("tick {tick}: {:?}", ops.iter().map(bits).collect::<Vec<_>>())
            }
            other => format!("{other:?}"),
        })
        .collect()
}

/// Values a real input has (the same again, a step, a unit vector) and the ones a coder gets wrong
/// (-0.0, NaN payloads, infinities, subnormals), in any order.
fn float32() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(-1.0),
        Just(0.707_106_77),
        Just(-0.707_106_77),
        Just(f32::NAN),
        Just(f32::from_bits(0xffc0_1234)),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(f32::from_bits(1)),
        Just(f32::MAX),
        -4.0f32..4.0,
        any::<f32>(),
    ]
}

fn view_tick() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        Just(Some(1230.0)),
        Just(Some(1232.0)),
        Just(Some(1232.5)),
        Just(Some(-0.0)),
        Just(Some(f64::NAN)),
        Just(Some(f64::from_bits(0xfff8_0000_0000_0001))),
        Just(Some(f64::INFINITY)),
        Just(Some(f64::from_bits(1))),
        (1000.0f64..2000.0).prop_map(Some),
        (0u32..5000).prop_map(|t| Some(f64::from(t))),
        // On the server's grid, as a browser's are once the server has them.
        (256_000u32..512_000).prop_map(|t| Some(f64::from(t) / arena_protocol::VIEW_TICK_FRACTIONS)),
        any::<f64>().prop_map(Some),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    let seq = prop_oneof![Just(0), Just(u32::MAX), 0u32..20, any::<u32>()];
    (seq, float32(), float32(), float32(), prop_oneof![Just(0), Just(1), any::<u8>()], view_tick()).prop_map(
        |(seq, x, y, aim, buttons, view_tick)| Input { seq, movement: [x, y], aim, buttons, view_tick },
    )
}

/// A recording of ticks with inputs (some the same as the player's previous, some following on by
/// one), a keyframe every few ticks (a new chunk), and other ops between.
fn recording() -> impl Strategy<Value = Replay> {
    let step = (0u32..4, input(), 0u8..4, 0u8..6);
    (proptest::collection::vec(step, 1..120), 2u8..20).prop_map(|(steps, keyframe_every)| {
        let mut replay = examples::replay();
        replay.records.clear();
        let mut last: std::collections::HashMap<u32, Input> = Default::default();
        let mut tick = 1231;
        let mut ops = Vec::new();
        for (i, (player, input, how, then)) in steps.into_iter().enumerate() {
            let prev = last.get(&player).copied();
            let input = match (how, prev) {
                (0, Some(prev)) => Input { seq: prev.seq.wrapping_add(1), ..prev },
                (1, Some(prev)) => Input { seq: prev.seq.wrapping_add(1), aim: input.aim, ..prev },
                _ => input,
            };
            last.insert(player, input);
            ops.push(Op::Input { player, input });
            match then {
                0 => ops.push(Op::Despawn { player }),
                1 | 2 => {
                    replay.records.push(Record::Tick { tick, ops: std::mem::take(&mut ops) });
                    if i % usize::from(keyframe_every) == 0 {
                        replay.records.push(Record::Snapshot { tick, keyframe: true, bytes: vec![0x90] });
                    }
                    tick += 1;
                }
                _ => {}
            }
        }
        replay.records.push(Record::Tick { tick, ops });
        replay.records.push(Record::End(End { tick, reason: EndReason::Closed, players: vec![], kills: 0 }));
        replay
    })
}

proptest! {
    #[test]
    fn inputs_come_back_bit_for_bit(replay in recording()) {
        let bytes = replay.to_bytes().expect("encode");
        let back = Replay::read(&bytes[..]).expect("decode");
        prop_assert_eq!(all_bits(&back.records), all_bits(&replay.records));
    }
}

#[test]
fn each_chunk_reads_on_its_own() {
    let example = examples::replay();
    let stored = example.to_bytes().expect("encode");
    // Without the first chunk of records: the second still has all its inputs.
    let first_len = |at: usize| 4 + u32::from_le_bytes(stored[at..at + 4].try_into().expect("4")) as usize;
    let header_end = 10 + first_len(10);
    let second = header_end + first_len(header_end);
    let mut cut = stored[..header_end].to_vec();
    cut.extend_from_slice(&stored[second..]);
    let read = Replay::read(&cut[..]).expect("decode");
    let from_keyframe =
        example.records.iter().position(|r| matches!(r, Record::Snapshot { .. })).expect("keyframe");
    assert_eq!(all_bits(&read.records), all_bits(&example.records[from_keyframe..]));
    assert!(
        read.records
            .iter()
            .any(|r| matches!(r, Record::Tick { ops, .. } if matches!(ops[..], [Op::Input { .. }]))),
        "the second chunk has an input"
    );
}

#[test]
fn a_format_1_file_still_reads() {
    // Format 1 as it was written: inputs whole in their tick records (floats as float32), no input block.
    let input = Input { seq: 7, movement: [1.0, -0.0], aim: 0.25, buttons: 1, view_tick: Some(1232.5) };
    let v1_input = |player: u32, i: Input| {
        (4u8, player, i.seq, i.movement[0], i.movement[1], i.aim, i.buttons, i.view_tick)
    };
    let mut records = msgpack(&(1u8, 1231u64, (v1_input(3, input), (1u8, 9u32, "Linus", Some(3u32)))));
    records.extend(msgpack(&(1u8, 1232u64, [v1_input(3, Input { seq: 8, view_tick: None, ..input })])));
    records.extend(msgpack(&(2u8, 1232u64, true, Bytes::new(&[0x90]))));
    let end = msgpack(&(4u8, 1240u64, "finished", [(3u32, "Grace", 1u32, 0u32)], 1u32));
    let file = file_with(1, &[records, end]);
    let replay = Replay::read(&file[..]).expect("a format 1 file reads");
    assert_eq!(replay.header.format, 1);
    let want = [
        Record::Tick {
            tick: 1231,
            ops: vec![
                Op::Input { player: 3, input },
                Op::Join { player: 9, name: "Linus".into(), resume_after: Some(3) },
            ],
        },
        Record::Tick {
            tick: 1232,
            ops: vec![Op::Input { player: 3, input: Input { seq: 8, view_tick: None, ..input } }],
        },
        Record::Snapshot { tick: 1232, keyframe: true, bytes: vec![0x90] },
    ];
    assert_eq!(all_bits(&replay.records[..3]), all_bits(&want));
    assert_eq!(replay.end().map(|e| (e.tick, e.kills, e.players.len())), Some((1240, 1, 1)));
}

#[test]
fn a_damaged_input_block_is_refused_with_what_is_wrong() {
    // Player 3's inputs: `controls` in the control column, the other columns as given.
    let block = |count: u32, control: &[u8], move_x: &[u8], move_x_low: &[u8]| {
        msgpack(&(
            5u8,
            [(3u32, count)],
            Bytes::new(control),
            Bytes::new(move_x),
            Bytes::new(move_x_low),
            Bytes::new(&[]),
            Bytes::new(&[]),
            Bytes::new(&[]),
        ))
    };
    let tick = |inputs: usize| msgpack(&(1u8, 1231u64, vec![3u32; inputs]));
    let many = vec![0u8; 1_000_000];
    let cases: [(&str, Vec<u8>); 11] = [
        ("and the chunk has none", tick(1)),
        ("beyond the chunk's input block", [block(1, &[0], &[], &[]), tick(2)].concat()),
        ("1 inputs of player 3 that no tick record takes", [block(2, &[0, 0], &[], &[]), tick(1)].concat()),
        ("unknown control bits 0x40", [block(1, &[0x40], &[], &[]), tick(1)].concat()),
        ("the move_x column ends early", [block(1, &[2], &[], &[]), tick(1)].concat()),
        ("the move_x_low column ends early", [block(1, &[2], &[0], &[]), tick(1)].concat()),
        ("view tick kind 2 is a step from none", [block(1, &[32, 2, 4], &[], &[]), tick(1)].concat()),
        ("claims 1000 inputs but has 1 control bytes", [block(1000, &[0], &[], &[]), tick(1)].concat()),
        // A megabyte of zeros (a few hundred bytes compressed) would be 40 MB of inputs.
        ("more than a chunk may hold", [block(1_000_000, &many, &[], &[]), tick(1)].concat()),
        ("column has 1 bytes past its inputs", [block(1, &[0], &[7], &[]), tick(1)].concat()),
        ("not the chunk's first value", [tick(0), block(1, &[0], &[], &[]), tick(1)].concat()),
    ];
    for (reason, contents) in cases {
        let file = file_with(FORMAT_VERSION, &[contents]);
        let err = Replay::read(&file[..]).expect_err(reason);
        assert!(matches!(err, ReplayError::Corrupt { chunk: 1, .. }), "{reason}: {err}");
        assert!(err.to_string().contains(reason), "{reason}: {err}");
    }
    // The same block whole reads: one input, all its fields as before any (sequence number 1).
    let file = file_with(FORMAT_VERSION, &[[block(1, &[0], &[], &[]), tick(1)].concat()]);
    let replay = Replay::read(&file[..]).expect("decode");
    let Some(Record::Tick { ops, .. }) = replay.records.first() else { panic!("a tick record") };
    assert_eq!(
        ops[..],
        [Op::Input {
            player: 3,
            input: Input { seq: 1, movement: [0.0, 0.0], aim: 0.0, buttons: 0, view_tick: None }
        }]
    );
}

/// A minute of one player's inputs as a browser sends them (a fractional view tick that moves on by
/// about a tick a frame, sometimes two inputs to a frame), each tick a record, a chunk every 5 s.
fn browser_minute(view: impl Fn(f64) -> f64) -> Replay {
    let mut replay = examples::replay();
    replay.records.clear();
    for i in 0..3600u32 {
        let tick = 1231 + u64::from(i);
        // 60 Hz frames with a little jitter, and the render delay drifting slowly.
        let drawn = f64::from(i) - 6.3 + 0.05 * (f64::from(i) * 0.37).sin() + 0.002 * f64::from(i % 97);
        let input =
            Input { seq: i + 1, movement: [1.0, 0.0], aim: 0.5, buttons: 0, view_tick: Some(view(drawn)) };
        replay.records.push(Record::Tick { tick, ops: vec![Op::Input { player: 3, input }] });
        if i % 300 == 0 {
            replay.records.push(Record::Snapshot { tick, keyframe: true, bytes: vec![0x90] });
        }
    }
    replay
}

#[test]
fn view_ticks_on_the_servers_grid_are_small_steps_on_disk() {
    use arena_protocol::quantize_view_tick;
    for v in [0.0, -0.0, 1233.8125, 1e15, 5e15, f64::INFINITY, f64::MAX] {
        assert_eq!(quantize_view_tick(v).to_bits(), v.to_bits(), "{v} is on the grid already");
    }
    assert!(quantize_view_tick(f64::NAN).is_nan());
    for v in [1233.1, -7.77, 123_456.789_012] {
        let q = quantize_view_tick(v);
        assert!((q - v).abs() <= 0.5 / arena_protocol::VIEW_TICK_FRACTIONS, "{v} -> {q}");
        assert_eq!(quantize_view_tick(q).to_bits(), q.to_bits(), "applying it twice changes nothing");
    }
    let raw = browser_minute(|v| v).to_bytes().expect("encode");
    let on_grid = browser_minute(quantize_view_tick);
    let grid = on_grid.to_bytes().expect("encode");
    assert_eq!(all_bits(&Replay::read(&grid[..]).expect("decode").records), all_bits(&on_grid.records));
    // The steps take a byte or two where a float's noisy bits take several.
    assert!(grid.len() * 2 < raw.len(), "on the grid {} bytes, raw {} bytes", grid.len(), raw.len());
}
