// One keep-alive connection pool for every API client of the controller. client-node 1.x builds a new https.Agent for
// each request (KubeConfig.applySecurityAuthentication), so each request paid a TCP connect and a TLS handshake and
// the connection was dropped after one answer. Here the authentication step is wrapped: client-node still sets the
// headers (tokens, exec credentials are re-read as before), and its one-off agent is swapped for a pooled keep-alive
// agent with the same TLS identity, as client-go's transport cache does (k8s.io/client-go transport/cache.go).
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { createConfiguration, ServerConfiguration, type Configuration, type KubeConfig, type RequestContext, type SecurityAuthentication } from '@kubernetes/client-node';

/** The TLS options of an agent that decide which connections it may reuse. */
const IDENTITY: (keyof AgentOptions)[] = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'];
const MAX_SOCKETS = 32;

export class KubeConnectionPool {
  private readonly agents = new Map<string, HttpAgent>();

  constructor(private readonly kc: KubeConfig) {}

  /** As KubeConfig.makeApiClient, with requests sent over this pool's connections. */
  makeApiClient<T>(apiClass: new (config: Configuration) => T): T {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    const auth: SecurityAuthentication = {
      getName: () => 'pooled',
      applySecurityAuthentication: async (ctx: RequestContext) => {
        await this.kc.applySecurityAuthentication(ctx);
        const oneOff = ctx.getAgent();
        if (oneOff) ctx.setAgent(this.pooled(oneOff));
      },
    };
    return new apiClass(createConfiguration({ baseServer: new ServerConfiguration(cluster.server, {}), authMethods: { default: auth } }));
  }

  /** The pooled agent with the TLS identity of `oneOff` (proxy agents are left as they are). */
  private pooled(oneOff: HttpAgent): HttpAgent {
    // Exact classes: proxy agents (hpagent, socks) subclass these and must keep their own connection logic.
    const isHttps = oneOff.constructor === HttpsAgent;
    if (!isHttps && oneOff.constructor !== HttpAgent) return oneOff;
    const options = (oneOff as HttpAgent & { options: AgentOptions }).options;
    const h = createHash('sha256').update(isHttps ? 'https' : 'http');
    for (const k of IDENTITY) h.update(`\0${k}=${JSON.stringify(options[k] ?? null)}`);
    const key = h.digest('hex');
    let agent = this.agents.get(key);
    if (!agent) {
      const identity = Object.fromEntries(IDENTITY.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
      // Requests beyond MAX_SOCKETS wait for a free connection instead of opening more (bursts of fire-and-forget
      // Events); watches do not count, client-node gives each its own agent.
      agent = isHttps ? new HttpsAgent({ ...identity, keepAlive: true, maxSockets: MAX_SOCKETS }) : new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** Closes idle connections and forgets the agents (controller shutdown). */
  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}
