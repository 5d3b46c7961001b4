//! `field-cli bench --steady` against the real server (the test lands with the steady mode).
