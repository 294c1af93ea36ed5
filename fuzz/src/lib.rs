//! The fuzz targets' bodies: one function per parser that takes hostile bytes, each checking what the
//! parser promises beyond "does not panic". The binaries in `fuzz_targets/` are one-line wrappers, so
//! retargeting a parser (say, typed deserialisation straight from bytes) means changing one function.
//!
//! A failed check panics, which libFuzzer reports as a crash and saves as an artifact.

#![allow(clippy::panic)]

use ledtogo::config::{Config, ConfigDocument};
use ledtogo::outputs::serial::protocol::{
    ADX_MAGIC, ADY_MAGIC, Boot, Decoder, DeviceMessage, Direction, Item, MAX_PAYLOAD, Request,
    encode_ada, encode_ext,
};
use ledtogo::sources::jenkins::parse::{Context, listing};

/// The server a fuzzed answer claims to come from.
const CTX: Context<'static> = Context {
    server: "ci",
    base: "https://ci.example.com/jenkins/",
};

/// A Jenkins answer: bytes → jobs (read as a stream, as the client does). Every job must be named after
/// our server and link into it (a hostile server must not make the app open a foreign page).
pub fn fuzz_listing(bytes: &[u8]) {
    for parent in [vec![], vec!["team-a".to_owned(), "sub".to_owned()]] {
        let Ok(found) = listing(CTX, bytes, &parent) else {
            continue;
        };
        for job in &found.jobs {
            assert_eq!(job.id.server, CTX.server, "{job:?}");
            assert!(
                ledtogo::weburl::is_within(&job.url, CTX.base),
                "job link {:?} leaves the server {:?}",
                job.url,
                CTX.base
            );
        }
    }
}

/// A config file: the validator and the editor must not panic on any text, the editor must open every
/// file the validator accepts (the window edits what the app runs), and what the editor writes back
/// for an untouched file must mean the same configuration.
pub fn fuzz_config(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let config = Config::parse(&text, None);
    let doc = ConfigDocument::parse(&text);
    let doc = match (&config, doc) {
        (_, Ok(doc)) => doc,
        (Ok(_), Err(e)) => panic!("the validator accepts the file, the editor does not: {e}"),
        (Err(_), Err(_)) => return,
    };
    let written = doc.text();
    let again = Config::parse(&written, None);
    match (&config, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the editor's text means another configuration"),
        (Err(_), Err(_)) => {}
        _ => {
            panic!("validity changed through the editor: {config:?} became {again:?}\n{written:?}")
        }
    }
}

/// Serial bytes through the stream decoder, one byte at a time, as both sides read them. Every item
/// must re-encode to bytes that really were on the line, every typed message must survive its own
/// encode/decode, and on the host side (device → host) no garbage may cost the real frame after it.
pub fn fuzz_serial_decoder(bytes: &[u8]) {
    decode_checked(bytes, Decoder::new(Direction::DeviceToHost), ADY_MAGIC);
    decode_checked(bytes, Decoder::new(Direction::HostToDevice), ADX_MAGIC);
    let device_max = u8::try_from(MAX_PAYLOAD).unwrap_or(u8::MAX);
    decode_checked(
        bytes,
        Decoder::with_max_payload(Direction::HostToDevice, device_max),
        ADX_MAGIC,
    );
    garbage_never_costs_the_next_frame(bytes);
}

/// Feeds `bytes` byte by byte and checks each item against the stream it came from.
fn decode_checked(bytes: &[u8], mut decoder: Decoder, magic: [u8; 3]) {
    let mut out = Vec::new();
    for (i, &b) in bytes.iter().enumerate() {
        out.clear();
        decoder.push(b, &mut out);
        let seen = &bytes[..=i];
        for item in out.iter().filter_map(|r| r.as_ref().ok()) {
            let encoded = match item {
                Item::HelloLine => b"Ada\n".to_vec(),
                Item::Ada(leds) => encode_ada(leds).unwrap_or_else(|e| panic!("{item:?}: {e}")),
                Item::Ext(f) => encode_ext(magic, f.seq, f.cmd, &f.payload)
                    .unwrap_or_else(|e| panic!("{item:?}: {e}")),
            };
            assert!(
                contains(seen, &encoded),
                "{item:?} re-encodes to {encoded:02x?}, which is not in the bytes read so far"
            );
            typed_round_trip(item, magic);
        }
    }
}

