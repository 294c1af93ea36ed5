//! DDP packets (the Distributed Display Protocol of 3waylabs, as WLED, ESPixelStick and xLights take
//! it): a frame of RGB pixels as one or more UDP packets. Pure code, no I/O.
//!
//! Each packet is a 10-byte header and up to [`MAX_DATA`] bytes of pixel data:
//!
//! | byte | value |
//! |------|-------|
//! | 0    | flags: version 1 ([`FLAG_VERSION_1`], `0x40`), plus [`FLAG_PUSH`] (`0x01`) on a frame's last packet |
//! | 1    | sequence number, 1 to 15 and round again (0 would mean "not used") |
//! | 2    | data type: RGB, 8 bits a channel ([`TYPE_RGB24`], `0x0B`: `00 001 011`) |
//! | 3    | destination: the default output device ([`ID_DISPLAY`], 1) |
//! | 4–7  | where the data goes in the strip, in bytes, big-endian |
//! | 8–9  | data length in bytes, big-endian |
//!
//! A receiver shows what it has when the push packet arrives, so a frame over several packets shows
//! at once. [`MAX_DATA`] is 1440 bytes (480 LEDs): with the headers, a packet fits a 1500-byte
//! Ethernet or Wi-Fi MTU.

use crate::color::Rgb;

/// Bytes of a DDP header (without the optional timecode, which is never sent).
pub const HEADER_LEN: usize = 10;
/// The most pixel data bytes in one packet (480 RGB LEDs), as WLED and xLights send.
pub const MAX_DATA: usize = 1440;
/// Flags: protocol version 1.
pub const FLAG_VERSION_1: u8 = 0x40;
/// Flags: show the frame now (the last packet of a frame).
pub const FLAG_PUSH: u8 = 0x01;
/// Data type: RGB, 8 bits per channel (`C R TTT SSS` = `0 0 001 011`).
pub const TYPE_RGB24: u8 = 0x0B;
/// Destination id of the default output device.
pub const ID_DISPLAY: u8 = 1;
/// The most LEDs a frame carries: the byte offset of the last one must fit the 32-bit offset field.
pub const MAX_LEDS: usize = (u32::MAX as usize) / 3;

/// The sequence number of the next packet: 1 to 15, then 1 again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sequence(u8);

impl Default for Sequence {
    fn default() -> Self {
        Sequence(1)
    }
}

impl Sequence {
    /// The number for this packet; the next call gives the one after it.
    pub fn take(&mut self) -> u8 {
        let n = self.0;
        self.0 = if n >= 15 { 1 } else { n + 1 };
        n
    }
}

/// `frame` as DDP packets, in order; the last carries the push flag. A frame longer than [`MAX_LEDS`]
/// is cut there; an empty frame is one push packet without data.
pub fn packets(frame: &[Rgb], sequence: &mut Sequence) -> Vec<Vec<u8>> {
    let frame = &frame[..frame.len().min(MAX_LEDS)];
    let data: Vec<u8> = frame.iter().flat_map(|c| [c.r, c.g, c.b]).collect();
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&data[..]]
    } else {
        data.chunks(MAX_DATA).collect()
    };
    let last = chunks.len() - 1;
    let mut offset: usize = 0;
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, chunk)| {
            let flags = if i == last {
                FLAG_VERSION_1 | FLAG_PUSH
            } else {
                FLAG_VERSION_1
            };
            // Both fit: offsets stop below 3 · MAX_LEDS ≤ u32::MAX, chunks at MAX_DATA < u16::MAX.
            let at = u32::try_from(offset).unwrap_or(u32::MAX);
            let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
            let mut packet = Vec::with_capacity(HEADER_LEN + chunk.len());
            packet.extend([flags, sequence.take(), TYPE_RGB24, ID_DISPLAY]);
            packet.extend(at.to_be_bytes());
            packet.extend(len.to_be_bytes());
            packet.extend_from_slice(chunk);
            offset = offset.saturating_add(chunk.len());
            packet
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const RED: Rgb = Rgb::new(255, 0, 0);
    const TEAL: Rgb = Rgb::new(0, 0x80, 0x80);

    #[test]
    fn a_short_frame_is_one_push_packet_with_the_header_bytes_of_the_spec() {
        let mut seq = Sequence::default();
        let packets = packets(&[RED, TEAL], &mut seq);
        assert_eq!(packets.len(), 1);
        assert_eq!(
            packets[0],
            [
                0x41, 1, 0x0B, 1, // version 1 + push, sequence 1, RGB 8-bit, display
                0, 0, 0, 0, // offset 0
                0, 6, // 6 data bytes
                255, 0, 0, 0, 0x80, 0x80,
            ]
        );
    }

    #[test]
    fn six_hundred_leds_span_two_packets_and_only_the_last_pushes() {
        let frame: Vec<Rgb> = (0..600u16)
            .map(|i| Rgb::new((i % 256) as u8, (i / 256) as u8, 7))
            .collect();
        let packets = packets(&frame, &mut Sequence::default());
        assert_eq!(packets.len(), 2, "1800 bytes = 1440 + 360");
        let (first, second) = (&packets[0], &packets[1]);
        assert_eq!(first[0], 0x40, "no push on the first packet");
        assert_eq!(second[0], 0x41, "push on the last");
        assert_eq!(&first[4..8], &[0, 0, 0, 0]);
        assert_eq!(&first[8..10], &1440u16.to_be_bytes());
        assert_eq!(first.len(), HEADER_LEN + 1440);
        assert_eq!(
            &second[4..8],
            &1440u32.to_be_bytes(),
            "byte offset of LED 480"
        );
        assert_eq!(&second[8..10], &360u16.to_be_bytes());
        assert_eq!(second.len(), HEADER_LEN + 360);
        assert_eq!(&second[10..13], &[224, 1, 7], "LED 480 starts the second");
        assert_eq!(
            (first[1], second[1]),
            (1, 2),
            "one sequence number per packet"
        );
    }

    #[test]
    fn the_sequence_number_runs_from_1_to_15_and_round_again() {
        let mut seq = Sequence::default();
        let numbers: Vec<u8> = (0..17).map(|_| packets(&[RED], &mut seq)[0][1]).collect();
        assert_eq!(numbers[..15], (1..=15).collect::<Vec<u8>>()[..]);
        assert_eq!(numbers[15..], [1, 2], "never 0, which means unused");
    }

    #[test]
    fn an_empty_frame_is_one_push_without_data() {
        let packets = packets(&[], &mut Sequence::default());
        assert_eq!(packets, vec![vec![0x41, 1, 0x0B, 1, 0, 0, 0, 0, 0, 0]]);
    }

    #[test]
    fn a_frame_of_exactly_480_leds_fills_one_packet() {
        let packets = packets(&[TEAL; 480], &mut Sequence::default());
        assert_eq!(packets.len(), 1);
        assert_eq!(packets[0][0], 0x41);
        assert_eq!(&packets[0][8..10], &1440u16.to_be_bytes());
    }
}
