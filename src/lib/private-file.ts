// Files only their owner may read (keys, tokens, kubeconfigs, checkpoints), written atomically: the data goes to a
// temporary file created 0600, is fsynced, then renamed over the target, so a reader (or a crash) never sees half a
// file, and a target that existed with a looser mode is replaced by a 0600 one.
import { constants, open, rename, rm } from 'node:fs/promises';

export async function writePrivateFile(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (e) {
    await handle.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await handle.close();
  await rename(tmp, file);
}

/** A JSON document (two-space indented, newline-terminated) as a private file. */
export function writePrivateJson(file: string, value: unknown): Promise<void> {
  return writePrivateFile(file, `${JSON.stringify(value, null, 2)}\n`);
}
