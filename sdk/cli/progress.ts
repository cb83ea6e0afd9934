/// <reference types="node" />
// A progress bar on stderr: drawn only when stderr is a terminal (or with --progress), and
// only once a run has taken longer than half a second, so short runs and pipes stay clean.

const WIDTH = 24;

export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private drawn = false;

  constructor(private readonly total: number, private readonly unit: string, private readonly forced: boolean) {}

  private get enabled(): boolean {
    return this.forced || process.stderr.isTTY === true;
  }

  /** `done` of `total` units finished; `note` is appended (e.g. the running mean). */
  update(done: number, note = ""): void {
    const now = Date.now();
    if (!this.enabled || (!this.forced && now - this.start < 500) || (now - this.last < 100 && done < this.total)) return;
    this.last = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(frac * WIDTH);
    const elapsed = (now - this.start) / 1000, eta = done > 0 ? (elapsed / done) * (this.total - done) : NaN;
    const line = `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${done.toLocaleString("en")}/${this.total.toLocaleString("en")} ${this.unit}  ${clock(elapsed)} elapsed, ETA ${clock(eta)}${note ? "  " + note : ""}`;
    if (process.stderr.isTTY === true) {
      process.stderr.write(`\r${line}\x1b[K`); // redrawn in place
      this.drawn = true;
    } else {
      process.stderr.write(line + "\n"); // forced onto a pipe or file: one line per update, no escapes
    }
  }

  /** Clears the bar from the terminal. */
  finish(): void {
    if (!this.drawn) return;
    process.stderr.write("\r\x1b[K");
    this.drawn = false;
  }
}

export function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return (h > 0 ? `${h}:${String(m).padStart(2, "0")}` : `${m}`) + `:${String(sec).padStart(2, "0")}`;
}
