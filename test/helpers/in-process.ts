// A CLI command run in-process, as the unit tests of a chapter's commands
// run them: its stdout, stderr and exit code, with a RunError thrown taken
// as the CLI would take it (its code, its message on stderr).
import type { Command } from '../../runtime/core/layer.ts';
import type { FlagValue } from '../../runtime/core/flags.ts';
import { RunError } from '../../runtime/core/pipeline.ts';

export async function runInProcess(command: Command, chapter: number, root: string, args: string[], flags: Record<string, FlagValue> = {}) {
  let stdout = '';
  let stderr = '';
  const [ow, ew] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  let code: number;
  try {
    code = await command.run({ chapter, stateRoot: root, flags: new Map(Object.entries(flags)), args, layers: [] });
  } catch (e) {
    if (!(e instanceof RunError)) throw e;
    code = e.code;
    stderr += e.message + '\n';
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  return { stdout, stderr, code };
}
