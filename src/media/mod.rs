//! Media: the SDP rewriting and the RTP relay that anchors every call's audio at the PBX.

pub mod relay;
pub mod sdp;
