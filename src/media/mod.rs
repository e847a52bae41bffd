//! Media: the seam between call control and media (`anchor`), the driver that anchors every
//! call's audio at the PBX and serves the callers the PBX answers itself (`relay`, reading in
//! `batch`es), and the pure pieces it is made of — the PBX's end of a call (`endpoint`), the
//! sounds it plays (`sound`, `prompt`, `tone`), codecs and packets (`g711`, `rtp`, `wav`),
//! keys (`dtmf`), SDP offer/answer (`sdp`) and SRTP for the parties that offer it (`srtp`,
//! keyed by SDES: `sdes`).

pub mod anchor;
pub mod batch;
pub mod dtmf;
pub mod endpoint;
pub mod g711;
pub mod prompt;
pub mod relay;
pub mod resample;
pub mod rtp;
pub mod sdes;
pub mod sdp;
pub mod sound;
pub mod srtp;
pub mod tone;
pub mod wav;
