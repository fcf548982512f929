// A one-line progress bar on a terminal (epoch, step, loss, tasks solved, symbolic loss), or one
// plain line per epoch when the output is a file or a pipe.

export interface ProgressFields {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly solved?: string;
  readonly symbolicLoss?: number;
}

export interface Progress {
  update(fields: ProgressFields): void;
  /** Ends the current bar with a permanent line. */
  line(text: string): void;
  /** A warning: printed as `warning: TEXT`, even when quiet. */
  warn(text: string): void;
}

function bar(fraction: number, width = 20): string {
  const full = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"=".repeat(full)}${" ".repeat(width - full)}]`;
}

export function describe(f: ProgressFields): string {
  const parts = [
    `epoch ${f.epoch + 1}/${f.epochs}`,
    `${bar(f.step / f.steps)} ${f.step}/${f.steps}`,
    `loss ${f.loss.toFixed(4)}`,
  ];
  if (f.solved !== undefined) parts.push(`solved ${f.solved}`);
  if (f.symbolicLoss !== undefined)
    parts.push(`sym ${f.symbolicLoss.toExponential(2)}`);
  return parts.join("  ");
}

export function createProgress(
  stream: NodeJS.WriteStream | undefined = process.stderr,
  quiet = false,
): Progress {
  const tty = !quiet && stream?.isTTY === true;
  let last = 0;
  return {
    update(fields) {
      if (!tty) return;
      const now = Date.now();
      if (now - last < 100 && fields.step < fields.steps) return;
      last = now;
      stream!.write(`\r${describe(fields)}\x1b[K`);
    },
    line(text) {
      if (quiet || !stream) return;
      stream.write(`${tty ? "\r\x1b[K" : ""}${text}\n`);
    },
    warn(text) {
      if (!stream) return;
      stream.write(`${tty ? "\r\x1b[K" : ""}warning: ${text}\n`);
    },
  };
}
