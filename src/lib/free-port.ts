// Free loopback TCP ports for child processes (etcd, coffer up) to listen on. Each is picked at random below Linux's
// ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default): the kernel hands out ports in that range for
// every bind(0) and outgoing connection, so a port found there with bind(0) can be taken by an unrelated connection
// before the child binds it. Below the range, only another caller picking the same random port can take it.
import { createServer, type Server } from 'node:net';

const LOWEST = 20_000;
const HIGHEST = 32_767;

function listen(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

/** `count` distinct ports that were free on `host`; all are held together while searching, so none repeats. */
export async function freeLoopbackPorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const held: Server[] = [];
  const ports = new Set<number>();
  try {
    for (let attempt = 0; ports.size < count; attempt++) {
      if (attempt > 1_000) throw new Error(`no free port between ${LOWEST} and ${HIGHEST} on ${host}`);
      const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
      if (ports.has(port)) continue;
      const server = await listen(port, host);
      if (!server) continue;
      held.push(server);
      ports.add(port);
    }
    return [...ports];
  } finally {
    await Promise.all(held.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return (await freeLoopbackPorts(1, host))[0]!;
}
