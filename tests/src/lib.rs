//! End-to-end tests against real `field-server` processes live here once the server exists.
