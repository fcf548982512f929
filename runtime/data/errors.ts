// The one error type of the data layer: every failure to read or assemble a dataset
// (a missing file, a bad header, a truncated body, an out-of-range label) becomes a
// DataError whose message names the file and what is wrong, never a bare stack trace.

/** A dataset could not be read or assembled; `file` is the offending path, when there is one. */
export class DataError extends Error {
  override readonly name = "DataError";

  /**
   * @param message what is wrong, in words a user can act on
   * @param file the file (or folder) it is wrong with; prefixed to the message
   */
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(file === undefined ? message : `${file}: ${message}`);
  }
}
