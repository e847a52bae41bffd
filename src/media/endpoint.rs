//! The PBX's own side of a call's audio, as a pure state machine: what it sends every 20 ms
//! (`tick`) and what it makes of what the caller sends (`receive`), with what happened
//! (`poll`: a digit, a play done, a recording made). No sockets, no clock, no tokio: the driver
//! calls `tick` every 20 ms, which is also the only time this machine knows of.
//!
//! Sending:
//! - Every tick writes exactly one RTP packet: 12-byte header, 160 bytes (20 ms) of the
//!   negotiated law, cut from the pre-encoded `Audio` (no encoding per packet), or the law's
//!   silence code when nothing plays. Sequence numbers (+1) and timestamps (+160) run on
//!   across plays, silence and replaced plays.
//! - The sounds of one `play` follow each other without a gap, inside packets too; a looped
//!   play wraps the same way. A play done once ends on the tick that sends its last sample
//!   (padded with silence) and reports `PlayDone` then, once. A play replaced before its end
//!   reports nothing; an empty play is silence (and how playing stops).
//! - The marker bit is set on the very first packet and on the first packet of sound after a
//!   packet of silence (RFC 3551 §4.1: the start of a talkspurt), not when one play replaces
//!   another without a gap.
//!
//! Receiving (malformed packets are ignored; nothing here panics on input):
//! - The negotiated telephone-event payload type: RFC 4733 presses (`dtmf::Rfc4733`), one
//!   `Digit` per press however many packets carry it. Once one has been seen, in-band
//!   detection stops for good: the phone sends its presses as events, and hearing their
//!   tones too would report each press twice.
//! - The negotiated audio payload type: decoded, packet by packet on the stack, only when a
//!   recording or the in-band detector needs it.
//! - Any other payload type (comfort noise, a codec not negotiated) is ignored.
//! - RTP timestamps place the audio: a duplicate or a late packet (up to 1 s behind) is
//!   dropped, and a gap (up to 10 s) is recorded as silence so a recording's length is the
//!   true time. A bigger jump either way, or a new SSRC, is a new stream: nothing filled.
//!
//! Recording (`record`) keeps the decoded 8 kHz PCM until `stop_recording`, the maximum
//! length, or `silence` of continuous silence — a packet is silent when its mean absolute
//! amplitude is at most 128 (Asterisk's default `silencethreshold`); ticks with no audio
//! arriving at all (a phone that stops sending in silence) count as silence too. Trailing
//! silence is trimmed off whatever ended it; a recording shorter than `min`, or empty, is
//! reported with `kept: false` and no PCM. The PCM vector is the only allocation: reserved
//! for up to 10 s at the start, then grown in doublings capped at the maximum length.

use crate::media::dtmf::{InBand, Rfc4733, Via};
use crate::media::g711::{self, Law};
use crate::media::prompt::Audio;
use crate::media::rtp::{self, Header};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// Samples per second.
const RATE: usize = 8000;
/// Samples (and G.711 bytes) per packet sent: 20 ms.
pub const SAMPLES_PER_PACKET: usize = 160;
/// The biggest timestamp gap filled with silence: 10 s.
const MAX_GAP: u32 = 10 * RATE as u32;
/// How far behind a packet may be and still count as late (dropped) rather than a new stream.
const MAX_LATE: u32 = RATE as u32;
/// A packet whose mean absolute amplitude is at most this is silence.
const SILENCE_LEVEL: u64 = 128;
/// What a recording reserves at its start: 10 s.
const INITIAL_RESERVE: usize = 10 * RATE;

/// What SDP negotiated for the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Codec {
    pub law: Law,
    /// The audio payload type (0 or 8 when static, but whatever the offer said).
    pub payload_type: u8,
    /// The telephone-event payload type, if telephone-event was negotiated.
    pub event_type: Option<u8>,
}

/// When a recording ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// It stops at this length.
    pub max: Duration,
    /// Shorter (after trimming) is not kept.
    pub min: Duration,
    /// It stops after this much continuous silence; zero: never on silence.
    pub silence: Duration,
}

/// What happened, for the driver to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happened {
    /// The caller pressed a digit.
    Digit(char, Via),
    /// A play (not looped) finished with this tick.
    PlayDone,
    /// A recording ended: its PCM (8 kHz, trailing silence trimmed; empty when not kept), how
    /// long the trimmed recording is (kept or not), and whether it reached the minimum length.
    Recorded {
        pcm: Vec<i16>,
        duration: Duration,
        kept: bool,
    },
}

/// What is being sent.
#[derive(Debug)]
enum Player {
    Silent,
    Playing {
        sounds: Vec<Arc<Audio>>,
        /// The sound being sent and the next byte of it.
        index: usize,
        offset: usize,
        looped: bool,
    },
}

/// Where the caller's stream is, by its RTP timestamps.
#[derive(Clone, Copy, Debug)]
struct Stream {
    ssrc: u32,
    /// The timestamp the next packet should carry.
    next: u32,
}

