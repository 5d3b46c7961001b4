//! field-cli: a technician's or dispatcher's device on the command line (issue 5; not built yet).
