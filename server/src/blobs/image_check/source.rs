//! Random access to an upload's bytes for the byte-level checks (the PNG header, the JPEG
//! marker walk and end-of-image search): a slice in memory, or a staged file read through one
//! page at a time, so that checking a 20 MiB upload holds 64 KiB of it, not 20 MiB.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Bytes by position. A position past the end, or one the file cannot be read at, is `None`:
/// to the checks, a read error looks like a file cut short, which they refuse.
pub trait ByteSource {
    fn byte(&mut self, pos: usize) -> Option<u8>;

    /// Big-endian u32 at `pos`.
    fn be_u32(&mut self, pos: usize) -> Option<u32> {
        let mut word = [0u8; 4];
        for (i, b) in word.iter_mut().enumerate() {
            *b = self.byte(pos + i)?;
        }
        Some(u32::from_be_bytes(word))
    }

    /// The first position at or after `from` holding `needle`.
    fn find(&mut self, from: usize, needle: u8) -> Option<usize> {
        let mut pos = from;
        loop {
            if self.byte(pos)? == needle {
                return Some(pos);
            }
            pos += 1;
        }
    }

    /// The first position at or after `from` where the two bytes `pair` start.
    fn find_pair(&mut self, from: usize, pair: [u8; 2]) -> Option<usize> {
        let mut pos = from;
        loop {
            pos = self.find(pos, pair[0])?;
            if self.byte(pos + 1)? == pair[1] {
                return Some(pos);
            }
            pos += 1;
        }
    }
}

impl ByteSource for &[u8] {
    fn byte(&mut self, pos: usize) -> Option<u8> {
        self.get(pos).copied()
    }

    fn find(&mut self, from: usize, needle: u8) -> Option<usize> {
        Some(from + self.get(from..)?.iter().position(|&b| b == needle)?)
    }

    fn find_pair(&mut self, from: usize, pair: [u8; 2]) -> Option<usize> {
        Some(from + self.get(from..)?.windows(2).position(|w| w == pair)?)
    }
}

/// Bytes of one page, the most of a staged file the checks hold at once.
const PAGE_BYTES: usize = 64 * 1024;

/// A file read one aligned page at a time.
pub struct PagedFile {
    file: File,
    len: u64,
    page: Vec<u8>,
    /// Where `page` starts in the file; `u64::MAX` before the first read or after a failed one.
    page_start: u64,
}

impl PagedFile {
    pub fn new(file: File, len: u64) -> Self {
        Self {
            file,
            len,
            page: Vec::with_capacity(PAGE_BYTES),
            page_start: u64::MAX,
        }
    }

    /// Up to the first `n` bytes (fewer when the file is shorter or cannot be read).
    pub fn prefix(&mut self, n: usize) -> Vec<u8> {
        (0..n).map_while(|pos| self.byte(pos)).collect()
    }

    fn load(&mut self, start: u64) -> Option<()> {
        self.page_start = u64::MAX;
        self.page.clear();
        let want = (self.len - start).min(PAGE_BYTES as u64);
        self.file.seek(SeekFrom::Start(start)).ok()?;
        (&mut self.file)
            .take(want)
            .read_to_end(&mut self.page)
            .ok()?;
        self.page_start = start;
        Some(())
    }
}

impl ByteSource for PagedFile {
    fn byte(&mut self, pos: usize) -> Option<u8> {
        let pos = u64::try_from(pos).ok()?;
        if pos >= self.len {
            return None;
        }
        let in_page = pos.wrapping_sub(self.page_start);
        if self.page_start == u64::MAX || in_page >= self.page.len() as u64 {
            self.load(pos - pos % PAGE_BYTES as u64)?;
        }
        self.page
            .get(usize::try_from(pos - self.page_start).ok()?)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn paged(bytes: &[u8]) -> (tempfile::NamedTempFile, PagedFile) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let file = f.reopen().unwrap();
        (f, PagedFile::new(file, bytes.len() as u64))
    }

    #[test]
    fn a_paged_file_reads_the_same_bytes_as_the_slice_across_page_boundaries() {
        let bytes: Vec<u8> = (0..3 * PAGE_BYTES + 17).map(|i| (i % 251) as u8).collect();
        let (_keep, mut file) = paged(&bytes);
        let mut slice = bytes.as_slice();
        for pos in [
            0,
            1,
            PAGE_BYTES - 1,
            PAGE_BYTES,
            2 * PAGE_BYTES + 3,
            bytes.len() - 1,
        ] {
            assert_eq!(file.byte(pos), slice.byte(pos), "at {pos}");
            assert_eq!(file.be_u32(pos), slice.be_u32(pos), "u32 at {pos}");
        }
        assert_eq!(file.byte(bytes.len()), None);
        assert_eq!(file.prefix(5), bytes[..5].to_vec());
    }

    #[test]
    fn searches_find_the_same_positions_in_a_file_and_a_slice() {
        let mut bytes = vec![0u8; 2 * PAGE_BYTES + 10];
        // A pair split across the page boundary, and a lone first byte before it.
        bytes[100] = 0xFF;
        bytes[PAGE_BYTES - 1] = 0xFF;
        bytes[PAGE_BYTES] = 0xD9;
        bytes[2 * PAGE_BYTES + 5] = 0x42;
        let (_keep, mut file) = paged(&bytes);
        let mut slice = bytes.as_slice();
        for (from, needle) in [
            (0, 0xFF),
            (101, 0xFF),
            (0, 0x42),
            (2 * PAGE_BYTES + 6, 0x42),
        ] {
            assert_eq!(file.find(from, needle), slice.find(from, needle));
        }
        assert_eq!(file.find_pair(0, [0xFF, 0xD9]), Some(PAGE_BYTES - 1));
        assert_eq!(slice.find_pair(0, [0xFF, 0xD9]), Some(PAGE_BYTES - 1));
        assert_eq!(file.find_pair(PAGE_BYTES, [0xFF, 0xD9]), None);
        assert_eq!(slice.find_pair(PAGE_BYTES, [0xFF, 0xD9]), None);
    }
}
