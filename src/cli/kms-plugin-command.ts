// `coffer kms-plugin --config FILE`: the KMS plugin kube-apiserver (or `coffer up`) talks to over a unix socket.
// Logs are JSON on stderr; stdout gets exactly one line once serving, which supervisors (coffer up, tests) wait for:
//   coffer kms-plugin ready endpoint=unix:///run/coffer/kms.sock health=http://127.0.0.1:8787
import type { Command } from 'commander';
import pino from 'pino';
import { loadKmsPluginConfig, parseListenAddress } from '../kms-plugin/plugin-config.js';
import { startKmsPlugin, type RunningKmsPlugin } from '../kms-plugin/kms-plugin.js';
import { parseKmsEndpoint } from '../kms/unix-endpoint.js';

interface KmsPluginFlags {
  config: string;
  endpoint?: string;
  healthListen?: string;
  logLevel: string;
}

export function registerKmsPluginCommand(program: Command): void {
  program
    .command('kms-plugin')
    .description('serve the Kubernetes KMS plugin API (v2 and v1beta1) on a unix socket, wrapping DEKs with Vault Transit, PKCS#11, a local key or several at once')
    .requiredOption('--config <file>', 'plugin configuration (YAML, docs/kms-plugin.md); secrets are referenced as files, never inline')
    .option('--endpoint <unix:///path>', 'socket to serve on (overrides the config file)')
    .option('--health-listen <host:port>', 'HTTP address for /healthz, /livez, /metrics; port 0 picks one (overrides the config file)')
    .option('--log-level <level>', 'trace | debug | info | warn | error', 'info')
    .action(async (flags: KmsPluginFlags) => {
      const logger = pino({ level: flags.logLevel, base: { component: 'coffer-kms-plugin' } }, pino.destination({ fd: 2, sync: true }));
      const config = await loadKmsPluginConfig(flags.config);
      if (flags.endpoint) {
        parseKmsEndpoint(flags.endpoint);
        config.endpoint = flags.endpoint;
      }
      if (flags.healthListen) {
        parseListenAddress(flags.healthListen, '--health-listen');
        config.healthListen = flags.healthListen;
      }
      // Handlers first: a signal sent the moment the ready line appears must find them (Node's default is to die
      // without removing the socket).
      const state: { starting?: Promise<RunningKmsPlugin> } = {};
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting without waiting');
          process.exit(1);
        }
        stopping = true;
        logger.info({ signal }, 'shutting down');
        void (async () => {
          try {
            const running = await state.starting;
            await running?.close();
            logger.info('stopped');
            process.exit(0);
          } catch (e) {
            logger.error({ error: e instanceof Error ? e.message : String(e) }, 'shutdown failed');
            process.exit(1);
          }
        })();
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      state.starting = startKmsPlugin({ config, logger, processMetrics: true });
      const running = await state.starting;
      logger.info({ endpoint: running.endpoint, healthUrl: running.healthUrl, backend: running.keyManager.name }, 'coffer kms-plugin serving');
      if (!stopping) process.stdout.write(`coffer kms-plugin ready endpoint=${running.endpoint} health=${running.healthUrl}\n`);
    });
}
