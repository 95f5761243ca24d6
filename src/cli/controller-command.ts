// `coffer controller --kubeconfig FILE`: the External Secrets controller against Coffer's API server or any cluster.
// Serves Prometheus metrics (ESO's names) when --metrics-addr is given; stops cleanly on SIGINT/SIGTERM.
import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { createServer } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { startExternalSecretsController } from '../controller/external-secrets-controller.js';
import { createCommandLogger, resolveLogFormat } from '../lib/log-format.js';

interface ControllerOptions {
  kubeconfig?: string;
  context?: string;
  metricsAddr?: string;
  workers: string;
  controllerClass: string;
  providerQps: string;
  providerBurst: string;
  logLevel: string;
  logFormat?: string;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}: want a number > 0, got ${JSON.stringify(text)}`);
  return n;
}

export function registerControllerCommand(program: Command): void {
  program
    .command('controller')
    .description('run the External Secrets controller (external-secrets.io ExternalSecret, SecretStore, ClusterSecretStore, ClusterExternalSecret)')
    .option('--kubeconfig <file>', 'kubeconfig of the cluster to manage (default: $KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--context <name>', 'kubeconfig context to use')
    .option('--metrics-addr <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics')
    .option('--workers <n>', 'ExternalSecrets reconciled in parallel', '4')
    .option('--controller-class <name>', 'only stores whose spec.controller is empty or this name are used', 'default')
    .option('--provider-qps <n>', 'provider calls per second allowed per store (client-side rate limit)', '20')
    .option('--provider-burst <n>', 'provider calls allowed in a burst per store', '50')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .option('--log-format <format>', 'json | text (default: text on a terminal, json otherwise)')
    .action(async (o: ControllerOptions) => {
      const logger = createCommandLogger({ component: 'coffer-controller', level: o.logLevel, format: resolveLogFormat(o.logFormat) });
      const kc = new KubeConfig();
      if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
      else kc.loadFromDefault();
      if (o.context) kc.setCurrentContext(o.context);
      const registry = new Registry();
      collectDefaultMetrics({ register: registry });
      const abort = new AbortController();
      let server: ReturnType<typeof createServer> | undefined;
      if (o.metricsAddr) {
        const m = /^(.*):(\d+)$/.exec(o.metricsAddr);
        if (!m) throw new Error(`--metrics-addr: want host:port, got ${JSON.stringify(o.metricsAddr)}`);
        server = createServer((req, res) => {
          if (req.url !== '/metrics') {
            res.writeHead(404).end();
            return;
          }
          registry.metrics().then(
            (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
            () => res.writeHead(500).end(),
          );
        });
        await new Promise<void>((resolve) => server!.listen(Number(m[2]), m[1] || '127.0.0.1', resolve));
        logger.info({ metrics: `http://${o.metricsAddr}/metrics` }, 'serving metrics');
      }
      const stop = (signal: string) => {
        if (abort.signal.aborted) process.exit(1);
        logger.info({ signal }, 'shutting down');
        abort.abort();
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      const running = await startExternalSecretsController({
        kubeConfig: kc,
        logger,
        metricsRegistry: registry,
        signal: abort.signal,
        workers: positive('--workers', o.workers),
        controllerClass: o.controllerClass,
        providerRatePerSecond: positive('--provider-qps', o.providerQps),
        providerBurst: positive('--provider-burst', o.providerBurst),
        awsEndpoints: awsEndpointsFromEnv(),
      });
      await running.done;
      server?.close();
    });
}

/** ESO's endpoint variables for its aws provider (providers/v1/aws/util/provider.go customEndpointResolver). */
function awsEndpointsFromEnv(): { secretsmanager?: string; ssm?: string; sts?: string } {
  const e = process.env;
  return {
    ...(e.AWS_SECRETSMANAGER_ENDPOINT ? { secretsmanager: e.AWS_SECRETSMANAGER_ENDPOINT } : {}),
    ...(e.AWS_SSM_ENDPOINT ? { ssm: e.AWS_SSM_ENDPOINT } : {}),
    ...(e.AWS_STS_ENDPOINT ? { sts: e.AWS_STS_ENDPOINT } : {}),
  };
}
