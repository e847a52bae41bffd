//! Timelines on the fake clock the ticks are: a scripted peer sends packets, the endpoint
//! ticks, and what it sent and what happened are checked step by step.

use super::*;
use crate::media::tone;

const EVENT_TYPE: u8 = 96;
const LAWS: [Law; 2] = [Law::Mu, Law::A];

fn codec(law: Law) -> Codec {
    Codec {
        law,
        payload_type: law.payload_type(),
        event_type: Some(EVENT_TYPE),
    }
}

/// A sine of `hz` for `ms`, at about −10 dBm0.
fn sine(hz: f64, ms: usize) -> Vec<i16> {
    (0..ms * RATE / 1000)
        .map(|i| {
            let phase = std::f64::consts::TAU * hz * i as f64 / RATE as f64;
            (phase.sin() * 7000.0) as i16
        })
        .collect()
}

/// `n` samples of a sound whose bytes differ from silence and from each other's positions.
fn audio(n: usize) -> Arc<Audio> {
    let pcm: Vec<i16> = (0..n).map(|i| 1000 + (i % 97) as i16 * 100).collect();
    Arc::new(Audio::from_pcm(&pcm))
}

/// One packet the endpoint sent, checked for shape.
#[derive(Debug)]
struct Sent {
    marker: bool,
    seq: u16,
    timestamp: u32,
    payload: Vec<u8>,
}

fn tick(e: &mut Endpoint) -> Sent {
    let mut out = vec![0xAA; 7];
    e.tick(&mut out);
    assert_eq!(
        out.len(),
        12 + SAMPLES_PER_PACKET,
        "one packet, nothing else"
    );
    let (h, payload) = rtp::parse(&out).expect("a well-formed packet");
    assert_eq!(h.payload_type, e.codec.payload_type);
    assert_eq!(h.ssrc, e.ssrc);
    Sent {
        marker: h.marker,
        seq: h.seq,
        timestamp: h.timestamp,
        payload: payload.to_vec(),
    }
}

fn happened(e: &mut Endpoint) -> Vec<Happened> {
    std::iter::from_fn(|| e.poll()).collect()
}

fn digits(e: &mut Endpoint) -> Vec<(char, Via)> {
    happened(e)
        .into_iter()
        .filter_map(|h| match h {
            Happened::Digit(d, via) => Some((d, via)),
            _ => None,
        })
        .collect()
}

/// The caller: sends its audio and presses as RTP.
struct Peer {
    law: Law,
    seq: u16,
    timestamp: u32,
    ssrc: u32,
}

impl Peer {
    fn new(law: Law) -> Peer {
        Peer {
            law,
            seq: 40_000,
            timestamp: u32::MAX - 8_000,
            ssrc: 0x1234_5678,
        }
    }

    /// The next audio packet carrying `pcm`.
    fn packet(&mut self, pcm: &[i16]) -> Vec<u8> {
        let mut payload = Vec::new();
        g711::encode_into(self.law, pcm, &mut payload);
        let header = Header {
            marker: false,
            payload_type: self.law.payload_type(),
            seq: self.seq,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        };
        let mut out = Vec::new();
        rtp::write(&header, &payload, &mut out);
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(pcm.len() as u32);
        out
    }

    /// `pcm` in 20 ms packets; how many were sent.
    fn send(&mut self, e: &mut Endpoint, pcm: &[i16]) -> usize {
        pcm.chunks(SAMPLES_PER_PACKET)
            .map(|chunk| e.receive(&self.packet(chunk)))
            .count()
    }

    /// Packets lost on the way: `ms` of audio never arrives.
    fn lose(&mut self, ms: usize) {
        let samples = ms * RATE / 1000;
        self.timestamp = self.timestamp.wrapping_add(samples as u32);
        self.seq = self.seq.wrapping_add((samples / SAMPLES_PER_PACKET) as u16);
    }

