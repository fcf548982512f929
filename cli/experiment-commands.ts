// Dispatch of the commands of the experiments branch: `sketchc synthesize`, `sketchc experiment`
// and `sketchc report` (one line in main.ts, so that the other commands' files stay apart).

export async function runExperimentCommand(
  command: "synthesize" | "experiment" | "report",
  args: readonly string[],
): Promise<number> {
  switch (command) {
    case "synthesize":
      return (await import("./synthesize-command.js")).runSynthesizeCommand(
        args,
      );
    case "experiment":
      return (
        await import("./experiments/experiment-command.js")
      ).runExperimentCli(args);
    case "report":
      return (await import("./experiments/experiment-command.js")).runReportCli(
        args,
      );
  }
}