/// A decoded frame that parses as a typed message must encode back to a frame that parses the same.
fn typed_round_trip(item: &Item, magic: [u8; 3]) {
    let Item::Ext(frame) = item else {
        return;
    };
    if magic == ADY_MAGIC {
        match DeviceMessage::from_frame(frame) {
            Ok(DeviceMessage::Reply(reply)) => {
                let bytes = reply.encode().unwrap_or_else(|e| panic!("{reply:?}: {e}"));
                let again = first_frame(&bytes, Direction::DeviceToHost);
                assert_eq!(
                    DeviceMessage::from_frame(&again).ok(),
                    Some(DeviceMessage::Reply(reply))
                );
            }
            Ok(DeviceMessage::Boot(boot)) => {
                let bytes = boot.encode().unwrap_or_else(|e| panic!("{boot:?}: {e}"));
                let again = first_frame(&bytes, Direction::DeviceToHost);
                assert_eq!(Boot::decode(&again.payload).ok(), Some(boot));
            }
            Ok(DeviceMessage::HelloLine) | Err(_) => {}
        }
    } else if let Ok(request) = Request::decode(frame.cmd, &frame.payload) {
        let bytes = request
            .encode(frame.seq.max(1))
            .unwrap_or_else(|e| panic!("{request:?}: {e}"));
        let again = first_frame(&bytes, Direction::HostToDevice);
        assert_eq!(
            Request::decode(again.cmd, &again.payload).ok(),
            Some(request)
        );
    }
}

fn first_frame(bytes: &[u8], direction: Direction) -> ledtogo::outputs::serial::protocol::ExtFrame {
    match Decoder::new(direction).feed(bytes).into_iter().next() {
        Some(Ok(Item::Ext(frame))) => frame,
        other => panic!("a freshly encoded frame {bytes:02x?} decodes to {other:?}"),
    }
}

/// The host decoder's promise: after any garbage, a real device frame is still found (unless the
/// garbage and the frame's own bytes happen to make another frame with a valid CRC). It may be found
/// late: garbage ending in a false header that passes its check (`Ady` + 4 bytes, 1 in 256) makes the
/// decoder wait for that header's whole body before it gives up and re-reads the real frame, so the
/// stream goes on with enough bytes to complete any candidate (a header plus 255 + 2 bytes).
fn garbage_never_costs_the_next_frame(garbage: &[u8]) {
    // A PING reply (seq 9, OK, uptime 0x01020304, live).
    let Ok(frame) = encode_ext(ADY_MAGIC, 9, 0x82, &[0, 1, 2, 3, 4, 0]) else {
        panic!("the PING reply does not encode");
    };
    let mut stream = garbage.to_vec();
    stream.extend(&frame);
    let real_end = stream.len();
    stream.extend([0u8; 7 + 255 + 2]);
    let real = &stream[garbage.len()..real_end];
    let items: Vec<Item> = Decoder::new(Direction::DeviceToHost)
        .feed(&stream)
        .into_iter()
        .filter_map(Result::ok)
        .collect();
    let found = items.iter().any(|item| {
        matches!(item, Item::Ext(f) if encode_ext(ADY_MAGIC, f.seq, f.cmd, &f.payload).ok().as_deref() == Some(real))
    });
    if found {
        return;
    }
    // Another frame that overlaps the real one took its bytes: allowed (its CRC matched).
    let overlapped = items.iter().any(|item| {
        let Item::Ext(f) = item else { return false };
        let Ok(other) = encode_ext(ADY_MAGIC, f.seq, f.cmd, &f.payload) else {
            return false;
        };
        stream.windows(other.len()).enumerate().any(|(at, w)| {
            w == other.as_slice() && at < real_end && at + other.len() > garbage.len()
        })
    });
    assert!(
        overlapped,
        "the real frame after {} garbage bytes was lost: {items:?}",
        garbage.len()
    );
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
