use super::view::Status;

/// Why an operation on a work order, or reading one, failed. Nothing is written when an
/// operation fails: the whole step is one Automerge transaction, rolled back on error.
#[derive(Debug, thiserror::Error)]
pub enum WorkOrderError {
    // The library errors are boxed: they are large and rare, and every operation returns this.
    #[error("automerge: {0}")]
    Automerge(Box<automerge::AutomergeError>),
    #[error("the document does not have the work-order shape: {0}")]
    Shape(Box<autosurgeon::HydrateError>),
    #[error("could not write the document: {0}")]
    Write(Box<autosurgeon::ReconcileError>),
    #[error("document layout {found} is newer than this software understands (up to {supported})")]
    NewerSchema { found: u64, supported: u64 },
    #[error("a {role} may not {op}")]
    RoleNotAllowed {
        op: &'static str,
        role: &'static str,
    },
    #[error("only the assigned technician may {op} (assigned: {})", assignee.as_deref().unwrap_or("nobody"))]
    NotAssignee {
        op: &'static str,
        assignee: Option<String>,
    },
    #[error("cannot {op} a work order that is {status}")]
    WrongStatus { op: &'static str, status: Status },
    #[error("{op} needs {need} first")]
    MissingStep {
        op: &'static str,
        need: &'static str,
    },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("no part line {0:?} on this work order")]
    UnknownPartLine(String),
    #[error("part line {0:?} was removed")]
    PartLineRemoved(String),
    #[error("no photo {0:?} on this work order")]
    UnknownPhoto(String),
    #[error("no open conflict {0:?} on this work order")]
    UnknownConflict(String),
    #[error("the signature covers heads this document does not hold")]
    UnknownSignedHeads,
}

impl WorkOrderError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        WorkOrderError::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<automerge::AutomergeError> for WorkOrderError {
    fn from(e: automerge::AutomergeError) -> Self {
        WorkOrderError::Automerge(Box::new(e))
    }
}

impl From<autosurgeon::HydrateError> for WorkOrderError {
    fn from(e: autosurgeon::HydrateError) -> Self {
        WorkOrderError::Shape(Box::new(e))
    }
}

impl From<autosurgeon::ReconcileError> for WorkOrderError {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        WorkOrderError::Write(Box::new(e))
    }
}