    /// One RFC 4733 press of `digit` on payload type `pt`, as a phone sends it: a start,
    /// updates every 20 ms, and the end packet three times; all at one timestamp.
    fn press(&mut self, e: &mut Endpoint, pt: u8, digit: char) {
        let code = rtp::digit_event(digit).expect("a DTMF digit");
        let timestamp = self.timestamp;
        for (i, end) in [false, false, false, false, true, true, true]
            .into_iter()
            .enumerate()
        {
            let duration = 160 * (i.min(4) as u16 + 1);
            let mut payload = vec![code, u8::from(end) << 7 | 10];
            payload.extend_from_slice(&duration.to_be_bytes());
            let header = Header {
                marker: i == 0,
                payload_type: pt,
                seq: self.seq,
                timestamp,
                ssrc: self.ssrc,
            };
            let mut out = Vec::new();
            rtp::write(&header, &payload, &mut out);
            e.receive(&out);
            self.seq = self.seq.wrapping_add(1);
        }
        self.timestamp = self.timestamp.wrapping_add(800);
    }
}

#[test]
fn a_play_once_sends_its_packets_then_silence_and_is_done_once() {
    for law in LAWS {
        for n in [1, 159, 160, 161, 500, 1600] {
            let mut e = Endpoint::new(codec(law), 7, 100, 1000);
            let sound = audio(n);
            e.play(vec![sound.clone()], false);
            let packets = n.div_ceil(SAMPLES_PER_PACKET);
            for i in 0..packets + 3 {
                let sent = tick(&mut e);
                let mut want = [law.silence(); SAMPLES_PER_PACKET].to_vec();
                let bytes = sound.bytes(law);
                let from = (i * SAMPLES_PER_PACKET).min(n);
                let to = ((i + 1) * SAMPLES_PER_PACKET).min(n);
                want[..to - from].copy_from_slice(&bytes[from..to]);
                assert_eq!(sent.payload, want, "{law:?} n={n} packet {i}");
                let done = if i + 1 == packets {
                    vec![Happened::PlayDone]
                } else {
                    vec![]
                };
                assert_eq!(happened(&mut e), done, "{law:?} n={n} after packet {i}");
            }
        }
    }
}

#[test]
fn sounds_follow_each_other_and_a_loop_wraps_without_a_gap() {
    for law in LAWS {
        let (a, b) = (audio(250), audio(70));
        let cycle: Vec<u8> = [a.bytes(law), b.bytes(law)].concat();
        // Once: the two back to back, then silence, one PlayDone.
        let mut e = Endpoint::new(codec(law), 1, 0, 0);
        e.play(vec![a.clone(), audio(0), b.clone()], false);
        let sent: Vec<u8> = (0..3).flat_map(|_| tick(&mut e).payload).collect();
        assert_eq!(&sent[..320], cycle.as_slice(), "{law:?}");
        assert!(sent[320..].iter().all(|&x| x == law.silence()));
        assert_eq!(happened(&mut e), [Happened::PlayDone]);
        // Looped: the cycle again and again, markers only on the first packet.
        e.play(vec![a, b], true);
        let mut sent = Vec::new();
        for i in 0..20 {
            let packet = tick(&mut e);
            assert_eq!(packet.marker, i == 0, "{law:?} packet {i}");
            sent.extend(packet.payload);
        }
        let want: Vec<u8> = cycle.iter().copied().cycle().take(sent.len()).collect();
        assert_eq!(sent, want, "{law:?}");
        assert_eq!(happened(&mut e), []);
    }
}

#[test]
fn empty_plays_are_silence() {
    let mut e = Endpoint::new(codec(Law::A), 1, 0, 0);
    e.play(vec![audio(0)], true);
    e.play(vec![], false);
    for _ in 0..3 {
        assert!(tick(&mut e).payload.iter().all(|&x| x == Law::A.silence()));
    }
    assert_eq!(happened(&mut e), []);
    // Nothing audible, once: done on the next tick.
    e.play(vec![audio(0)], false);
    tick(&mut e);
    assert_eq!(happened(&mut e), [Happened::PlayDone]);
}

