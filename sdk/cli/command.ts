// What a subcommand of the edgevae command is.
import type { Options, Parsed } from "./args";

export interface Command {
  readonly name: string;
  /** One line for `edgevae --help`. */
  readonly summary: string;
  readonly usage: string;
  /** The rest of `edgevae NAME --help`: what it does, then its options. */
  readonly help: string;
  readonly options: Options;
  /** Required positional arguments, by name (for the usage errors). */
  readonly positionals: readonly string[];
  run(p: Parsed): Promise<void>;
}
