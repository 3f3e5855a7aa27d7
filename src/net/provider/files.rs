//! The video the simulator serves for a completed job: a real, small, valid MP4 (1 s of
//! H.264 test pattern, 160×90, generated once with ffmpeg and shipped under `assets/video/`).

/// The MP4's bytes.
pub const SAMPLE_MP4: &[u8] = include_bytes!("../../../assets/video/sample.mp4");

/// Its `Content-Type`.
pub const CONTENT_TYPE: &str = "video/mp4";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_starts_with_an_mp4_file_type_box() {
        assert_eq!(&SAMPLE_MP4[4..8], b"ftyp");
        let size = u32::from_be_bytes(SAMPLE_MP4[..4].try_into().unwrap()) as usize;
        assert!(size >= 16 && size < SAMPLE_MP4.len());
        // faststart: the movie box comes before the media data.
        let moov = SAMPLE_MP4.windows(4).position(|w| w == b"moov").unwrap();
        let mdat = SAMPLE_MP4.windows(4).position(|w| w == b"mdat").unwrap();
        assert!(moov < mdat);
    }
}
