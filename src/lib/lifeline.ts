// The lifeline between a `coffer up` and each child it supervises: the child gets one end of a pipe on fd 3 and its
// number in COFFER_LIFELINE_FD; the parent holds the other end and never writes to it. When the parent exits, even by
// kill -9, the kernel closes its end, the child reads EOF and shuts down as on SIGTERM. No polling, no orphan.
import { Socket } from 'node:net';

export const LIFELINE_FD = 3;
export const LIFELINE_ENV = 'COFFER_LIFELINE_FD';

/** In a child: calls onParentGone once the lifeline named by the environment reads EOF; a no-op without one. */
export function watchLifeline(onParentGone: () => void): void {
  const fd = Number(process.env[LIFELINE_ENV]);
  delete process.env[LIFELINE_ENV]; // not for this process's own children
  if (!Number.isSafeInteger(fd) || fd < 3) return;
  let line: Socket;
  try {
    line = new Socket({ fd, readable: true, writable: false });
  } catch {
    return; // not an open pipe: started by hand with the variable set
  }
  line.on('data', () => undefined).on('error', onParentGone).on('end', onParentGone);
  line.unref(); // the lifeline alone must not keep this process alive
}
