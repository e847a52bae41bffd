//! Media: the seam between call control and media (`anchor`), the SDP rewriting (`sdp`), and
//! the RTP relay driver that anchors every call's audio at the PBX (`relay`).

pub mod anchor;
pub mod dtmf;
pub mod endpoint;
pub mod g711;
pub mod prompt;
pub mod relay;
pub mod rtp;
pub mod sdp;
pub mod sound;
pub mod tone;
pub mod wav;