/// One step of a sending timeline.
enum Step {
    /// `play(audio(n) for each n, looped)`.
    Play(&'static [usize], bool),
    /// A tick: the marker bit, whether it carried sound, whether `PlayDone` followed.
    Tick {
        marker: bool,
        sound: bool,
        done: bool,
    },
}

#[test]
fn sequence_timestamp_and_marker_across_plays_silence_and_switches() {
    use Step::*;
    let timeline = [
        Tick {
            marker: true,
            sound: false,
            done: false,
        }, // the very first packet
        Tick {
            marker: false,
            sound: false,
            done: false,
        },
        Play(&[320], false),
        Tick {
            marker: true,
            sound: true,
            done: false,
        }, // a talkspurt begins
        Tick {
            marker: false,
            sound: true,
            done: true,
        },
        Tick {
            marker: false,
            sound: false,
            done: false,
        },
        Play(&[480], false),
        Tick {
            marker: true,
            sound: true,
            done: false,
        },
        Play(&[100, 100], false), // replaced: no gap, no new talkspurt, no PlayDone
        Tick {
            marker: false,
            sound: true,
            done: false,
        },
        Tick {
            marker: false,
            sound: true,
            done: true,
        },
        Play(&[400], true), // right after a packet that ended in sound: the same talkspurt
        Tick {
            marker: false,
            sound: true,
            done: false,
        },
        Play(&[], false), // stopped
        Tick {
            marker: false,
            sound: false,
            done: false,
        },
        Play(&[10], false),
        Tick {
            marker: true,
            sound: true,
            done: true,
        },
        Tick {
            marker: false,
            sound: false,
            done: false,
        },
        Play(&[1000], true),
        Tick {
            marker: true,
            sound: true,
            done: false,
        },
    ];
    for law in LAWS {
        let mut e = Endpoint::new(codec(law), 9, 65_534, u32::MAX - 200);
        let mut last: Option<Sent> = None;
        for (i, step) in timeline.iter().enumerate() {
            match *step {
                Play(lengths, looped) => {
                    e.play(lengths.iter().map(|&n| audio(n)).collect(), looped)
                }
                Tick {
                    marker,
                    sound,
                    done,
                } => {
                    let sent = tick(&mut e);
                    let silent = sent.payload.iter().all(|&x| x == law.silence());
                    assert_eq!(sent.marker, marker, "{law:?} step {i}");
                    assert_eq!(!silent, sound, "{law:?} step {i}");
                    let want = if done {
                        vec![Happened::PlayDone]
                    } else {
                        vec![]
                    };
                    assert_eq!(happened(&mut e), want, "{law:?} step {i}");
                    match &last {
                        None => {
                            assert_eq!((sent.seq, sent.timestamp), (65_534, u32::MAX - 200))
                        }
                        Some(prev) => {
                            assert_eq!(sent.seq, prev.seq.wrapping_add(1), "step {i}");
                            assert_eq!(sent.timestamp, prev.timestamp.wrapping_add(160));
                        }
                    }
                    last = Some(sent);
                }
            }
        }
    }
}

#[test]
fn rfc4733_presses_are_one_digit_each() {
    for law in LAWS {
        let mut e = Endpoint::new(codec(law), 1, 0, 0);
        let mut peer = Peer::new(law);
        peer.send(&mut e, &sine(440.0, 40));
        peer.press(&mut e, EVENT_TYPE, '5');
        peer.send(&mut e, &sine(440.0, 40));
        peer.press(&mut e, EVENT_TYPE, '5');
        peer.press(&mut e, EVENT_TYPE, '#');
        // Telephone events on a payload type that was not negotiated are not presses.
        peer.press(&mut e, 101, '7');
        assert_eq!(
            digits(&mut e),
            [
                ('5', Via::Rfc4733),
                ('5', Via::Rfc4733),
                ('#', Via::Rfc4733)
            ],
            "{law:?}"
        );
    }
    // Without telephone-event negotiated, no payload type is taken for events.
    let mut e = Endpoint::new(
        Codec {
            event_type: None,
            ..codec(Law::Mu)
        },
        1,
        0,
        0,
    );
    Peer::new(Law::Mu).press(&mut e, 101, '1');
    assert_eq!(happened(&mut e), []);
}

#[test]
fn in_band_tones_are_digits_until_events_are_seen() {
    for law in LAWS {
        let mut e = Endpoint::new(codec(law), 1, 0, 0);
        let mut peer = Peer::new(law);
        let keys: Vec<i16> = "19#D0*"
            .chars()
            .flat_map(|d| tone::dtmf(d, 80, 80))
            .collect();
        peer.send(&mut e, &keys);
        let want: Vec<(char, Via)> = "19#D0*".chars().map(|d| (d, Via::InBand)).collect();
        assert_eq!(digits(&mut e), want, "{law:?}");
        // The phone sends a press as an event (and its tone leaks into the audio): once.
        peer.press(&mut e, EVENT_TYPE, '4');
        peer.send(&mut e, &tone::dtmf('4', 100, 100));
        peer.send(&mut e, &tone::dtmf('6', 100, 100));
        assert_eq!(digits(&mut e), [('4', Via::Rfc4733)], "{law:?}");
    }
}

fn limits(max_ms: u64, min_ms: u64, silence_ms: u64) -> Limits {
    Limits {
        max: Duration::from_millis(max_ms),
        min: Duration::from_millis(min_ms),
        silence: Duration::from_millis(silence_ms),
    }
}

/// The one `Recorded` among what happened, as (samples, duration in ms, kept).
fn recorded(e: &mut Endpoint) -> Option<(usize, u128, bool)> {
    let mut found = None;
    for h in happened(e) {
        if let Happened::Recorded {
            pcm,
            duration,
            kept,
        } = h
        {
            assert!(found.is_none(), "one recording, one Recorded");
            assert!(kept || pcm.is_empty(), "a recording not kept has no audio");
            found = Some((pcm.len(), duration.as_millis(), kept));
        }
    }
    found
}

#[test]
fn a_recording_ends_on_silence_trimmed() {
    for law in LAWS {
        let mut e = Endpoint::new(codec(law), 1, 0, 0);
        let mut peer = Peer::new(law);
        e.record(limits(60_000, 1_000, 1_000));
        peer.send(&mut e, &sine(1000.0, 3_000));
        assert_eq!(recorded(&mut e), None);
        let quiet = vec![0i16; SAMPLES_PER_PACKET];
        // 49 packets of silence are less than a second; the 50th ends it.
        for _ in 0..49 {
            peer.send(&mut e, &quiet);
        }
        assert_eq!(recorded(&mut e), None, "{law:?}");
        peer.send(&mut e, &quiet);
        assert_eq!(recorded(&mut e), Some((24_000, 3_000, true)), "{law:?}");
        // The recording is over: more audio is not recorded.
        peer.send(&mut e, &sine(1000.0, 3_000));
        e.stop_recording();
        assert_eq!(recorded(&mut e), None);
    }
}

#[test]
fn a_recording_shorter_than_the_minimum_is_not_kept() {
    let mut e = Endpoint::new(codec(Law::A), 1, 0, 0);
    let mut peer = Peer::new(Law::A);
    e.record(limits(60_000, 2_000, 1_000));
    peer.send(&mut e, &sine(1000.0, 1_500));
    peer.send(&mut e, &vec![0; 8_000]);
    assert_eq!(recorded(&mut e), Some((0, 1_500, false)));
    // Nothing said at all.
    e.record(limits(60_000, 0, 1_000));
    peer.send(&mut e, &vec![0; 8_000]);
    assert_eq!(recorded(&mut e), Some((0, 0, false)));
}

#[test]
fn a_recording_stops_at_its_maximum_or_when_told() {
    let mut e = Endpoint::new(codec(Law::Mu), 1, 0, 0);
    let mut peer = Peer::new(Law::Mu);
    e.record(limits(2_000, 1_000, 1_000));
    let voice = sine(1000.0, 3_000);
    peer.send(&mut e, &voice[..15_840]);
    assert_eq!(recorded(&mut e), None, "99 packets are less than 2 s");
    peer.send(&mut e, &voice[15_840..16_000]);
    assert_eq!(recorded(&mut e), Some((16_000, 2_000, true)));
    // Told to stop: what there is, now.
    e.record(limits(60_000, 1_000, 5_000));
    peer.send(&mut e, &voice[..12_000]);
    e.stop_recording();
    assert_eq!(recorded(&mut e), Some((12_000, 1_500, true)));
    e.stop_recording();
    assert_eq!(recorded(&mut e), None, "no recording, nothing to stop");
}

#[test]
fn lost_packets_are_silence_and_duplicates_count_once() {
    let mut e = Endpoint::new(codec(Law::A), 1, 0, 0);
    let mut peer = Peer::new(Law::A);
    e.record(limits(60_000, 1_000, 2_000));
    peer.send(&mut e, &sine(1000.0, 1_000));
    // A duplicate and a late packet (from 100 ms back) are dropped.
    let again = Peer {
        seq: peer.seq.wrapping_sub(1),
        timestamp: peer.timestamp.wrapping_sub(160),
        ..Peer::new(Law::A)
    }
    .packet(&sine(1000.0, 20));
    e.receive(&again);
    let late = Peer {
        timestamp: peer.timestamp.wrapping_sub(800),
        ..Peer::new(Law::A)
    }
    .packet(&sine(1000.0, 20));
    e.receive(&late);
    peer.lose(200);
    peer.send(&mut e, &sine(1000.0, 1_000));
    e.stop_recording();
    assert_eq!(recorded(&mut e), Some((17_600, 2_200, true)));
    // A gap longer than the silence limit ends the recording where the audio stopped.
    e.record(limits(60_000, 500, 1_000));
    peer.send(&mut e, &sine(1000.0, 1_000));
    peer.lose(5_000);
    peer.send(&mut e, &sine(1000.0, 20));
    assert_eq!(recorded(&mut e), Some((8_000, 1_000, true)));
    // A new stream (another SSRC, its own timestamps) is not a gap.
    e.record(limits(60_000, 500, 1_000));
    peer.send(&mut e, &sine(1000.0, 1_000));
    let mut other = Peer {
        ssrc: 99,
        timestamp: 5,
        ..Peer::new(Law::A)
    };
    other.send(&mut e, &sine(1000.0, 1_000));
    e.stop_recording();
    assert_eq!(recorded(&mut e), Some((16_000, 2_000, true)));
}

#[test]
fn a_phone_that_stops_sending_is_silent() {
    let mut e = Endpoint::new(codec(Law::Mu), 1, 0, 0);
    let mut peer = Peer::new(Law::Mu);
    e.record(limits(60_000, 500, 1_000));
    for chunk in sine(1000.0, 1_000).chunks(SAMPLES_PER_PACKET) {
        e.receive(&peer.packet(chunk));
        tick(&mut e);
    }
    for _ in 0..49 {
        tick(&mut e);
    }
    assert_eq!(recorded(&mut e), None);
    tick(&mut e);
    assert_eq!(recorded(&mut e), Some((8_000, 1_000, true)));
}

#[test]
fn garbage_is_ignored() {
    let mut e = Endpoint::new(codec(Law::Mu), 1, 0, 0);
    e.record(limits(60_000, 0, 0));
    let mut peer = Peer::new(Law::Mu);
    let good = peer.packet(&sine(1000.0, 20));
    let mut cases: Vec<Vec<u8>> = vec![
        vec![],
        good[..11].to_vec(),
        [&[0x40][..], &good[1..]].concat(),   // version 1
        [&[0x8F][..], &good[1..20]].concat(), // 15 CSRCs announced, not there
        [&[0x90][..], &good[1..12], &[0, 0, 0xFF, 0xFF]].concat(), // extension past the end
        [&[0xA0][..], &good[1..], &[0]].concat(), // padding count 0
        [&[0xA0][..], &good[1..], &[250]].concat(), // more padding than packet
        [&good[..1], &[EVENT_TYPE], &good[2..12], &[5, 0x80]].concat(), // short event
        [&good[..1], &[13], &good[2..]].concat(), // comfort noise
    ];
    // Seeded noise: random bytes, and the good packet with random bytes changed.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2_000 {
        let len = (next() % 200) as usize;
        cases.push((0..len).map(|_| next() as u8).collect());
        let mut mutated = good.clone();
        let at = (next() as usize) % mutated.len();
        mutated[at] = next() as u8;
        mutated.truncate((next() as usize) % (mutated.len() + 1));
        cases.push(mutated);
    }
    for case in &cases {
        e.receive(case);
    }
    // Only well-formed audio of the negotiated type may have been recorded.
    for h in happened(&mut e) {
        assert!(!matches!(h, Happened::Digit(_, Via::InBand)), "{h:?}");
    }
    e.stop_recording();
    let Some((samples, _, _)) = recorded(&mut e) else {
        panic!("the recording ends when told");
    };
    assert!(samples <= 2_000 * SAMPLES_PER_PACKET);
}

#[test]
fn an_endpoint_is_small() {
    let size = std::mem::size_of::<Endpoint>();
    assert!(size <= 512, "an Endpoint is {size} bytes");
    let mut e = Endpoint::new(codec(Law::Mu), 1, 0, 0);
    let mut out = Vec::new();
    e.tick(&mut out);
    assert_eq!(e.tones.capacity(), 0, "idle, nothing on the heap");
    assert_eq!(e.happened.capacity(), 0);
}
