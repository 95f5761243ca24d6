// Free loopback TCP ports for child processes (etcd, coffer up) to listen on. Each is picked at random below Linux's
// ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default): the kernel hands out ports in that range for
// every bind(0) and outgoing connection, so a port found there with bind(0) can be taken by an unrelated connection
// before the child binds it. Below the range, only another picker choosing the same port can take it: a test suite
// runs several files at once, each starting servers, and a child takes up to a second or two to bind. So on Linux a
// port handed out is also reserved for HOLD_MS under an abstract unix socket name (no file; the kernel frees the
// name when the holder closes it or exits), and every picker on the machine skips the ports others reserved.
import { createServer, type Server } from 'node:net';

const LOWEST = 20_000;
const HIGHEST = 32_767;
/** How long a port handed out stays reserved: longer than a child needs to start and bind it. */
export const HOLD_MS = 30_000;

function listen(options: { port: number; host: string; exclusive: true } | { path: string }): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(options, () => resolve(server));
  });
}

const close = (s: Server) => new Promise<void>((r) => s.close(() => r()));

/** Linux's abstract socket namespace: a name no other picker can hold at the same time, and no file to clean up. */
const reservable = process.platform === 'linux';
const reservation = (host: string, port: number) => ({ path: `\0coffer-free-port/${host}/${port}` });

/** Holds a port's reservation for HOLD_MS without keeping the process alive. */
function holdReservation(server: Server): void {
  server.unref();
  setTimeout(() => server.close(), HOLD_MS).unref();
}

/** `count` distinct ports that were free on `host`; all are held together while searching, so none repeats. */
export async function freeLoopbackPorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const held: Server[] = [];
  const reserved: Server[] = [];
  const ports = new Set<number>();
  try {
    for (let attempt = 0; ports.size < count; attempt++) {
      if (attempt > 1_000) throw new Error(`no free port between ${LOWEST} and ${HIGHEST} on ${host}`);
      const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
      if (ports.has(port)) continue;
      const reservedBy = reservable ? await listen(reservation(host, port)) : undefined;
      if (reservable && !reservedBy) continue; // handed out by another picker a moment ago
      const server = await listen({ port, host, exclusive: true });
      if (!server) {
        if (reservedBy) await close(reservedBy);
        continue;
      }
      held.push(server);
      if (reservedBy) reserved.push(reservedBy);
      ports.add(port);
    }
    reserved.splice(0).forEach(holdReservation);
    return [...ports];
  } finally {
    await Promise.all([...held, ...reserved].map(close));
  }
}

export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return (await freeLoopbackPorts(1, host))[0]!;
}
