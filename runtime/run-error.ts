// The error of a run that cannot go on for a reason the user can fix: a flag that does not fit the
// sketch or the data, a task file that does not fit the sketch. The CLI prints it as one line.

/** A run that cannot go on for a reason the user can fix (printed without a stack trace). */
export class RunError extends Error {}