/// Where a received packet goes.
enum Place {
    /// Right after the previous one, this many samples of the stream missing before it.
    After(u32),
    /// A duplicate or late packet.
    Late,
}

/// A recording in progress.
#[derive(Debug)]
struct Recording {
    pcm: Vec<i16>,
    /// The limits, in samples.
    max: usize,
    min: usize,
    silence: usize,
    /// The PCM length at the end of the last packet that was not silent.
    voiced_end: usize,
    /// Samples of silence since then.
    silent_run: usize,
    /// Ticks since the last audio packet arrived.
    idle_ticks: usize,
}

/// The PBX's end of one call's audio.
#[derive(Debug)]
pub struct Endpoint {
    codec: Codec,
    ssrc: u32,
    seq: u16,
    timestamp: u32,
    /// No packet sent yet.
    first: bool,
    /// The previous packet carried sound.
    talking: bool,
    player: Player,
    stream: Option<Stream>,
    events: Rfc4733,
    /// `None` once telephone events have been seen.
    in_band: Option<InBand>,
    recording: Option<Recording>,
    /// The in-band detector's output, reused.
    tones: Vec<char>,
    happened: VecDeque<Happened>,
}

impl Endpoint {
    /// An endpoint sending from `ssrc`, its first packet numbered `seq` at `timestamp` (random
    /// values, from the driver).
    pub fn new(codec: Codec, ssrc: u32, seq: u16, timestamp: u32) -> Endpoint {
        Endpoint {
            codec,
            ssrc,
            seq,
            timestamp,
            first: true,
            talking: false,
            player: Player::Silent,
            stream: None,
            events: Rfc4733::new(),
            in_band: Some(InBand::new()),
            recording: None,
            tones: Vec::new(),
            happened: VecDeque::new(),
        }
    }

    /// Plays `sounds` one after the other from the next tick, replacing what plays (which
    /// reports nothing). `looped`: forever; else `PlayDone` on the tick that sends the last
    /// sample. Empty, or looped sounds that are all empty: silence.
    pub fn play(&mut self, sounds: Vec<Arc<Audio>>, looped: bool) {
        let audible = sounds.iter().any(|s| s.samples() > 0);
        self.player = if sounds.is_empty() || (looped && !audible) {
            Player::Silent
        } else {
            Player::Playing {
                sounds,
                index: 0,
                offset: 0,
                looped,
            }
        };
    }

    /// Starts recording what the caller sends, replacing (and dropping) a recording in
    /// progress; `Recorded` happens when it ends.
    pub fn record(&mut self, limits: Limits) {
        let samples = |d: Duration| {
            usize::try_from(d.as_micros() * RATE as u128 / 1_000_000).unwrap_or(usize::MAX)
        };
        let max = samples(limits.max);
        self.recording = Some(Recording {
            pcm: Vec::with_capacity(max.min(INITIAL_RESERVE)),
            max,
            min: samples(limits.min),
            silence: samples(limits.silence),
            voiced_end: 0,
            silent_run: 0,
            idle_ticks: 0,
        });
        // A gap from before the recording is not part of it.
        self.stream = None;
    }

    /// Ends the recording in progress, if any (`Recorded` happens).
    pub fn stop_recording(&mut self) {
        if let Some(r) = self.recording.take() {
            self.happened.push_back(r.finish());
        }
    }

    /// The next 20 ms: one RTP packet into `out` (cleared first).
    pub fn tick(&mut self, out: &mut Vec<u8>) {
        let mut payload = [self.codec.law.silence(); SAMPLES_PER_PACKET];
        let sound = self.fill(&mut payload);
        let header = Header {
            marker: self.first || (sound && !self.talking),
            payload_type: self.codec.payload_type,
            seq: self.seq,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        };
        out.clear();
        rtp::write(&header, &payload, out);
        self.first = false;
        self.talking = sound;
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(SAMPLES_PER_PACKET as u32);

        if let Some(r) = &mut self.recording {
            // The first tick after a packet is that packet's own 20 ms.
            r.idle_ticks += 1;
            let silent = (r.idle_ticks - 1) * SAMPLES_PER_PACKET;
            if r.silence > 0 && silent >= r.silence {
                self.stop_recording();
            }
        }
    }

    /// Copies the next bytes of what plays into `payload`; whether any were sound.
    fn fill(&mut self, payload: &mut [u8; SAMPLES_PER_PACKET]) -> bool {
        let Player::Playing {
            sounds,
            index,
            offset,
            looped,
        } = &mut self.player
        else {
            return false;
        };
        let law = self.codec.law;
        let mut at = 0;
        loop {
            while let Some(s) = sounds.get(*index) {
                if *offset < s.samples() {
                    break;
                }
                *index += 1;
                *offset = 0;
            }
            let Some(sound) = sounds.get(*index) else {
                if !*looped {
                    self.player = Player::Silent;
                    self.happened.push_back(Happened::PlayDone);
                    return at > 0;
                }
                if at == SAMPLES_PER_PACKET {
                    return true;
                }
                *index = 0;
                continue;
            };
            if at == SAMPLES_PER_PACKET {
                return true;
            }
            let rest = sound.bytes(law).get(*offset..).unwrap_or_default();
            let n = rest.len().min(SAMPLES_PER_PACKET - at);
            payload[at..at + n].copy_from_slice(&rest[..n]);
            at += n;
            *offset += n;
        }
    }

