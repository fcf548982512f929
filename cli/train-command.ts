// `sketchc train` and `sketchc eval`: filled in by the training runtime.
import { CliError } from "./main.js";

export async function runTrainCommand(
  command: string,
  args: readonly string[],
): Promise<number> {
  void args;
  throw new CliError(`'${command}' is not available yet`);
}
