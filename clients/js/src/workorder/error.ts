/**
 * Why an operation on a work order, or reading one, failed. The codes match the variants of
 * sync-core's `WorkOrderError`; the messages read the same. Nothing is written when an
 * operation fails.
 */
export type WorkOrderErrorCode =
  | "shape"
  | "newer_schema"
  | "role_not_allowed"
  | "not_assignee"
  | "wrong_status"
  | "missing_step"
  | "invalid"
  | "unknown_part_line"
  | "part_line_removed"
  | "unknown_photo";

export class WorkOrderError extends Error {
  constructor(
    readonly code: WorkOrderErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "WorkOrderError";
  }

  static shape(what: string): WorkOrderError {
    return new WorkOrderError("shape", `the document does not have the work-order shape: ${what}`);
  }
  static invalid(field: string, reason: string): WorkOrderError {
    return new WorkOrderError("invalid", `invalid ${field}: ${reason}`);
  }
  static roleNotAllowed(op: string, role: string): WorkOrderError {
    return new WorkOrderError("role_not_allowed", `a ${role} may not ${op}`);
  }
  static notAssignee(op: string, assignee: string | null): WorkOrderError {
    return new WorkOrderError(
      "not_assignee",
      `only the assigned technician may ${op} (assigned: ${assignee ?? "nobody"})`,
    );
  }
  static wrongStatus(op: string, status: string): WorkOrderError {
    return new WorkOrderError("wrong_status", `cannot ${op} a work order that is ${status}`);
  }
  static missingStep(op: string, need: string): WorkOrderError {
    return new WorkOrderError("missing_step", `${op} needs ${need} first`);
  }
}
