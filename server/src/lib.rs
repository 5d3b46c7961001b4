//! fieldsync server: the actix-web service devices sync with (issue 3; not built yet).
//!
//! Today this crate only pins the workspace layout; the storage, auth, sync endpoint and blob
//! store arrive with the server issue.
