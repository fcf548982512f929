// Fault injection for the reliability tests: named points in the code where a test, through the
// SKETCHC_FAILPOINTS environment variable, makes the process die by SIGKILL or a write fail as a
// full disk would. Unset (always, outside tests), every point is a no-op.
//
//   SKETCHC_FAILPOINTS="kill@checkpoint-write:3"   SIGKILL itself at the 3rd checkpoint write
//   SKETCHC_FAILPOINTS="enospc@metrics.json:1"     the 1st write of a file named metrics.json fails
//   SKETCHC_FAILPOINTS="eacces@run:1"              making or writing 'run' is denied (as root too)
//   SKETCHC_FAILPOINTS="nan@loss-4:1+"             the loss of step 4 is NaN, at every hit from the 1st

/** What a failpoint does when it fires. */
export type FailAction = "kill" | "enospc" | "eacces" | "nan";

interface Rule {
  readonly action: FailAction;
  readonly point: string;
  /** Fires at this hit of the point (1-based), and at every later one for `every`. */
  readonly at: number;
  readonly every: boolean;
}

function parseRules(text: string | undefined): Rule[] {
  if (!text) return [];
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const m = /^(kill|enospc|eacces|nan)@(.+?)(?::(\d+)(\+)?)?$/.exec(s);
      if (!m) throw new Error(`SKETCHC_FAILPOINTS: cannot read '${s}'`);
      return {
        action: m[1] as FailAction,
        point: m[2],
        at: m[3] ? Number(m[3]) : 1,
        every: m[4] === "+",
      };
    });
}

let source: string | undefined;
let rules: Rule[] = [];
const hits = new Map<string, number>();

/** True when the rule for (action, point) fires at this hit; counts the hit. */
export function failpoint(action: FailAction, point: string): boolean {
  const text = process.env.SKETCHC_FAILPOINTS;
  if (!text && rules.length === 0) return false;
  if (text !== source) {
    // A test changed the variable: new rules, hits counted afresh.
    source = text;
    rules = parseRules(text);
    hits.clear();
  }
  if (rules.length === 0) return false;
  const key = `${action}@${point}`;
  const n = (hits.get(key) ?? 0) + 1;
  hits.set(key, n);
  return rules.some(
    (r) =>
      r.action === action &&
      r.point === point &&
      (r.every ? n >= r.at : n === r.at),
  );
}

/** Dies at once, as `kill -9` would, when the kill rule for `point` fires. */
export function killpoint(point: string): void {
  if (failpoint("kill", point)) process.kill(process.pid, "SIGKILL");
}
