//! Validation of document ids as they appear on the wire.
//!
//! Ids are opaque to the protocol but travel in logs, URLs and SQL keys, so they are kept
//! boring: non-empty, at most [`super::Limits::max_doc_id_len`] bytes, printable ASCII
//! without spaces (`'!'..='~'`).

use thiserror::Error;

/// Why a document id was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DocIdError {
    /// The id is the empty string.
    #[error("document id is empty")]
    Empty,
    /// The id is longer than the limit.
    #[error("document id is {got} bytes long, more than the limit of {max}")]
    TooLong {
        /// The limit, in bytes.
        max: usize,
        /// The id's length, in bytes.
        got: usize,
    },
    /// The id contains a character outside printable ASCII, or a space.
    #[error("document id has {found:?} at byte {position}; only printable ascii without spaces is allowed")]
    BadCharacter {
        /// Byte offset of the offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
}

/// Checks that `id` is a valid document id no longer than `max_len` bytes.
pub fn validate_doc_id(id: &str, max_len: usize) -> Result<(), DocIdError> {
    if id.is_empty() {
        return Err(DocIdError::Empty);
    }
    if id.len() > max_len {
        return Err(DocIdError::TooLong {
            max: max_len,
            got: id.len(),
        });
    }
    match id.char_indices().find(|(_, c)| !c.is_ascii_graphic()) {
        Some((position, found)) => Err(DocIdError::BadCharacter { position, found }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_are_accepted() {
        assert_eq!(validate_doc_id("wo-2024-0001", 128), Ok(()));
        assert_eq!(validate_doc_id("a", 1), Ok(()));
        assert_eq!(validate_doc_id("!~:/#", 128), Ok(()));
    }

    #[test]
    fn empty_ids_are_refused() {
        assert_eq!(validate_doc_id("", 128), Err(DocIdError::Empty));
    }

    #[test]
    fn long_ids_are_refused_with_their_length() {
        assert_eq!(
            validate_doc_id("abcd", 3),
            Err(DocIdError::TooLong { max: 3, got: 4 })
        );
    }

    #[test]
    fn spaces_controls_and_non_ascii_are_refused_with_their_position() {
        assert_eq!(
            validate_doc_id("wo 1", 128),
            Err(DocIdError::BadCharacter {
                position: 2,
                found: ' '
            })
        );
        assert_eq!(
            validate_doc_id("wo\n", 128),
            Err(DocIdError::BadCharacter {
                position: 2,
                found: '\n'
            })
        );
        assert_eq!(
            validate_doc_id("ünit", 128),
            Err(DocIdError::BadCharacter {
                position: 0,
                found: 'ü'
            })
        );
    }

    #[test]
    fn messages_are_lower_case_and_carry_data() {
        let text = DocIdError::TooLong { max: 3, got: 4 }.to_string();
        assert_eq!(
            text,
            "document id is 4 bytes long, more than the limit of 3"
        );
    }
}