    /// The caller's RTP packet.
    pub fn receive(&mut self, packet: &[u8]) {
        let Some((header, payload)) = rtp::parse(packet) else {
            return;
        };
        if Some(header.payload_type) == self.codec.event_type {
            if let Some(digit) = self.events.feed(header.timestamp, payload) {
                self.in_band = None;
                self.happened
                    .push_back(Happened::Digit(digit, Via::Rfc4733));
            }
            return;
        }
        if header.payload_type != self.codec.payload_type
            || (self.recording.is_none() && self.in_band.is_none())
        {
            return;
        }
        let missing = match self.place(&header, payload.len()) {
            Place::Late => return,
            Place::After(missing) => missing,
        };
        if let Some(r) = &mut self.recording {
            r.idle_ticks = 0;
            if missing > 0 && r.silence_for(missing as usize) {
                self.stop_recording();
            }
        }
        let law = self.codec.law;
        let mut pcm = [0i16; SAMPLES_PER_PACKET];
        for chunk in payload.chunks(SAMPLES_PER_PACKET) {
            let pcm = &mut pcm[..chunk.len()];
            for (sample, &byte) in pcm.iter_mut().zip(chunk) {
                *sample = g711::decode(law, byte);
            }
            if let Some(detector) = &mut self.in_band {
                detector.feed(pcm, &mut self.tones);
            }
            if let Some(r) = &mut self.recording {
                if r.push(pcm) {
                    self.stop_recording();
                }
            }
        }
        for digit in self.tones.drain(..) {
            self.happened.push_back(Happened::Digit(digit, Via::InBand));
        }
    }

    /// Where a packet of `len` samples with this header goes in the caller's stream.
    fn place(&mut self, header: &Header, len: usize) -> Place {
        let next = header.timestamp.wrapping_add(len as u32);
        let place = match self.stream {
            Some(s) if s.ssrc == header.ssrc => {
                let ahead = header.timestamp.wrapping_sub(s.next);
                let behind = s.next.wrapping_sub(header.timestamp);
                if ahead <= MAX_GAP {
                    Place::After(ahead)
                } else if behind <= MAX_LATE {
                    return Place::Late;
                } else {
                    Place::After(0)
                }
            }
            _ => Place::After(0),
        };
        self.stream = Some(Stream {
            ssrc: header.ssrc,
            next,
        });
        place
    }

    /// What happened since the last call, oldest first.
    pub fn poll(&mut self) -> Option<Happened> {
        self.happened.pop_front()
    }

    /// The negotiated codec.
    pub fn codec(&self) -> Codec {
        self.codec
    }
}

impl Recording {
    /// Room left before the maximum length.
    fn room(&self) -> usize {
        self.max.saturating_sub(self.pcm.len())
    }

    /// Makes room for `n` more samples: doublings, capped at the maximum length.
    fn grow(&mut self, n: usize) {
        let need = self.pcm.len() + n;
        if need > self.pcm.capacity() {
            let target = need.max(self.pcm.capacity() * 2).min(self.max).max(need);
            self.pcm.reserve_exact(target - self.pcm.len());
        }
    }

    /// `n` samples lost in the network: silence, as much as the limits can still use. Whether
    /// the recording is over.
    fn silence_for(&mut self, n: usize) -> bool {
        let mut n = n.min(self.room());
        if self.silence > 0 {
            n = n.min(self.silence.saturating_sub(self.silent_run));
        }
        self.grow(n);
        self.pcm.resize(self.pcm.len() + n, 0);
        self.silent_run += n;
        self.is_over()
    }

    /// One packet's audio. Whether the recording is over.
    fn push(&mut self, pcm: &[i16]) -> bool {
        let pcm = &pcm[..pcm.len().min(self.room())];
        self.grow(pcm.len());
        self.pcm.extend_from_slice(pcm);
        let level: u64 = pcm.iter().map(|s| u64::from(s.unsigned_abs())).sum();
        if level > SILENCE_LEVEL * pcm.len() as u64 {
            self.voiced_end = self.pcm.len();
            self.silent_run = 0;
        } else {
            self.silent_run += pcm.len();
        }
        self.is_over()
    }

    fn is_over(&self) -> bool {
        self.pcm.len() >= self.max || (self.silence > 0 && self.silent_run >= self.silence)
    }

    /// The recording, trailing silence trimmed.
    fn finish(self) -> Happened {
        let mut pcm = self.pcm;
        pcm.truncate(self.voiced_end);
        let duration = Duration::from_micros(pcm.len() as u64 * 1_000_000 / RATE as u64);
        let kept = !pcm.is_empty() && pcm.len() >= self.min;
        if !kept {
            pcm = Vec::new();
        }
        Happened::Recorded {
            pcm,
            duration,
            kept,
        }
    }
}

#[cfg(test)]
mod tests;
